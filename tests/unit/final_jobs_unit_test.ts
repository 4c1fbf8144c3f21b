/**
 * The final lake's tables and the analytics jobs without a stack: product flattening, the
 * lake topic list, flag checks, grouping of recommendations, the job manifest against the
 * SQL files, and the generator's planted pattern.
 */
import assert from "node:assert/strict";
import { ConfigError } from "../../lib/env/mod.ts";
import { columnsFromSchema } from "../../lib/lake/mod.ts";
import {
  FINAL_LAKE_TABLES,
  finalLakeTopics,
  flattenProduct,
  generateActivity,
  groupRecommendations,
  LAKE_PRODUCT_ROW_SCHEMA,
  MIRRORED_TOPICS,
} from "../../lib/marketplace/mod.ts";
import { JOBS, loadJobSql, parseSince } from "../../jobs/marts.ts";
import { checkMaster } from "../../jobs/spark.ts";

Deno.test("products are flattened into the lake's columns", () => {
  const [p] = generateActivity({ users: 10, products: 6 }).products;
  const row = flattenProduct(p);
  assert.equal(row.price_amount, p.price.amount);
  assert.equal(row.currency, p.price.currency);
  assert.equal(row.stock_available, p.stock.available);
  assert.equal(row.image_count, p.images.length);
  const names = columnsFromSchema(LAKE_PRODUCT_ROW_SCHEMA).map((c) => c.name);
  assert.deepEqual(Object.keys(row).sort(), names.filter((n) => !n.startsWith("_")).sort());
});

Deno.test("one lake table per mirrored topic; LAKE_TOPICS and its prefix", () => {
  assert.deepEqual(FINAL_LAKE_TABLES.map((t) => t.topic).sort(), [...MIRRORED_TOPICS].sort());
  assert.deepEqual(FINAL_LAKE_TABLES.map((t) => t.table), [
    "products",
    "user_events",
    "user_requests",
    "user_responses",
  ]);
  assert.deepEqual(finalLakeTopics("user-events", "A.").map((t) => t.topic), ["A.user-events"]);
  assert.equal(finalLakeTopics().length, 4);
  assert.throws(
    () => finalLakeTopics("orders"),
    (e) => e instanceof ConfigError && /orders/.test(e.message),
  );
});

Deno.test("--since and --master are checked, naming the flag", () => {
  assert.equal(parseSince("2025-01-31"), "2025-01-31");
  assert.equal(parseSince(undefined), undefined);
  assert.throws(() => parseSince("yesterday"), /--since.*yesterday/);
  assert.throws(() => parseSince("2025-13-45"), /--since/);
  assert.equal(checkMaster("local[2]"), "local[2]");
  assert.equal(checkMaster("spark://host:7077"), "spark://host:7077");
  assert.throws(() => checkMaster("local[two]"), /--master.*local\[two\]/);
});

Deno.test("recommendation rows become one record per user, in rank order", () => {
  const recs = groupRecommendations(
    [
      { user_id: "u2", rec_rank: 1, product_id: "a", score: 2, reason: "r" },
      { user_id: "u1", rec_rank: 2, product_id: "c", score: 1, reason: "r" },
      { user_id: "u1", rec_rank: 1, product_id: "b", score: 3, reason: "r" },
    ],
    "duckdb:recommendations",
    new Date(0),
  );
  assert.deepEqual(recs.map((r) => [r.user_id, r.products.map((p) => p.product_id)]), [
    ["u1", ["b", "c"]],
    ["u2", ["a"]],
  ]);
  assert.equal(recs[0].generated_at, "1970-01-01T00:00:00.000Z");
});

Deno.test("every job has its SQL file, a single statement with a comment saying what it answers", async () => {
  for (const job of JOBS) {
    const raw = await Deno.readTextFile(new URL(`../../jobs/${job.name}.sql`, import.meta.url));
    assert.match(raw, /^-- (View|Mart) /, `${job.name}.sql starts with what it answers`);
    const sql = await loadJobSql(job);
    assert.ok(!sql.includes(";"), `${job.name}.sql is one statement`);
    for (const k of job.key) assert.match(sql, new RegExp(`\\b${k}\\b`), `${job.name}: key ${k}`);
  }
});

Deno.test("the generator plants 'buyers of x also buy y' and keeps the targets off random carts", () => {
  const data = generateActivity({ users: 60, products: 20, seed: 3 });
  const { x, y, pattern, targets } = data.planted;
  const buys = (u: string) =>
    new Set(
      data.events.filter((e) => e.user_id === u && e.type !== "view" && e.type !== "review").map((
        e,
      ) => e.product_id),
    );
  for (const u of pattern) assert.ok(buys(u).has(x) && buys(u).has(y));
  for (const u of targets) assert.deepEqual([...buys(u)], [x]);
  const others = data.events.filter((e) =>
    !pattern.includes(e.user_id) && !targets.includes(e.user_id)
  );
  assert.ok(others.every((e) => e.product_id !== x && e.product_id !== y));
  assert.deepEqual(generateActivity({ users: 60, products: 20, seed: 3 }).events, data.events);
});
