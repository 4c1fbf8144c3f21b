/**
 * The CLIENT API's search as it was before the stored search text (up to commit 6e48f87), kept
 * so that `bench:search` can run it beside `searchSql` of `search.ts` on the same rows: the WHERE
 * and the index over one folded expression of four columns, which PostgreSQL computes for every
 * row the index hands back (to recheck it) and again, column by column, to rank it. Not used
 * by the CLIENT API. Pure: no I/O.
 *
 * @example
 * ```ts
 * import { baselineSearchIndexSql, baselineSearchSql } from "./search_baseline.ts";
 * for (const sql of baselineSearchIndexSql("bench")) await client.query(sql);
 * const { text, values } = baselineSearchSql(["смартфон"], 20, "bench");
 * ```
 * @module
 */
import { likePattern } from "./search.ts";

const FOLD = (expr: string) => `translate(lower(${expr}), 'ё', 'е')`;
const COLUMNS = ["name", "brand", "category", "description"] as const;
const SEARCH_TEXT = (alias = "") =>
  FOLD(COLUMNS.map((c) => `coalesce(${alias}${c}::text, '')`).join(" || E'\\n' || "));

function checkTable(table: string): void {
  if (!/^[a-z_][a-z0-9_]*$/.test(table)) {
    throw new RangeError(
      `Cannot search as 'table' must be an identifier: current value is '${table}'`,
    );
  }
}

/** Name of the baseline's expression index on `table`. */
export function baselineSearchIndexName(table: string): string {
  return `${table}_search_trgm`;
}

/** The baseline's index: GIN trigrams over the folded expression its WHERE computes. */
export function baselineSearchIndexSql(table: string): string[] {
  checkTable(table);
  return [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    `CREATE INDEX IF NOT EXISTS ${baselineSearchIndexName(table)} ON ${table} ` +
    `USING gin ((${SEARCH_TEXT()}) gin_trgm_ops)`,
  ];
}

/** The baseline's query for `terms` (same parameters and answer as `searchSql`). */
export function baselineSearchSql(
  terms: string[],
  limit: number,
  table: string,
): { text: string; values: unknown[] } {
  checkTable(table);
  const values: unknown[] = terms.map(likePattern);
  const cols = { n: 4, b: 2, k: 2, d: 1 } as const;
  const like = (col: string, i: number) => `${col} LIKE ${FOLD(`$${i + 1}`)} ESCAPE '\\'`;
  const where = terms.map((_, i) => like("s", i)).join(" AND ");
  const rank = terms.flatMap((_, i) =>
    Object.entries(cols).map(([c, w]) => `(CASE WHEN ${like(c, i)} THEN ${w} ELSE 0 END)`)
  ).join(" + ");
  values.push(limit);
  const text = `WITH c AS (
  SELECT p.product_id AS id,
    ${FOLD("coalesce(p.name::text, '')")} AS n,
    ${FOLD("coalesce(p.brand::text, '')")} AS b,
    ${FOLD("coalesce(p.category::text, '')")} AS k,
    ${FOLD("coalesce(p.description::text, '')")} AS d,
    ${SEARCH_TEXT("p.")} AS s
  FROM ${table} p),
hits AS (
  SELECT id, n, ${rank} AS rank FROM c WHERE ${where}
  ORDER BY rank DESC, n, id LIMIT $${values.length})
SELECT h.id::text AS id, to_jsonb(p) AS row, h.rank
FROM hits h JOIN ${table} p ON p.product_id = h.id
ORDER BY h.rank DESC, h.n, h.id`;
  return { text, values };
}
