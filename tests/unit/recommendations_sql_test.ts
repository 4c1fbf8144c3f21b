/**
 * The recommendations job (`jobs/recommendations.sql`) on embedded DuckDB over a hand-made
 * catalogue and history small enough to work out by hand: similarity normalised for
 * popularity, the exclusions, the cold-start fallback and its reason, and the job's parameters.
 */
import assert from "node:assert/strict";
import { openDuckDb } from "../../jobs/duckdb.ts";
import { bindJobParams, type JobParams, JOBS, loadJobSql } from "../../jobs/marts.ts";
import { ConfigError } from "../../lib/env/mod.ts";

const RECS = JOBS.find((j) => j.name === "recommendations")!;

/** product → [category, stock]; "forbidden" is bought but missing from the products. */
const CATALOGUE: Record<string, [string, number]> = {
  a: ["garden", 5],
  b: ["garden", 5],
  hit: ["garden", 100],
  soldout: ["garden", 0],
  book1: ["books", 3],
  book2: ["books", 3],
};

/** user → products bought, in time order. */
const BOUGHT: Record<string, string[]> = {
  ...Object.fromEntries(
    ["u1", "u2", "u3", "u4"].map((u) => [u, ["a", "b", "soldout", "forbidden", "hit"]]),
  ),
  ...Object.fromEntries(["u5", "u6", "u7", "u8", "u9", "u10"].map((u) => [u, ["hit", "book1"]])),
  t1: ["a", "hit"],
  t2: ["a"],
};

async function recommend(params: JobParams = {}) {
  const con = await openDuckDb();
  try {
    await con.run(
      "CREATE TABLE products_current (product_id VARCHAR, category VARCHAR, stock_available INT)",
    );
    for (const [id, [category, stock]] of Object.entries(CATALOGUE)) {
      await con.run(`INSERT INTO products_current VALUES ('${id}', '${category}', ${stock})`);
    }
    await con.run(
      'CREATE TABLE user_events (user_id VARCHAR, product_id VARCHAR, type VARCHAR, "at" TIMESTAMP)',
    );
    let minute = 0;
    const event = (user: string, product: string, type: string) =>
      con.run(
        `INSERT INTO user_events VALUES ('${user}', '${product}', '${type}', ` +
          `TIMESTAMP '2025-01-01 00:00:00' + INTERVAL ${minute++} MINUTE)`,
      );
    for (const [user, products] of Object.entries(BOUGHT)) {
      for (const p of products) await event(user, p, "purchase");
    }
    // A newcomer who only looked at books: no history to find neighbours from.
    await event("n1", "book1", "view");
    await event("n1", "book2", "view");
    const sql = await loadJobSql(RECS, params);
    const reader = await con.runAndReadAll(`${sql} ORDER BY user_id, rec_rank`);
    return reader.getRowObjectsJson().map((r) => ({
      user: String(r.user_id),
      rank: Number(r.rec_rank),
      product: String(r.product_id),
      reason: String(r.reason),
    }));
  } finally {
    con.closeSync();
  }
}

Deno.test("recommendations: neighbours by cosine, so the best-seller everyone buys comes after the real pair", async () => {
  const recs = await recommend();
  const of = (u: string) => recs.filter((r) => r.user === u);
  // Raw co-occurrence ranks hit first for t2 (5 buyers of a also bought hit, 4 bought b);
  // cosine: b = 4/√(6·4) ≈ 0.82, hit = 5/√(6·11) ≈ 0.62.
  assert.deepEqual(of("t2").slice(0, 2).map((r) => [r.product, r.reason]), [
    ["b", "bought together with your items"],
    ["hit", "bought together with your items"],
  ]);
  assert.equal(of("t1")[0].product, "b");
});

Deno.test("recommendations: never bought, out of stock or forbidden; at most 5 per user in rank order", async () => {
  const recs = await recommend();
  for (const r of recs) {
    assert.ok(!(BOUGHT[r.user] ?? []).includes(r.product), `${r.user} already bought ${r.product}`);
    assert.notEqual(r.product, "soldout");
    assert.notEqual(r.product, "forbidden");
  }
  for (const user of new Set(recs.map((r) => r.user))) {
    const ranks = recs.filter((r) => r.user === user).map((r) => r.rank);
    assert.deepEqual(ranks, ranks.map((_, i) => i + 1), `${user}'s ranks`);
    assert.ok(ranks.length <= 5);
  }
});

Deno.test("recommendations: cold start falls back to the favourite category's best-sellers, after every neighbour", async () => {
  const recs = await recommend();
  // n1 has no carted or bought product: only the best-sellers of books, with that reason.
  const n1 = recs.filter((r) => r.user === "n1");
  assert.deepEqual(n1.map((r) => [r.product, r.reason]), [["book1", "popular in books"]]);
  // t2 has two neighbours (b, hit); the fill comes from garden after them, never before.
  const t2 = recs.filter((r) => r.user === "t2").map((r) => r.reason);
  const firstPopular = t2.findIndex((r) => r.startsWith("popular in"));
  assert.ok(firstPopular === -1 || t2.slice(firstPopular).every((r) => r.startsWith("popular")));
});

Deno.test("recommendations: history and neighbours are parameters of the job", async () => {
  // With one neighbour kept per product, t2 (who bought a) hears only of a's nearest: b.
  const recs = await recommend({ neighbours: 1 });
  const together = recs.filter((r) => r.user === "t2" && r.reason.startsWith("bought"));
  assert.deepEqual(together.map((r) => r.product), ["b"]);
  const sql = bindJobParams(RECS, "x <= {{history}} and y <= {{neighbours}}", { history: 7 });
  assert.equal(sql, `x <= 7 and y <= ${RECS.params!.neighbours}`);
  assert.throws(
    () => bindJobParams(RECS, "", { depth: 3 }),
    (e) => e instanceof ConfigError && /no parameter 'depth'/.test(e.message),
  );
  assert.throws(() => bindJobParams(RECS, "", { history: 0 }), /whole number ≥ 1, got 0/);
  assert.throws(() => bindJobParams(RECS, "{{depth}}"), /does not declare/);
});

Deno.test("recommendations: the similarity is a choice of the job; raw counts fall into the popularity trap", async () => {
  // Raw co-occurrence: 5 buyers of a also bought hit, 4 bought b — hit first for t2.
  const counted = (await recommend({ similarity: "count" })).filter((r) => r.user === "t2");
  assert.deepEqual(counted.slice(0, 2).map((r) => r.product), ["hit", "b"]);
  // Jaccard: b = 4/(6+4−4) ≈ 0.67, hit = 5/(6+11−5) ≈ 0.42 — b first, as with cosine.
  const jaccard = (await recommend({ similarity: "jaccard" })).filter((r) => r.user === "t2");
  assert.deepEqual(jaccard.slice(0, 2).map((r) => r.product), ["b", "hit"]);
  assert.throws(
    () => bindJobParams(RECS, "{{similarity}}", { similarity: "euclid" }),
    (e) =>
      e instanceof ConfigError && /one of cosine, jaccard, lift, count, got euclid/.test(e.message),
  );
  assert.throws(() => bindJobParams(RECS, "{{similarity}}", { similarity: 2 }), /one of/);
  assert.throws(() => bindJobParams(RECS, "{{history}}", { history: "cosine" }), /whole number/);
});
