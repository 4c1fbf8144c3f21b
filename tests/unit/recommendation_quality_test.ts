/**
 * Recommendation quality on the generator's structured activity (`structure: true` of
 * lib/marketplace/activity_gen.ts: category affinity, complementary products, best-sellers,
 * repeat purchases), written straight into DuckDB tables — no lake, no HDFS: the recommender
 * (jobs/recommendations.sql trained on the events before the cut-off) must beat every baseline
 * on recall@5 and NDCG@5. Prints the table. Also: the structure is deterministic, opt-in, and
 * has the shape the module doc says.
 */
import assert from "node:assert/strict";
import { openDuckDb } from "../../jobs/duckdb.ts";
import { evaluateDuckDb } from "../../jobs/evaluate.ts";
import { loadActivityTables } from "../../jobs/activity_tables.ts";
import { generateActivity } from "../../lib/marketplace/mod.ts";

/** The activity measured: about 9,000 events. */
const OPTIONS = {
  users: 300,
  products: 60,
  seed: 1,
  days: 14,
  start: Date.UTC(2025, 0, 1),
  structure: true,
} as const;

Deno.test("recommendation quality: on structured activity the recommender beats every baseline on recall@5 and NDCG@5", async () => {
  const data = generateActivity(OPTIONS);
  const con = await openDuckDb();
  try {
    await loadActivityTables(con, data);
    const run = await evaluateDuckDb(con);
    console.log(
      `${data.events.length} events (users ${OPTIONS.users}, products ${OPTIONS.products}, ` +
        `seed ${OPTIONS.seed}, structure); cut-off ${run.cutoff}: ` +
        `${run.trainEvents} training, ${run.testEvents} test events`,
    );
    console.table(run.rows);
    const [recommender, ...baselines] = run.rows;
    assert.equal(recommender.method, "recommender");
    assert.equal(baselines.length, 3);
    assert.ok(recommender.users >= 50, `only ${recommender.users} test users`);
    for (const b of baselines) {
      assert.ok(
        recommender.recall_at_5 > b.recall_at_5,
        `recall@5: recommender ${recommender.recall_at_5} ≤ ${b.method} ${b.recall_at_5}`,
      );
      assert.ok(
        recommender.ndcg_at_5 > b.ndcg_at_5,
        `NDCG@5: recommender ${recommender.ndcg_at_5} ≤ ${b.method} ${b.ndcg_at_5}`,
      );
    }
  } finally {
    con.closeSync();
  }
});

Deno.test("activity structure: opt-in, deterministic, with affinity, best-sellers and repeats", () => {
  const plain = { users: 60, products: 20, seed: 3, start: Date.UTC(2025, 0, 1) };
  assert.deepEqual(generateActivity({ ...plain, structure: false }), generateActivity(plain));
  const data = generateActivity(OPTIONS);
  assert.deepEqual(generateActivity(OPTIONS), data);
  const category = new Map(data.products.map((p) => [p.product_id, p.category]));
  const { x, y, pattern, targets } = data.planted;
  const purchases = data.events.filter((e) =>
    e.type === "purchase" && e.product_id !== x && e.product_id !== y
  );
  // The best-sellers: the three products most bought, each by many more users than the rest.
  const buyers = new Map<string, Set<string>>();
  for (const e of purchases) {
    buyers.set(e.product_id, (buyers.get(e.product_id) ?? new Set()).add(e.user_id));
  }
  const counts = [...buyers.values()].map((s) => s.size).sort((a, b) => b - a);
  assert.ok(counts[2] > 2 * counts[3], `best-sellers stand out: ${counts.slice(0, 5)}`);
  const hits = new Set(
    [...buyers.entries()].sort((a, b) => b[1].size - a[1].size).slice(0, 3).map(([p]) => p),
  );
  // Affinity: apart from the best-sellers, a user buys in at most two categories.
  const cats = new Map<string, Set<string>>();
  for (const e of purchases.filter((e) => !hits.has(e.product_id))) {
    cats.set(e.user_id, (cats.get(e.user_id) ?? new Set()).add(category.get(e.product_id)!));
  }
  assert.ok([...cats.values()].every((c) => c.size <= 2), "one or two categories per user");
  // Repeats: some users buy a product twice.
  const seen = new Set<string>();
  const repeats = purchases.filter((e) => {
    const k = `${e.user_id}/${e.product_id}`;
    return seen.has(k) || !seen.add(k);
  });
  assert.ok(repeats.length > 0, "repeat purchases");
  // The planted pattern still holds; the targets never cart anything but x.
  for (const u of targets) {
    const carted = data.events.filter((e) => e.user_id === u && e.type === "add_to_cart");
    assert.deepEqual([...new Set(carted.map((e) => e.product_id))], [x]);
  }
  assert.ok(pattern.length > 0);
});
