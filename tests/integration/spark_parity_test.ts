/**
 * Spark and DuckDB agree, on every run of the suite: a small generated lake (a few thousand
 * events across midnight, so the daily marts have two days) written straight to HDFS
 * (jobs/parity.ts), every job of `jobs/*.sql` run on embedded DuckDB and — through
 * `final:analytics --engine spark`, which picks the stack's standalone master by itself — on
 * the test stack's Spark cluster (`stack up --spark`: one master, one worker), and every mart
 * compared row for row (numbers to a relative 1e-6). Whatever the SQL says, both engines must
 * say it alike. The same for the evaluation of the recommendations (`final:evaluate` on each
 * engine, over a small lake of structured activity): the mart `recommendation_quality` equal
 * figure for figure.
 */
import assert from "node:assert/strict";
import { WebHdfs } from "../../lib/lake/mod.ts";
import { generateActivity } from "../../lib/marketplace/mod.ts";
import { readMart, runDuckDbJobs } from "../../jobs/duckdb.ts";
import { diffMarts, diffRows, writeActivityLake } from "../../jobs/parity.ts";
import { MARTS } from "../../jobs/marts.ts";
import { QUALITY_MART } from "../../jobs/evaluate.ts";
import { runTask, testStack, unique } from "../_stack.ts";

Deno.test("Spark on the stack's standalone cluster writes the same marts as DuckDB", async () => {
  const t0 = performance.now();
  const step = (what: string) =>
    console.error(`  ${((performance.now() - t0) / 1000).toFixed(1)}s ${what}`);
  const stack = await testStack({ spark: true, hdfs: true });
  const spark = stack.spark!;
  step("stack up (HDFS, Spark master and worker)");
  const hdfs = new WebHdfs();
  const id = unique("parity");
  const root = `/${id}/raw`;
  const duckRoot = `/${id}/marts-duckdb`;
  const sparkRoot = `/${id}/marts-spark`;
  const cacheDir = await Deno.makeTempDir({ prefix: "spark-parity-cache-" });
  try {
    // About 3,000 events over six hours across midnight (UTC): two days in the daily marts.
    const midnight = Math.floor(Date.now() / 86_400_000) * 86_400_000;
    const data = generateActivity({
      users: 250,
      products: 40,
      prefix: id,
      seed: 23,
      start: midnight - 3 * 3_600_000,
      hours: 6,
    });
    await writeActivityLake(hdfs, root, data);
    step(`lake written: ${data.events.length} events, ${data.requests.length} searches`);

    const duck = await runDuckDbJobs({ hdfs, root, martsRoot: duckRoot, cacheDir });
    step(`DuckDB: ${duck.marts.map((m) => `${m.name} ${m.rows}`).join(", ")}`);

    const before = (await spark.masterState()).completedApps.length;
    const run = await runTask("final:analytics", [
      "--engine",
      "spark",
      "--no-publish",
      "--top",
      "1",
    ], {
      LAKE_ROOT: root,
      MARTS_ROOT: sparkRoot,
      LAKE_TOPIC_PREFIX: "",
    });
    assert.equal(run.code, 0, run.stderr.slice(-3000));
    // The task chose the stack's master itself, and the master ran the application.
    assert.ok(
      run.stderr.includes(`on spark (${spark.masterUrl()})`),
      `final:analytics did not use ${spark.masterUrl()}:\n${run.stderr.slice(0, 500)}`,
    );
    const after = await spark.masterState();
    assert.equal(after.completedApps.length, before + 1, "the master ran no application");
    assert.equal(after.completedApps.at(-1), "final-analytics");
    step("Spark on the standalone master");

    const diffs = await diffMarts(hdfs, duckRoot, sparkRoot);
    for (const d of diffs) {
      console.error(`    ${d.mart}: ${d.rows} rows, ${d.differences.length ? "DIFFER" : "same"}`);
      // An empty mart on both sides would agree and prove nothing.
      assert.ok(d.rows > 0, `${d.mart}: DuckDB wrote no rows from the generated lake`);
    }
    assert.equal(diffs.length, MARTS.length);
    assert.deepEqual(diffs.flatMap((d) => d.differences), [], "DuckDB and Spark differ");
    const days = new Set((await readMart(hdfs, "product_stats", duckRoot)).map((r) => r.dt));
    assert.equal(days.size, 2, "product_stats should span two days");

    // The comparison sees one changed number in one row (it is not vacuous).
    const rows = await readMart(hdfs, "product_stats", sparkRoot);
    const changed = rows.map((r, i) =>
      i === rows.length - 1 ? { ...r, views: Number(r.views) + 1 } : r
    );
    assert.equal(diffRows("product_stats", rows, changed).length, 1);
    step("every mart compared");
  } finally {
    await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
    await hdfs.delete(`/${id}`, { recursive: true }).catch(() => false);
  }
});

Deno.test("final:evaluate on the standalone cluster writes the same recommendation_quality as on DuckDB", async () => {
  const stack = await testStack({ spark: true, hdfs: true });
  const hdfs = new WebHdfs();
  const id = unique("quality");
  const root = `/${id}/raw`;
  try {
    // About 4,500 events of structured activity over a week: test users on both sides.
    const data = generateActivity({
      users: 150,
      products: 40,
      prefix: id,
      seed: 5,
      days: 7,
      structure: true,
    });
    await writeActivityLake(hdfs, root, data);
    const marts: Record<string, Record<string, unknown>[]> = {};
    for (const engine of ["duckdb", "spark"]) {
      const martsRoot = `/${id}/marts-${engine}`;
      const run = await runTask("final:evaluate", ["--engine", engine], {
        LAKE_ROOT: root,
        MARTS_ROOT: martsRoot,
        LAKE_TOPIC_PREFIX: "",
      });
      assert.equal(run.code, 0, run.stderr.slice(-3000));
      if (engine === "spark") {
        // The task chose the stack's master itself.
        assert.ok(
          run.stderr.includes(`on spark (${stack.spark!.masterUrl()})`),
          `final:evaluate did not use ${stack.spark!.masterUrl()}:\n${run.stderr.slice(0, 500)}`,
        );
      }
      marts[engine] = await readMart(hdfs, QUALITY_MART, martsRoot);
    }
    console.error(marts.duckdb);
    assert.equal(marts.duckdb.length, 4, "one row per method");
    for (const r of marts.duckdb) {
      // Scores all zero on both engines would agree and prove nothing.
      assert.ok(Number(r.users) > 0, `${r.method}: no test user`);
    }
    assert.ok(marts.duckdb.some((r) => Number(r.recall_at_5) > 0), "no method hit anything");
    assert.deepEqual(
      diffRows(QUALITY_MART.name, marts.duckdb, marts.spark),
      [],
      "DuckDB and Spark scored the recommendations differently",
    );
  } finally {
    await hdfs.delete(`/${id}`, { recursive: true }).catch(() => false);
  }
});
