/**
 * Generated activity (lib/marketplace's activity generator) straight into DuckDB tables, as the
 * recommendations and evaluation jobs read them — `products_current` (product_id, category,
 * stock_available) and `user_events` (user_id, product_id, type, at) — with DuckDB's appender,
 * no lake and no HDFS: for measuring the recommender's quality on data of a known shape
 * (`bench:recommendations`, the quality test).
 *
 * @example
 * ```ts
 * import { openDuckDb } from "./duckdb.ts";
 * import { loadActivityTables } from "./activity_tables.ts";
 * const con = await openDuckDb();
 * await loadActivityTables(con, generateActivity({ users: 300, structure: true }));
 * ```
 * @module
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import type { Activity } from "../lib/marketplace/mod.ts";

/** Creates (replacing) `products_current` and `user_events` in `con` from `data`. */
export async function loadActivityTables(
  con: DuckDBConnection,
  data: Pick<Activity, "products" | "events">,
): Promise<void> {
  await con.run(
    "CREATE OR REPLACE TABLE products_current " +
      "(product_id VARCHAR, category VARCHAR, stock_available INTEGER)",
  );
  const products = await con.createAppender("products_current");
  for (const p of data.products) {
    products.appendVarchar(p.product_id);
    products.appendVarchar(p.category);
    products.appendInteger(p.stock.available);
    products.endRow();
  }
  products.closeSync();
  // The times go in as text and become TIMESTAMPTZ in one statement.
  await con.run(
    "CREATE OR REPLACE TEMP TABLE user_events_text " +
      "(user_id VARCHAR, product_id VARCHAR, type VARCHAR, at_text VARCHAR)",
  );
  const events = await con.createAppender("user_events_text");
  for (const e of data.events) {
    events.appendVarchar(e.user_id);
    events.appendVarchar(e.product_id);
    events.appendVarchar(e.type);
    events.appendVarchar(e.at);
    events.endRow();
  }
  events.closeSync();
  await con.run(
    'CREATE OR REPLACE TABLE user_events AS SELECT user_id, product_id, type, at_text::TIMESTAMPTZ AS "at" FROM user_events_text',
  );
  await con.run("DROP TABLE user_events_text");
}
