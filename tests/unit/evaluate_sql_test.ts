/**
 * The evaluation of the recommendations (`jobs/evaluate.sql`, `jobs/evaluate.ts`) on embedded
 * DuckDB: the metrics of each method worked out by hand on a tiny split, the random baseline
 * against its md5 order, the runner's split at a cut-off and the recommendations job run on the
 * training part only, the `--cutoff` check.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { DuckDBConnection } from "@duckdb/node-api";
import { openDuckDb } from "../../jobs/duckdb.ts";
import { loadJobSql } from "../../jobs/marts.ts";
import {
  bindUserEvents,
  EVALUATE_JOB,
  evaluateDuckDb,
  parseCutoff,
  type QualityRow,
} from "../../jobs/evaluate.ts";

/** product → [category, stock]. */
const CATALOGUE: Record<string, [string, number]> = {
  p1: ["c1", 5],
  p2: ["c1", 5],
  p3: ["c1", 5],
  p4: ["c1", 5],
  p5: ["c1", 5],
  p6: ["c2", 5],
  p7: ["c2", 5],
  p8: ["c2", 0],
};

async function catalogue(con: DuckDBConnection): Promise<void> {
  await con.run(
    "CREATE TABLE products_current (product_id VARCHAR, category VARCHAR, stock_available INT)",
  );
  for (const [id, [category, stock]] of Object.entries(CATALOGUE)) {
    await con.run(`INSERT INTO products_current VALUES ('${id}', '${category}', ${stock})`);
  }
}

async function events(
  con: DuckDBConnection,
  table: string,
  rows: [string, string, string][],
  from = 0,
): Promise<void> {
  await con.run(
    `CREATE TABLE IF NOT EXISTS ${table} ` +
      '(user_id VARCHAR, product_id VARCHAR, type VARCHAR, "at" TIMESTAMP)',
  );
  for (const [i, [user, product, type]] of rows.entries()) {
    await con.run(
      `INSERT INTO ${table} VALUES ('${user}', '${product}', '${type}', ` +
        `TIMESTAMP '2025-01-01 00:00:00' + INTERVAL ${from + i} MINUTE)`,
    );
  }
}

const byMethod = (rows: QualityRow[]) => Object.fromEntries(rows.map((r) => [r.method, r]));
const close = (actual: number, expected: number, what: string) =>
  assert.ok(Math.abs(actual - expected) < 1e-6, `${what}: ${actual} ≠ ${expected}`);
const ndcg1 = 1 / Math.log2(3); // one relevant product, hit at rank 2

Deno.test("evaluate.sql: precision, recall, NDCG and coverage of each method, by hand", async () => {
  const con = await openDuckDb();
  try {
    await catalogue(con);
    // Training: purchases p2 ×3, p1, p3, p6 ×1 (the best-sellers p2, then p1, p3, p6 by id).
    // u1's favourite category is c2 (p6, p7 against p1); u2's is c1.
    await events(con, "train_events", [
      ["u1", "p1", "purchase"],
      ["u1", "p6", "view"],
      ["u1", "p7", "view"],
      ["u2", "p2", "purchase"],
      ["u2", "p3", "purchase"],
      ["u3", "p2", "purchase"],
      ["u3", "p4", "add_to_cart"],
      ["u4", "p2", "purchase"],
      ["u4", "p6", "purchase"],
    ]);
    // Test: u1 buys p3 (relevant) and p1 again (a repeat: not counted); u2 buys p5 and p6;
    // u5 has no training activity, so is no test user.
    await events(con, "test_events", [
      ["u1", "p3", "purchase"],
      ["u1", "p1", "purchase"],
      ["u2", "p5", "purchase"],
      ["u2", "p6", "purchase"],
      ["u2", "p7", "view"],
      ["u5", "p2", "purchase"],
    ], 100);
    await con.run(
      "CREATE TABLE recs_train AS SELECT * FROM (VALUES " +
        "('u1', 1, 'p2'), ('u1', 2, 'p3'), ('u1', 3, 'p4'), " +
        "('u2', 1, 'p6'), ('u2', 2, 'p4'), ('u2', 3, 'p5'), ('u3', 1, 'p5')" +
        ") t(user_id, rec_rank, product_id)",
    );
    await con.run(
      "CREATE TABLE evaluation_cutoff AS SELECT TIMESTAMP '2025-01-01 01:00:00' AS cutoff",
    );
    const reader = await con.runAndReadAll(await loadJobSql(EVALUATE_JOB));
    const rows = byMethod(
      reader.getRowObjectsJson().map((r) => ({
        method: String(r.method),
        users: Number(r.users),
        precision_at_5: Number(r.precision_at_5),
        recall_at_5: Number(r.recall_at_5),
        ndcg_at_5: Number(r.ndcg_at_5),
        coverage: Number(r.coverage),
      })),
    );
    assert.deepEqual(Object.keys(rows).sort(), [
      "popular",
      "popular_in_category",
      "random",
      "recommender",
    ]);
    for (const r of Object.values(rows)) assert.equal(r.users, 2, `${r.method}: test users`);
    const idcg2 = 1 + 1 / Math.log2(3); // two relevant products
    // recommender — u1: p3 at rank 2 (P 0.2, R 1, NDCG 1/log2 3);
    // u2: p6 at 1, p5 at 3 of two relevant (P 0.4, R 1, NDCG (1 + 1/2) / idcg2).
    const rec = rows.recommender;
    close(rec.precision_at_5, (0.2 + 0.4) / 2, "recommender precision");
    close(rec.recall_at_5, 1, "recommender recall");
    close(rec.ndcg_at_5, (ndcg1 + 1.5 / idcg2) / 2, "recommender NDCG");
    close(rec.coverage, 5 / 7, "recommender coverage (p2 p3 p4 p5 p6 of 7 in stock)");
    // popular — u1 (p1 left out): p2, p3, p6 → p3 at 2; u2 (p2, p3 left out): p1, p6 → p6 at 2.
    const pop = rows.popular;
    close(pop.precision_at_5, 0.2, "popular precision");
    close(pop.recall_at_5, (1 + 0.5) / 2, "popular recall");
    close(pop.ndcg_at_5, (ndcg1 + ndcg1 / idcg2) / 2, "popular NDCG");
    close(pop.coverage, 4 / 7, "popular coverage (p1 p2 p3 p6)");
    // popular in category — u1 (c2): p6, no hit; u2 (c1, p2 p3 left out): p1, no hit.
    const cat = rows.popular_in_category;
    assert.deepEqual(
      [cat.precision_at_5, cat.recall_at_5, cat.ndcg_at_5],
      [0, 0, 0],
      "popular_in_category scores",
    );
    close(cat.coverage, 2 / 7, "popular_in_category coverage (p6, p1)");
    // random — in md5('1/<user>/<product>') order, in stock, the user's history left out.
    const relevant: Record<string, string[]> = { u1: ["p3"], u2: ["p5", "p6"] };
    const history: Record<string, string[]> = { u1: ["p1"], u2: ["p2", "p3"] };
    let precision = 0, recall = 0;
    const shown = new Set<string>();
    for (const user of ["u1", "u2"]) {
      const top = Object.keys(CATALOGUE)
        .filter((p) => CATALOGUE[p][1] > 0 && !history[user].includes(p))
        .sort((a, b) => {
          const ha = createHash("md5").update(`1/${user}/${a}`).digest("hex");
          const hb = createHash("md5").update(`1/${user}/${b}`).digest("hex");
          return ha < hb ? -1 : ha > hb ? 1 : 0;
        })
        .slice(0, 5);
      top.forEach((p) => shown.add(p));
      const hits = top.filter((p) => relevant[user].includes(p)).length;
      precision += hits / 5 / 2;
      recall += hits / relevant[user].length / 2;
    }
    close(rows.random.precision_at_5, precision, "random precision");
    close(rows.random.recall_at_5, recall, "random recall");
    close(rows.random.coverage, shown.size / 7, "random coverage");
  } finally {
    con.closeSync();
  }
});

Deno.test("evaluate: the runner splits at the cut-off and recommends from the training part only", async () => {
  const con = await openDuckDb();
  try {
    await catalogue(con);
    // Before the cut-off: p1 and p2 bought together by four users, t1 buys p1 only.
    // After it: t1 buys p2 — the pair's other half, which the recommender should put first.
    const train: [string, string, string][] = [];
    for (const u of ["u1", "u2", "u3", "u4"]) {
      train.push([u, "p1", "purchase"], [u, "p2", "purchase"]);
    }
    train.push(["t1", "p1", "purchase"]);
    await events(con, "user_events", train);
    await events(con, "user_events", [["t1", "p2", "purchase"], ["u1", "p5", "view"]], 1000);
    const cutoff = "2025-01-01T10:00:00.000Z"; // minute 600: between the two parts
    const run = await evaluateDuckDb(con, { cutoff });
    assert.equal(run.cutoff, cutoff);
    assert.deepEqual([run.trainEvents, run.testEvents], [9, 2]);
    assert.deepEqual(run.rows.map((r) => r.method), [
      "recommender",
      "popular",
      "popular_in_category",
      "random",
    ]);
    const rec = byMethod(run.rows).recommender;
    assert.deepEqual([rec.users, rec.precision_at_5, rec.recall_at_5, rec.ndcg_at_5], [
      1,
      0.2,
      1,
      1,
    ]);
    // The recommendations saw no event after the cut-off: t1's p2 is not in t1's history.
    const recs = await con.runAndReadAll(
      "SELECT product_id FROM recs_train WHERE user_id = 't1' ORDER BY rec_rank",
    );
    assert.equal(recs.getRows()[0][0], "p2");
    // By default the cut-off is the time of the event at 80 %: 9th of 11 (minute 8 of train).
    const byDefault = await evaluateDuckDb(con);
    assert.equal(byDefault.cutoff, "2025-01-01T00:08:00.000Z");
    assert.deepEqual([byDefault.trainEvents, byDefault.testEvents], [8, 3]);
  } finally {
    con.closeSync();
  }
});

Deno.test("evaluate: --cutoff is checked, naming the flag; user_events is rebound whole-word", () => {
  assert.equal(parseCutoff(undefined), undefined);
  assert.equal(parseCutoff("2025-01-31"), "2025-01-31T00:00:00.000Z");
  assert.equal(parseCutoff("2025-01-31T12:30:00"), "2025-01-31T12:30:00.000Z");
  assert.equal(parseCutoff("2025-01-31T12:30:00+03:00"), "2025-01-31T09:30:00.000Z");
  assert.throws(() => parseCutoff("yesterday"), /--cutoff.*'yesterday'/);
  assert.throws(() => parseCutoff("2025-13-45"), /--cutoff/);
  assert.equal(
    bindUserEvents("from user_events e join my_user_events m", "train_events"),
    "from train_events e join my_user_events m",
  );
});
