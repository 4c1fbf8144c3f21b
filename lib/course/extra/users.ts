/**
 * The extra task's data: the `customers` database with the seed's `users` table
 * (id, name, updated_at, private_info), and a fast loader (server-side `generate_series`,
 * in chunks so it can show progress).
 *
 * @example
 * ```ts
 * import { setupUsers, loadUsers } from "./users.ts";
 * const url = await setupUsers({ url: "postgres://practicum:practicum@127.0.0.1:5432/practicum" });
 * await loadUsers({ url, rows: 9_000_000, onProgress: (n) => console.log(n) });
 * ```
 * @module
 */
import { ensureDatabase, withClient, withDatabase } from "../../connect/mod.ts";

/** The seed's database of the extra task. */
export const CUSTOMERS_DB = "customers";

/** The seed's table, verbatim (plus IF NOT EXISTS). */
export const USERS_DDL = `CREATE TABLE IF NOT EXISTS users (
  id int PRIMARY KEY,
  name varchar(255),
  updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  private_info VARCHAR
)`;

/** Options of {@linkcode setupUsers}. */
export interface SetupOptions {
  /** Any database URL of the server (its user must be allowed to create databases). */
  url: string;
  /** Database to create. @default "customers" */
  database?: string;
  /** Drop and recreate the table. @default false */
  reset?: boolean;
}

/** Creates the database and the `users` table; returns the database's URL. */
export async function setupUsers(options: SetupOptions): Promise<string> {
  const { url, database = CUSTOMERS_DB, reset = false } = options;
  await ensureDatabase(url, database);
  const dbUrl = withDatabase(url, database);
  await withClient(dbUrl, async (c) => {
    if (reset) await c.query("DROP TABLE IF EXISTS users");
    await c.query(USERS_DDL);
  });
  return dbUrl;
}

/** Options of {@linkcode loadUsers}. */
export interface LoadOptions {
  /** URL of the `customers` database. */
  url: string;
  /** Rows to insert. */
  rows: number;
  /** Rows per INSERT … SELECT generate_series statement. @default 250000 */
  chunk?: number;
  /** First id; @default max(id) + 1, so loads append. */
  firstId?: number;
  /** Called after each chunk with the rows inserted so far. */
  onProgress?: (inserted: number) => void;
}

/**
 * Inserts `rows` users with the seed's generated names and private info, in chunks of
 * server-side `generate_series`. Returns the id range inserted.
 */
export async function loadUsers(options: LoadOptions): Promise<{ first: number; last: number }> {
  const { url, rows, chunk = 250_000, onProgress } = options;
  if (!Number.isInteger(rows) || rows < 1) {
    throw new RangeError(
      `Cannot load users as 'rows' must be a positive integer: current value is ${rows}`,
    );
  }
  if (!Number.isInteger(chunk) || chunk < 1) {
    throw new RangeError(
      `Cannot load users as 'chunk' must be a positive integer: current value is ${chunk}`,
    );
  }
  return await withClient(url, async (c) => {
    const first = options.firstId ??
      Number((await c.query("SELECT coalesce(max(id), 0) + 1 AS n FROM users")).rows[0].n);
    let done = 0;
    while (done < rows) {
      const from = first + done;
      const to = from + Math.min(chunk, rows - done) - 1;
      await c.query(
        `INSERT INTO users (id, name, private_info)
         SELECT i,
           'Name_' || i || '_' || substring('abcdefghijklmnopqrstuvwxyz', (random() * 26)::integer + 1, 1),
           'Private_info_' || i || '_' || substring('abcdefghijklmnopqrstuvwxyz', (random() * 26)::integer + 1, 1)
         FROM generate_series($1::int, $2::int) AS i`,
        [from, to],
      );
      done += to - from + 1;
      onProgress?.(done);
    }
    return { first, last: first + rows - 1 };
  });
}
