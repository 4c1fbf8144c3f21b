/**
 * What `bench:search` needs of the marketplace: a products table laid out as the JDBC sink
 * lays it out ({@linkcode createProductsTable}, from `PRODUCT_ROW_SCHEMA`) with generated
 * products written as the sink writes them ({@linkcode insertProducts}); both searches on it —
 * the one before the stored search text (`search_baseline.ts`) and the CLIENT API's
 * (`search.ts`), each with its index ({@linkcode indexBoth}); and one search measured the way
 * each runs in its API ({@linkcode measureSearch}): the baseline as an unnamed statement
 * (planned on every call), the current one as a named statement (planned once per connection,
 * as node-postgres prepares it), each by PostgreSQL's `EXPLAIN ANALYZE` (planning and
 * execution time) and by the client's wall time, with the ids and ranks it returned in order.
 *
 * @example
 * ```ts
 * import { createProductsTable, indexBoth, insertProducts, measureSearch } from "./search_bench.ts";
 * await createProductsTable(client, "bench_search_x");
 * await insertProducts(client, "bench_search_x", generateProducts(20_000, { seed: 7 }));
 * await indexBoth(client, "bench_search_x");
 * const m = await measureSearch(client, "current", ["часы"], "bench_search_x");
 * console.log(m.ids, m.planningMs, m.executionMs);
 * ```
 * @module
 */
import type pg from "pg";
import type { Product } from "../../schemas/mod.ts";
import { PRODUCT_ROW_SCHEMA, productRow } from "../products_sink.ts";
import { searchIndexSql, searchSql } from "./search.ts";
import { baselineSearchIndexSql, baselineSearchSql } from "./search_baseline.ts";

type Field = { field: string; type: string; name?: string };

const FIELDS = PRODUCT_ROW_SCHEMA.fields as readonly Field[];

/** The PostgreSQL type the JDBC sink gives a field of the row schema. */
function columnType(f: Field): string {
  if (f.name === "io.debezium.data.Json") return "jsonb";
  if (f.name === "io.debezium.time.ZonedTimestamp") return "timestamptz";
  const types: Record<string, string> = {
    string: "text",
    double: "double precision",
    int64: "bigint",
  };
  const type = types[f.type];
  if (!type) throw new RangeError(`Cannot lay out field '${f.field}': type '${f.type}' is unknown`);
  return type;
}

/** Creates `table` with the sink's columns, `product_id` its primary key (when it is not there). */
export async function createProductsTable(client: pg.ClientBase, table: string): Promise<void> {
  const cols = FIELDS.map((f) => `"${f.field}" ${columnType(f)} NOT NULL`);
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${table} (${cols.join(", ")}, PRIMARY KEY (product_id))`,
  );
}

/** Upserts `products` into `table` as the sink's rows, 500 per statement. */
export async function insertProducts(
  client: pg.ClientBase,
  table: string,
  products: readonly Product[],
): Promise<void> {
  const names = FIELDS.map((f) => `"${f.field}"`).join(", ");
  const updates = FIELDS.slice(1).map((f) => `"${f.field}" = EXCLUDED."${f.field}"`).join(", ");
  for (let i = 0; i < products.length; i += 500) {
    const values: unknown[] = [];
    const rows = products.slice(i, i + 500).map((p) => {
      const payload = JSON.parse(productRow(p)).payload as Record<string, unknown>;
      const at = values.length;
      values.push(...FIELDS.map((f) => payload[f.field]));
      return `(${FIELDS.map((_, j) => `$${at + j + 1}`).join(", ")})`;
    });
    await client.query(
      `INSERT INTO ${table} (${names}) VALUES ${rows.join(", ")} ` +
        `ON CONFLICT (product_id) DO UPDATE SET ${updates}`,
      values,
    );
  }
}

/**
 * Gives `table` both searches' indexes — the stored search text and its index first (which
 * drops an index of the baseline's name), then the baseline's expression index — and
 * analyzes it; the milliseconds each took.
 */
export async function indexBoth(
  client: pg.ClientBase,
  table: string,
): Promise<{ currentMs: number; baselineMs: number }> {
  const timed = async (statements: string[]) => {
    const started = performance.now();
    for (const sql of statements) await client.query(sql);
    return performance.now() - started;
  };
  const currentMs = await timed(searchIndexSql(table));
  const baselineMs = await timed(baselineSearchIndexSql(table));
  await client.query(`ANALYZE ${table}`);
  return { currentMs, baselineMs };
}

/** Which search: before the stored search text, or the CLIENT API's now. */
export type SearchVersion = "baseline" | "current";

/** One search, measured. */
export interface SearchMeasure {
  /** Product ids in the order the search returned them. */
  ids: string[];
  /** The rank of each, in the same order. */
  ranks: number[];
  /** PostgreSQL's planning time of the search (`EXPLAIN ANALYZE`). */
  planningMs: number;
  /** PostgreSQL's execution time. */
  executionMs: number;
  /** The client's time for the search itself (not the EXPLAIN), round trip included. */
  wallMs: number;
}

/** The plan of one search as PostgreSQL ran it (`EXPLAIN ANALYZE`, text). */
export async function explainText(
  client: pg.ClientBase,
  version: SearchVersion,
  terms: string[],
  table: string,
): Promise<string> {
  const { text, values } = versionSql(version, terms, table);
  const res = await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${text}`, values);
  return res.rows.map((r) => String(Object.values(r)[0])).join("\n");
}

function versionSql(version: SearchVersion, terms: string[], table: string) {
  return version === "baseline"
    ? { name: undefined, ...baselineSearchSql(terms, 20, table) }
    : searchSql(terms, 20, table);
}

/**
 * Runs one search of `version` as its API runs it (limit 20), then `EXPLAIN ANALYZE` of the
 * same statement the same way: an unnamed statement for the baseline, `EXECUTE` of the
 * prepared statement for the current search (prepared on first use in this session).
 */
export async function measureSearch(
  client: pg.ClientBase,
  version: SearchVersion,
  terms: string[],
  table: string,
  prepared: Set<string>,
): Promise<SearchMeasure> {
  const sql = versionSql(version, terms, table);
  const started = performance.now();
  const res = await client.query<{ id: string; rank: number }>(
    sql.name ? { name: sql.name, text: sql.text, values: sql.values } : sql,
  );
  const wallMs = performance.now() - started;
  let explain: string;
  if (sql.name) {
    if (!prepared.has(sql.name)) {
      await client.query(`PREPARE x_${sql.name} AS ${sql.text}`);
      prepared.add(sql.name);
    }
    const args = sql.values.map((v) =>
      typeof v === "number" ? String(v) : client.escapeLiteral(String(v))
    );
    explain = `EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE x_${sql.name}(${args.join(", ")})`;
  } else {
    explain = `EXPLAIN (ANALYZE, FORMAT JSON) ${sql.text}`;
  }
  const plan = (await client.query(explain, sql.name ? [] : sql.values)).rows[0];
  const [json] = Object.values(plan) as [{ "Planning Time": number; "Execution Time": number }[]];
  return {
    ids: res.rows.map((r) => r.id),
    ranks: res.rows.map((r) => Number(r.rank)),
    planningMs: json[0]["Planning Time"],
    executionMs: json[0]["Execution Time"],
    wallMs,
  };
}
