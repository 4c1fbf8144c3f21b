/**
 * The CLIENT API's search, as SQL over the products table: the words of a search
 * ({@linkcode searchTerms}), LIKE patterns with `%`, `_` and `\` literal ({@linkcode likePattern}),
 * the ranked query ({@linkcode searchSql}, a named statement) and what answers it
 * ({@linkcode searchIndexSql}): the folded search text stored once per row in a generated column
 * ({@linkcode SEARCH_TEXT_COLUMN}) with a `pg_trgm` GIN index ({@linkcode searchIndexName}) on
 * that column — the WHERE matches the column itself, which is what lets PostgreSQL use the index,
 * and the ranking reads the column's parts instead of folding four columns per row again; the
 * JSON of a row without that column ({@linkcode productJson}); and the unit price of a product
 * row ({@linkcode priceOf}). Pure: no I/O.
 *
 * @example
 * ```ts
 * import { searchSql, searchTerms } from "./search.ts";
 * const query = searchSql(searchTerms("смартфон galaxy"), 20); // { name, text, values }
 * const rows = (await pool.query(query)).rows;
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

/** Folds a text for search: lower-cased, `ё` → `е` (PostgreSQL `lower()`, Unicode-aware). */
const FOLD = (expr: string) => `translate(lower(${expr}), 'ё', 'е')`;

/**
 * A column folded for the stored search text: as {@linkcode FOLD}, and a newline taken to a
 * space. A search word never holds whitespace, so it matches the column exactly when it matches
 * the original; and the newlines left in the search text are only the ones between columns.
 */
const FOLD_COLUMN = (column: string) =>
  `translate(lower(coalesce(${column}::text, '')), E'ё\\n', E'е ')`;

/** The columns a search looks in, in the order of the search text, with their rank weights. */
const SEARCH_COLUMNS = [
  { column: "name", weight: 4 },
  { column: "brand", weight: 2 },
  { column: "category", weight: 2 },
  { column: "description", weight: 1 },
] as const;

/** The stored column of folded search text that the search matches and the index covers. */
export const SEARCH_TEXT_COLUMN = "search_text";

/**
 * The expression of {@linkcode SEARCH_TEXT_COLUMN}: the four columns folded and joined by
 * newlines (so a word matches it exactly when it is in one of the columns, and the part of
 * column `i` is `split_part(search_text, E'\n', i + 1)`). Immutable, as a generated column needs.
 */
const SEARCH_TEXT = SEARCH_COLUMNS.map(({ column }) => FOLD_COLUMN(column)).join(" || E'\\n' || ");

/** Name of the trigram index over {@linkcode SEARCH_TEXT_COLUMN} of `table`. */
export function searchIndexName(table = "products"): string {
  return `${table}_search_text_trgm`;
}

/** Name of the index over the folded expression that searches used before the stored column. */
export function legacySearchIndexName(table = "products"): string {
  return `${table}_search_trgm`;
}

function checkTable(table: string, what: string): void {
  if (!/^[a-z_][a-z0-9_]*$/.test(table)) {
    throw new RangeError(
      `Cannot ${what} as 'table' must be an identifier: current value is '${table}'`,
    );
  }
}

/**
 * The statements that give `table` its search text and index: `pg_trgm` (a trusted extension
 * that ships with PostgreSQL); {@linkcode SEARCH_TEXT_COLUMN}, a generated column PostgreSQL
 * computes on every insert and update — the JDBC sink's upserts name only the product's own
 * columns, so it keeps the column current without knowing of it; a GIN trigram index over that
 * column, so `LIKE '%word%'` searches stop scanning the table; and the index over the folded
 * expression that searches used before, dropped (nothing matches it any more, and every write
 * paid for it). Idempotent; adding the column rewrites the table once.
 */
export function searchIndexSql(table = "products"): string[] {
  checkTable(table, "index");
  return [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    `ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${SEARCH_TEXT_COLUMN} text ` +
    `GENERATED ALWAYS AS (${SEARCH_TEXT}) STORED`,
    `CREATE INDEX IF NOT EXISTS ${searchIndexName(table)} ON ${table} ` +
    `USING gin (${SEARCH_TEXT_COLUMN} gin_trgm_ops)`,
    `DROP INDEX IF EXISTS ${legacySearchIndexName(table)}`,
  ];
}

/** A product row as JSON, without the search text (which is PostgreSQL's, not the product's). */
export function productJson(alias: string): string {
  return `to_jsonb(${alias}) - '${SEARCH_TEXT_COLUMN}'`;
}

/** A search as a named statement: PostgreSQL plans its text once per connection. */
export interface SearchQuery {
  /** Statement name: one per table and number of words (the only things the text depends on). */
  name: string;
  text: string;
  values: unknown[];
}

/**
 * The search for `terms` in `table`: products whose search text holds every word (the WHERE
 * is a LIKE per word on {@linkcode SEARCH_TEXT_COLUMN}, the index's own column), ranked by
 * where each word is — name 4, brand or category 2, description 1, summed — then by folded
 * name and id; the rank is computed only on the rows the index returns, from the stored
 * column's parts, and the JSON only of the `limit` rows kept.
 */
export function searchSql(terms: string[], limit: number, table = "products"): SearchQuery {
  checkTable(table, "search");
  const values: unknown[] = terms.map(likePattern);
  const like = (expr: string, i: number) => `${expr} LIKE ${FOLD(`$${i + 1}`)} ESCAPE '\\'`;
  const part = (i: number) => `split_part(p.${SEARCH_TEXT_COLUMN}, E'\\n', ${i + 1})`;
  const where = terms.map((_, i) => like(`p.${SEARCH_TEXT_COLUMN}`, i)).join("\n    AND ");
  const rank = terms.flatMap((_, i) =>
    SEARCH_COLUMNS.map(({ weight }, c) =>
      `(CASE WHEN ${like(part(c), i)} THEN ${weight} ELSE 0 END)`
    )
  ).join(" + ");
  values.push(limit);
  const text = `WITH hits AS (
  SELECT p.product_id AS id, ${part(0)} AS n, ${rank} AS rank
  FROM ${table} p
  WHERE ${where}
  ORDER BY rank DESC, n, id LIMIT $${values.length})
SELECT h.id::text AS id, ${productJson("p")} AS row, h.rank
FROM hits h JOIN ${table} p ON p.product_id = h.id
ORDER BY h.rank DESC, h.n, h.id`;
  return { name: `search_${table}_${terms.length}`, text, values };
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
