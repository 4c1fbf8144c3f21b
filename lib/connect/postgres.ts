/**
 * PostgreSQL as Connect's connectors see it: the connection URL from env or the local stack,
 * split into the fields Debezium's connectors take, and small helpers to create a database.
 *
 * @example
 * ```ts
 * import { postgresUrlFromEnv, debeziumConnection } from "./postgres.ts";
 * const conn = debeziumConnection(postgresUrlFromEnv(), "customers");
 * // { "database.hostname": "127.0.0.1", "database.port": "5432", … "database.dbname": "customers" }
 * ```
 * @module
 */
import pg from "pg";
import { ConfigError, envString, sleep } from "../env/mod.ts";
import { localEndpoints, STACK_PORTS } from "../env/mod.ts";

/** `$POSTGRES_URL`, else the local stack's PostgreSQL, else the default local server. */
export function postgresUrlFromEnv(): string {
  const url = envString(
    "POSTGRES_URL",
    localEndpoints().postgresUrl ??
      `postgres://practicum:practicum@127.0.0.1:${STACK_PORTS.postgres}/practicum`,
  );
  try {
    const u = new URL(url);
    if (!u.protocol.startsWith("postgres")) throw new Error();
  } catch {
    throw new ConfigError(
      `Cannot use POSTGRES_URL as it must be postgres://user:password@host:port/db: current value is '${url}'`,
    );
  }
  return url;
}

/** The URL with another database. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Debezium's `database.*` connection fields for a URL (and another database, if given). */
export function debeziumConnection(url: string, database?: string): Record<string, string> {
  const u = new URL(url);
  return {
    "database.hostname": u.hostname,
    "database.port": u.port || "5432",
    "database.user": decodeURIComponent(u.username),
    "database.password": decodeURIComponent(u.password),
    "database.dbname": database ?? u.pathname.slice(1),
  };
}

/** Runs `fn` with a connected client, always closing it. */
export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  // A server that goes away fails the query in flight; unheard, the client's 'error' event
  // would also end the whole process.
  client.on("error", () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates a database (owned by the URL's user) unless it exists; returns whether it created it. */
export async function ensureDatabase(url: string, database: string): Promise<boolean> {
  if (!/^[a-z_][a-z0-9_]*$/.test(database)) {
    throw new ConfigError(
      `Cannot create database as its name must be a lower-case identifier: current value is '${database}'`,
    );
  }
  return await withClient(url, async (c) => {
    const found = await c.query("select 1 from pg_database where datname = $1", [database]);
    if (found.rowCount) return false;
    await c.query(`create database ${database}`);
    return true;
  });
}

/**
 * Drops a replication slot once no connection uses it any more (a deleted connector's task
 * lets go of it within seconds), so the slot does not hold WAL back. Returns whether a slot
 * was dropped; gives up quietly after `timeoutMs` when it stays active.
 */
export async function dropSlotWhenIdle(
  url: string,
  slot: string,
  timeoutMs = 30_000,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  return await withClient(url, async (c) => {
    while (true) {
      const res = await c.query("select active from pg_replication_slots where slot_name = $1", [
        slot,
      ]);
      if (res.rowCount === 0) return false;
      if (!res.rows[0].active) {
        await c.query("select pg_drop_replication_slot($1)", [slot]);
        return true;
      }
      if (Date.now() > deadline) return false;
      await sleep(500);
    }
  });
}

/**
 * The rows `sql` returns as PostgreSQL's own client prints them (`psql -XAt`, one line per row,
 * columns joined by `|`): a reader independent of node-postgres, for checks of what a table
 * really holds. A failed statement throws with psql's message.
 */
export async function psqlRows(url: string, sql: string): Promise<string[]> {
  const out = await new Deno.Command("psql", {
    args: [url, "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  if (!out.success) throw new Error(`psql failed: ${dec.decode(out.stderr)}`);
  return dec.decode(out.stdout).trim().split("\n").filter(Boolean);
}
