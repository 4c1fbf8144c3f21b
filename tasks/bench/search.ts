/**
 * `deno task bench:search [--products N] [--rounds N]` — the CLIENT API's product search
 * (lib/marketplace/client_api.ts `searchSql`) on PostgreSQL, answered from its `pg_trgm` index
 * beside the same query answered by scanning the table (what every search did before the
 * index), in one run on the same rows: milliseconds per search for common words, for words
 * the catalogue lacks, and for two-word queries, and the ratio.
 *
 * The products are generated (lib/marketplace's catalogue generator) into a table of the run's
 * own in the analytics database (`bench_search_<run>`, dropped at the end), with the columns
 * the search reads. Needs PostgreSQL: `deno task stack up`.
 */
import pg from "pg";
import { defineTask, flagInt, runMain } from "../../lib/env/mod.ts";
import { ensureDatabase, postgresUrlFromEnv, withDatabase } from "../../lib/connect/mod.ts";
import { markdownTable, writeReport } from "../../lib/bench/mod.ts";
import {
  ANALYTICS_DB,
  COMMON_QUERIES,
  generateProducts,
  likePattern,
  NO_MATCH_QUERIES,
  searchIndexName,
  searchIndexSql,
  searchSql,
  searchTerms,
} from "../../lib/marketplace/mod.ts";

const SPEC = defineTask({
  task: "bench:search",
  summary:
    "The CLIENT API's product search on PostgreSQL with its pg_trgm index beside a scan of the table: ms per search and the ratio. Needs PostgreSQL: deno task stack up.",
  flags: {
    products: { type: "string", default: "20000", description: "products in the table" },
    rounds: { type: "string", default: "5", description: "times each query runs per mode" },
  },
  env: { POSTGRES_URL: { description: "PostgreSQL URL", default: "the stack's" } },
  examples: ["deno task bench:search", "deno task bench:search --products 100000"],
});

await runMain(async (cli) => {
  const products = flagInt(cli, "products", 20_000, { min: 100, max: 5_000_000 });
  const rounds = flagInt(cli, "rounds", 5, { min: 1, max: 1_000 });
  const base = postgresUrlFromEnv();
  await ensureDatabase(base, ANALYTICS_DB);
  const client = new pg.Client({ connectionString: withDatabase(base, ANALYTICS_DB) });
  await client.connect();
  const table = `bench_search_${Date.now().toString(36)}`;
  try {
    console.log(`Loading ${products} generated products into ${ANALYTICS_DB}.${table}…`);
    await client.query(
      `CREATE TABLE ${table} (product_id text PRIMARY KEY, name text, brand text, ` +
        `category text, description text)`,
    );
    const all = generateProducts(products, { seed: 7 });
    for (let i = 0; i < all.length; i += 1_000) {
      const chunk = all.slice(i, i + 1_000);
      const values: unknown[] = [];
      const rows = chunk.map((p, j) => {
        values.push(p.product_id, p.name, p.brand, p.category, p.description);
        const b = j * 5;
        return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5})`;
      });
      await client.query(`INSERT INTO ${table} VALUES ${rows.join(", ")}`, values);
    }
    // The query classes measured: what users search for most, what finds nothing, and two
    // words of one product (the first word of its name and its brand: found, and narrower).
    const classes = [
      { name: "common words", queries: COMMON_QUERIES.slice(0, 8) },
      { name: "words the catalogue lacks", queries: NO_MATCH_QUERIES.slice(0, 8) },
      {
        name: "two words of a product",
        queries: all.filter((_, i) => i % Math.floor(all.length / 8) === 0).slice(0, 8)
          .map((p) => `${p.name.split(/\s+/u)[0]} ${p.brand}`),
      },
    ];
    let started = performance.now();
    for (const sql of searchIndexSql(table)) await client.query(sql);
    const buildMs = performance.now() - started;
    await client.query(`ANALYZE ${table}`);

    /** Runs every query of a class `rounds` times; ms per search, and hits of the last round. */
    const run = async (queries: readonly string[]) => {
      let hits = 0;
      started = performance.now();
      for (let r = 0; r < rounds; r++) {
        hits = 0;
        for (const q of queries) {
          const terms = searchTerms(q);
          const { text, values } = searchSql(terms, 20, table);
          hits += (await client.query(text, values)).rowCount ?? 0;
        }
      }
      return { ms: (performance.now() - started) / (rounds * queries.length), hits };
    };
    const results = [];
    for (const c of classes) {
      // The same query, the same rows: first with the planner free to use the index, then
      // without bitmap scans — the only way a GIN index is read — so the search scans the
      // table as before the index existed (the join back by primary key keeps its index).
      await client.query("RESET enable_bitmapscan");
      const indexed = await run(c.queries);
      await client.query("SET enable_bitmapscan = off");
      const scanned = await run(c.queries);
      await client.query("RESET enable_bitmapscan");
      if (indexed.hits !== scanned.hits) {
        throw new Error(
          `${c.name}: the index found ${indexed.hits} rows, the scan ${scanned.hits}`,
        );
      }
      results.push({ ...c, indexed, scanned });
    }
    // A plan check, so the figures above are what they claim: the indexed mode used the index.
    const probe = searchSql([COMMON_QUERIES[0]], 20, table);
    await client.query(`PREPARE probe AS ${probe.text}`);
    const plan = (await client.query(
      `EXPLAIN EXECUTE probe(${client.escapeLiteral(likePattern(COMMON_QUERIES[0]))}, 20)`,
    )).rows.map((r) => String(Object.values(r)[0])).join("\n");
    if (!plan.includes(`Bitmap Index Scan on ${searchIndexName(table)}`)) {
      throw new Error(
        `the plan of the search does not use ${searchIndexName(table)}, so the figures would not ` +
          `measure it:\n${plan}`,
      );
    }

    const title = `${products} products, ${rounds} rounds per query; index built in ${
      (buildMs / 1000).toFixed(1)
    } s; the plan of "${COMMON_QUERIES[0]}" uses the index`;
    const md = markdownTable(
      ["queries", "rows found", "index (ms/search)", "scan (ms/search)", "scan / index"],
      results.map((r) => [
        `${r.name} (${r.queries.length})`,
        r.indexed.hits,
        r.indexed.ms.toFixed(2),
        r.scanned.ms.toFixed(2),
        `${(r.scanned.ms / r.indexed.ms).toFixed(1)}×`,
      ]),
      ["left", "right", "right", "right", "right"],
    );
    const saved = await writeReport("search", {
      title: "bench:search",
      markdown: `${title}\n\n${md}`,
      json: { products, rounds, buildMs, results },
    });
    console.log(`\n${title}\n${md}\n\nSaved ${saved} and search.json`);
  } finally {
    await client.query(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
    await client.end();
  }
}, SPEC);
