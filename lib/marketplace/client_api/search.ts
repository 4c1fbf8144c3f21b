/**
 * The CLIENT API's search, as SQL over the products table: the words of a search
 * ({@linkcode searchTerms}), LIKE patterns with `%`, `_` and `\` literal ({@linkcode likePattern}),
 * the ranked query ({@linkcode searchSql}) and the `pg_trgm` index that answers it
 * ({@linkcode searchIndexName}, {@linkcode searchIndexSql}) — both over one folded text
 * expression, which is what lets PostgreSQL use the index — and the unit price of a product row
 * ({@linkcode priceOf}). Pure: no I/O.
 *
 * @example
 * ```ts
 * import { searchSql, searchTerms } from "./search.ts";
 * const { text, values } = searchSql(searchTerms("смартфон galaxy"), 20);
 * const rows = (await pool.query(text, values)).rows;
 * ```
 * @module
 */
import { ClientRequestError } from "./request.ts";

/** Longest search text, in characters. */
export const MAX_QUERY_CHARS = 200;
/** Most words in a search. */
export const MAX_QUERY_WORDS = 8;

/**
 * The words of a search (NFC, whitespace-separated), validated: `q` present, not blank, at most
 * {@linkcode MAX_QUERY_CHARS} characters and {@linkcode MAX_QUERY_WORDS} words.
 */
export function searchTerms(q: string | null): string[] {
  if (q === null) {
    throw new ClientRequestError("q", "q is missing: search with /products/search?q=…");
  }
  const text = q.normalize("NFC").trim();
  if (text === "") {
    throw new ClientRequestError("q", "q is empty: give at least one word to search for");
  }
  if ([...text].length > MAX_QUERY_CHARS) {
    throw new ClientRequestError("q", `q is longer than ${MAX_QUERY_CHARS} characters`);
  }
  const words = text.split(/\s+/u);
  if (words.length > MAX_QUERY_WORDS) {
    throw new ClientRequestError("q", `q has ${words.length} words; at most ${MAX_QUERY_WORDS}`);
  }
  return words;
}

/** A LIKE pattern matching `term` anywhere, with `%`, `_` and `\` taken literally. */
export function likePattern(term: string): string {
  return `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

const FOLD = (expr: string) => `translate(lower(${expr}), 'ё', 'е')`;

/** The columns a search looks in, in the order of {@linkcode SEARCH_TEXT}. */
const SEARCH_COLUMNS = ["name", "brand", "category", "description"] as const;

/**
 * The folded text a search matches: the four columns joined by newlines (a search word never
 * holds whitespace, so a word matches it exactly when it is in one of the columns). The search's
 * WHERE and {@linkcode searchIndexSql}'s index use this same expression, which is what lets
 * PostgreSQL answer the search from the index.
 */
const SEARCH_TEXT = (alias = "") =>
  FOLD(SEARCH_COLUMNS.map((c) => `coalesce(${alias}${c}::text, '')`).join(" || E'\\n' || "));

/** Name of the trigram index over {@linkcode SEARCH_TEXT} of `table`. */
export function searchIndexName(table = "products"): string {
  return `${table}_search_trgm`;
}

/**
 * The statements that give `table` its search index: `pg_trgm` (a trusted extension that ships
 * with PostgreSQL) and a GIN trigram index over the folded search text, so `LIKE '%word%'`
 * searches stop scanning the whole table as the catalogue grows. Idempotent.
 */
export function searchIndexSql(table = "products"): string[] {
  if (!/^[a-z_][a-z0-9_]*$/.test(table)) {
    throw new RangeError(
      `Cannot index as 'table' must be an identifier: current value is '${table}'`,
    );
  }
  return [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    `CREATE INDEX IF NOT EXISTS ${searchIndexName(table)} ON ${table} ` +
    `USING gin ((${SEARCH_TEXT()}) gin_trgm_ops)`,
  ];
}

/** SQL and parameters of a search for `terms` in `table` (see the module doc for the ranking). */
export function searchSql(
  terms: string[],
  limit: number,
  table = "products",
): { text: string; values: unknown[] } {
  if (!/^[a-z_][a-z0-9_]*$/.test(table)) {
    throw new RangeError(
      `Cannot search as 'table' must be an identifier: current value is '${table}'`,
    );
  }
  const values: unknown[] = terms.map(likePattern);
  const cols = { n: 4, b: 2, k: 2, d: 1 } as const;
  const like = (col: string, i: number) => `${col} LIKE ${FOLD(`$${i + 1}`)} ESCAPE '\\'`;
  const where = terms.map((_, i) => like("s", i)).join(" AND ");
  const rank = terms.flatMap((_, i) =>
    Object.entries(cols).map(([c, w]) => `(CASE WHEN ${like(c, i)} THEN ${w} ELSE 0 END)`)
  ).join(" + ");
  values.push(limit);
  // Rank and pick on the folded text first; build the JSON of the chosen rows only.
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

/** The unit price of a product row as the sink stored it (flattened or nested), if any. */
export function priceOf(row: Record<string, unknown>): number | undefined {
  const candidates: unknown[] = [row.price_amount, row.price];
  for (let c of candidates) {
    if (typeof c === "string") {
      try {
        c = JSON.parse(c);
      } catch {
        continue;
      }
    }
    if (typeof c === "number" && Number.isFinite(c) && c >= 0) return c;
    if (c && typeof c === "object" && "amount" in c) {
      const a = Number((c as { amount: unknown }).amount);
      if (Number.isFinite(a) && a >= 0) return a;
    }
  }
  return undefined;
}
