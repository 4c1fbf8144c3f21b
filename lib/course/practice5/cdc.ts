/**
 * Practice 5: change data capture of `users` and `orders` with Debezium's PostgresConnector.
 * The tables (with REPLICA IDENTITY FULL, so updates and deletes carry the whole old row),
 * the connector registered from `compose/connectors/practice5-postgres.json` with the
 * connection fields of the running PostgreSQL, a loader, and the decoder of Debezium's
 * change events (op, before, after).
 *
 * @example
 * ```ts
 * import { decodeChangeEvent } from "./cdc.ts";
 * decodeChangeEvent('{"op":"c","before":null,"after":{"id":1},"source":{"table":"users"}}');
 * // { op: "c", opName: "create", table: "users", before: null, after: { id: 1 }, … }
 * ```
 * @module
 */
import { join } from "node:path";
import { debeziumConnection, ensureDatabase, withClient, withDatabase } from "../../connect/mod.ts";
import { PROJECT_ROOT } from "../../env/mod.ts";

/** Database of practice 5 on the local stack (its own, so it never meets the extra task's `users`). */
export const PRACTICE5_DB = "practice5";
/** The connector definition file (the seed's `init/connector.json`). */
export const CONNECTOR_FILE: string = join(
  PROJECT_ROOT,
  "compose/connectors/practice5-postgres.json",
);
/** Topics Debezium writes: `<topic.prefix>.<schema>.<table>`. */
export const PRACTICE5_TOPICS = ["customers.public.users", "customers.public.orders"] as const;

/** DDL of the practical's tables. */
export const PRACTICE5_DDL: string[] = [
  `CREATE TABLE IF NOT EXISTS users (
     id SERIAL PRIMARY KEY,
     name VARCHAR(100) NOT NULL,
     email VARCHAR(100) NOT NULL,
     created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
   )`,
  `CREATE TABLE IF NOT EXISTS orders (
     id SERIAL PRIMARY KEY,
     user_id INT REFERENCES users(id) ON DELETE CASCADE,
     product_name VARCHAR(100) NOT NULL,
     quantity INT NOT NULL,
     order_date TIMESTAMP DEFAULT CURRENT_TIMESTAMP
   )`,
  "ALTER TABLE users REPLICA IDENTITY FULL",
  "ALTER TABLE orders REPLICA IDENTITY FULL",
];

/** Creates the database and the tables; returns the database URL. */
export async function initPractice5(url: string, database = PRACTICE5_DB): Promise<string> {
  await ensureDatabase(url, database);
  const dbUrl = withDatabase(url, database);
  await withClient(dbUrl, async (c) => {
    for (const ddl of PRACTICE5_DDL) await c.query(ddl);
  });
  return dbUrl;
}

/** A connector definition as stored in compose/connectors/. */
export interface ConnectorDefinition {
  name: string;
  config: Record<string, string>;
}

/** Reads a connector definition file, failing with the file name on a malformed one. */
export async function readConnectorFile(
  path: string = CONNECTOR_FILE,
): Promise<ConnectorDefinition> {
  const text = await Deno.readTextFile(path);
  let def: ConnectorDefinition;
  try {
    def = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof def?.name !== "string" || typeof def?.config !== "object" || !def.config) {
    throw new Error(`${path} must hold {"name": "...", "config": {...}}`);
  }
  return def;
}

/**
 * The definition with the connection fields of a reachable PostgreSQL (the file holds the
 * compose service's), plus any overrides.
 */
export function localizeConnector(
  def: ConnectorDefinition,
  url: string,
  overrides: Record<string, string> = {},
): ConnectorDefinition {
  return { name: def.name, config: { ...def.config, ...debeziumConnection(url), ...overrides } };
}

/** Options of {@linkcode loadPractice5}. */
export interface LoadPractice5Options {
  /** URL of the practice's database. */
  url: string;
  /** Users to insert (each with `ordersPerUser` orders). @default 10 */
  users?: number;
  /** @default 2 */
  ordersPerUser?: number;
  /** Then update this many users' emails and orders' quantities. @default 2 */
  updates?: number;
  /** Then delete this many orders. @default 1 */
  deletes?: number;
}

/** What a load did, by table. */
export interface LoadReport {
  userIds: number[];
  orderIds: number[];
  updatedUserIds: number[];
  updatedOrderIds: number[];
  deletedOrderIds: number[];
}

/** Inserts users and orders, then updates and deletes some, as the seed's data loader does. */
export async function loadPractice5(options: LoadPractice5Options): Promise<LoadReport> {
  const { url, users = 10, ordersPerUser = 2, updates = 2, deletes = 1 } = options;
  for (const [k, v] of Object.entries({ users, ordersPerUser, updates, deletes })) {
    if (!Number.isInteger(v) || v < 0) {
      throw new RangeError(
        `Cannot load practice 5 data as '${k}' must be an integer >= 0: current value is ${v}`,
      );
    }
  }
  return await withClient(url, async (c) => {
    const report: LoadReport = {
      userIds: [],
      orderIds: [],
      updatedUserIds: [],
      updatedOrderIds: [],
      deletedOrderIds: [],
    };
    const tag = Date.now().toString(36);
    for (let i = 0; i < users; i++) {
      const u = await c.query(
        "INSERT INTO users (name, email) VALUES ($1, $2) RETURNING id",
        [`User ${tag}-${i}`, `user-${tag}-${i}@example.com`],
      );
      const id = u.rows[0].id as number;
      report.userIds.push(id);
      for (let j = 0; j < ordersPerUser; j++) {
        const o = await c.query(
          "INSERT INTO orders (user_id, product_name, quantity) VALUES ($1, $2, $3) RETURNING id",
          [id, `Product ${j + 1}`, j + 1],
        );
        report.orderIds.push(o.rows[0].id as number);
      }
    }
    for (const id of report.userIds.slice(0, updates)) {
      await c.query("UPDATE users SET email = 'updated-' || email WHERE id = $1", [id]);
      report.updatedUserIds.push(id);
    }
    for (const id of report.orderIds.slice(0, updates)) {
      await c.query("UPDATE orders SET quantity = quantity + 100 WHERE id = $1", [id]);
      report.updatedOrderIds.push(id);
    }
    for (const id of deletes > 0 ? report.orderIds.slice(-deletes) : []) {
      await c.query("DELETE FROM orders WHERE id = $1", [id]);
      report.deletedOrderIds.push(id);
    }
    return report;
  });
}

export { type ChangeEvent, decodeChangeEvent, formatChangeEvent, OPS } from "../../schemas/mod.ts";
