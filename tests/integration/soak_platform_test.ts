/**
 * Platform chaos, one fixed-seed round in the suite: `deno task soak:platform --seed 42
 * --minutes 1 --overlap` on the shared test stack kills with SIGKILL, on a seeded schedule and
 * without waiting for the one before to be back (their restarts overlap), the product
 * filter, the JDBC sink's Connect worker, MirrorMaker 2, the lake sink, a broker of A, the SHOP
 * API and the CLIENT API — restarting each — while products, dead letters and simulated users
 * flow, then reconciles every hop with readers the platform does not use (Kafka's console
 * consumer on A and B, psql, DuckDB over the lake). The task must exit 0 with every stage of its
 * table OK, and every component must have been killed while the load flowed. That the table
 * fails on a loss, a duplicate or an extra record is shown by
 * tests/unit/soak_platform_unit_test.ts; longer rounds are `deno task soak:platform --minutes N`.
 */
import assert from "node:assert/strict";
import { PLATFORM_STACK_OPTIONS, platformServices } from "../../lib/marketplace/mod.ts";
import { SOAK_COMPONENTS, type SoakComponent } from "../../lib/marketplace/soak/mod.ts";
import { runTask, testStack } from "../_stack.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** How the task's schedule lines name a killed component. */
const KILLED: Record<SoakComponent, RegExp> = {
  "product-filter": /kill -9 product-filter \(pid \d+\)/,
  connect: /kill -9 Connect worker \(pid \d+\)/,
  "mirror-maker": /kill -9 MirrorMaker 2 \(pid \d+\)/,
  "lake-sink": /kill -9 lake-sink \(pid \d+\)/,
  broker: /kill -9 broker \d+ of A \(pid \d+\)/,
  "shop-api": /kill -9 shop-api \(pid \d+\)/,
  "client-api": /kill -9 client-api \(pid \d+\)/,
};

Deno.test(
  "soak:platform: a fixed-seed round of kill -9 of every component loses and duplicates nothing",
  opts,
  async () => {
    const stack = await testStack(PLATFORM_STACK_OPTIONS);
    try {
      const r = await runTask("soak:platform", [
        "--seed",
        "42",
        "--minutes",
        "1",
        "--overlap",
        "--keep",
      ]);
      const out = r.stdout + r.stderr;
      console.log(out);
      assert.equal(r.code, 0, out.slice(-6000));
      for (const c of SOAK_COMPONENTS) assert.match(out, KILLED[c], `${c} was killed`);
      const rows = out.split("\n").filter((l) => / (OK|FAIL)\s*$/.test(l) && !/^STAGE /.test(l));
      assert.equal(rows.length, 15, `a row per stage:\n${rows.join("\n")}`);
      assert.deepEqual(rows.filter((l) => /FAIL\s*$/.test(l)), [], "every stage OK");
      // Every stage saw records: a round whose load never reached a hop proves nothing there.
      for (const row of rows) {
        const [expected, seen] = row.trim().split(/\s{2,}/).slice(1, 3).map(Number);
        assert.ok(expected > 0 && seen === expected, `stage saw its records: ${row}`);
      }
      assert.match(out, /soak:platform OK \(seed 42\)/);
    } finally {
      // A filter left running on the shared stack would pass other tests' products too.
      for (const s of platformServices(stack)) await s.stop().catch(() => {});
    }
  },
);
