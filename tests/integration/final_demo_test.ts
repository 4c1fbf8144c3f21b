/**
 * `deno task demo`'s code path (lib/marketplace/platform.ts runPlatform) on the test stack with
 * the final profile: the summary must reconcile (sent = products + forbidden + refused, A = B,
 * B = lake), and its key numbers are checked again by clients it did not use: psql for the
 * products in PostgreSQL, Kafka's own console consumer for cluster B's copy of `products`
 * (from offsets this test took before the run), DuckDB over the lake's Parquet files. A second
 * run while the lock is held by a live process is refused before anything starts; a stale lock
 * (its process gone) is taken over.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { WebHdfs } from "../../lib/lake/mod.ts";
import { parseFileName } from "../../lib/lake/mod.ts";
import { withDatabase } from "../../lib/connect/mod.ts";
import {
  ANALYTICS_DB,
  PLATFORM_LOCK,
  PLATFORM_STACK_OPTIONS,
  PlatformRefused,
  platformServices,
  runPlatform,
  sampleProducts,
  TOPICS,
} from "../../lib/marketplace/mod.ts";
import { createKafka, kafkaConfigFromEnv } from "../../lib/kafka/mod.ts";
import { runKafkaTool, Stack } from "../../lib/stack/mod.ts";
import { openDuckDb, readMart, runDuckDbJobs } from "../../jobs/duckdb.ts";
import { TEST_ENV, testStack, unique } from "../_stack.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const analytics = {
  engine: "duckdb",
  run: (hdfs: WebHdfs) => runDuckDbJobs({ hdfs }),
  readMart: (hdfs: WebHdfs, mart: string) => readMart(hdfs, mart),
};

async function psql(url: string, sql: string): Promise<string[]> {
  const out = await new Deno.Command("psql", {
    args: [url, "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  if (!out.success) throw new Error(`psql failed: ${dec.decode(out.stderr)}`);
  return dec.decode(out.stdout).trim().split("\n").filter(Boolean);
}

Deno.test(
  "demo: a second run while the lock is held is refused before anything starts",
  opts,
  async () => {
    const saved = await Stack.load(TEST_ENV.STACK_DIR);
    const stack = new Stack({
      ...saved.options,
      ...PLATFORM_STACK_OPTIONS,
      dir: TEST_ENV.STACK_DIR,
    });
    const holder = new Deno.Command("sleep", { args: ["60"] }).spawn();
    const lock = join(TEST_ENV.STACK_DIR, PLATFORM_LOCK);
    await Deno.writeTextFile(lock, JSON.stringify({ pid: holder.pid, started: "test" }));
    try {
      const before = await Promise.all(platformServices(stack).map((s) => s.status()));
      const err = await runPlatform({ stack, analytics, out: () => {} }).then(
        () => undefined,
        (e) => e,
      );
      assert.ok(err instanceof PlatformRefused, `refused, got ${err}`);
      assert.match(err.message, new RegExp(`pid ${holder.pid}`));
      assert.match(err.message, /nothing was started/);
      // The lock still names its holder, and no service changed state.
      assert.equal(JSON.parse(await Deno.readTextFile(lock)).pid, holder.pid);
      const after = await Promise.all(platformServices(stack).map((s) => s.status()));
      assert.deepEqual(
        after.flat().map((s) => [s.name, s.state]),
        before.flat().map((s) => [s.name, s.state]),
      );
    } finally {
      holder.kill("SIGKILL");
      await holder.status;
    }
    // Its holder gone, the lock is stale: the main run below takes it over.
  },
);

Deno.test(
  "demo: the platform end to end reconciles, checked by psql, a console consumer and DuckDB",
  opts,
  async () => {
    const stack = await testStack(PLATFORM_STACK_OPTIONS);
    const run = unique("demo");
    const suffix = `-${run}`;
    // Cluster B's ends before the run, taken here (not by the code under test).
    const kafkaB = createKafka(kafkaConfigFromEnv({ clientId: "demo-test", logLevel: "NOTHING" }, {
      get: (n) => n === "KAFKA_BOOTSTRAP_SERVERS" ? stack.mirrorKafka!.bootstrap() : undefined,
    }));
    const adminB = kafkaB.admin();
    await adminB.connect();
    const startB = await adminB.fetchTopicOffsets(TOPICS.products).catch(() => []);
    await adminB.disconnect();

    const lines: string[] = [];
    const summary = await runPlatform({
      stack,
      analytics,
      productIdSuffix: suffix,
      users: 4,
      sessions: 2,
      minFreeGiB: 1,
      stopServices: true,
      out: (l) => lines.push(l),
    });
    const sample = sampleProducts();
    const allowed = sample.length - 2;

    // The summary's own reconciliation.
    for (const c of summary.checks) assert.ok(c.ok, `${c.what}: ${c.detail}`);
    assert.equal(summary.ok, true);
    assert.equal(summary.counts.sent, sample.length + 3);
    assert.equal(summary.counts.refused, 3);
    assert.equal(summary.counts.products, allowed);
    assert.equal(summary.counts.forbidden, 2);
    assert.ok(summary.refusals.every((r) => r.status === 400 && r.reason.length > 3));
    assert.ok(summary.counts.mirrored[TOPICS.userEvents].a > 0, "the users did something");
    assert.ok(summary.marts.length >= 5 && summary.marts.some((m) => m.rows > 0));
    assert.ok(summary.recommendations.served.length > 0);

    // psql: this run's products in PostgreSQL, the forbidden ones absent.
    const url = withDatabase(stack.postgres!.url(), ANALYTICS_DB);
    const rows = await psql(
      url,
      `select product_id from products where product_id like '%${suffix}'`,
    );
    assert.equal(rows.length, allowed, "PostgreSQL rows of this run (psql)");
    for (const id of summary.forbiddenIds) assert.ok(!rows.includes(id), `${id} not in PostgreSQL`);

    // Kafka's console consumer on cluster B: each allowed product of this run exactly once.
    const keys: string[] = [];
    for (
      const p of startB.length ? startB : [0, 1, 2].map((partition) => ({ partition, high: "0" }))
    ) {
      const text = await runKafkaTool("org.apache.kafka.tools.consumer.ConsoleConsumer", [
        "--bootstrap-server",
        stack.mirrorKafka!.bootstrap(),
        "--topic",
        TOPICS.products,
        "--partition",
        String(p.partition),
        "--offset",
        String(p.high),
        "--isolation-level",
        "read_committed",
        "--property",
        "print.key=true",
        "--property",
        "print.value=false",
        "--timeout-ms",
        "6000",
      ], { what: "kafka-console-consumer on cluster B" });
      keys.push(...text.split("\n").map((l) => l.trim()).filter((k) => k.endsWith(suffix)));
    }
    assert.equal(
      keys.length,
      allowed,
      "records of this run in cluster B's products (console consumer)",
    );
    assert.equal(new Set(keys).size, allowed);

    // DuckDB over the lake's Parquet files: this run's products, each once.
    const hdfs = new WebHdfs({ url: stack.hdfs!.webhdfsUrl() });
    const tmp = await Deno.makeTempDir({ prefix: "demo-lake-" });
    try {
      const from = new Map(startB.map((p) => [p.partition, Number(p.high)]));
      let copied = 0;
      for (const f of await hdfs.walk(`/lake/raw/${TOPICS.products}`)) {
        const parsed = parseFileName(f.path.split("/").pop()!);
        if (!parsed || f.path.includes("/_tmp/")) continue;
        if (Number(parsed.last) < (from.get(parsed.partition) ?? 0)) continue;
        await Deno.writeFile(join(tmp, `${copied++}.parquet`), await hdfs.read(f.path));
      }
      const con = await openDuckDb();
      try {
        const reader = await con.runAndReadAll(
          `select count(*)::int, count(distinct product_id)::int from read_parquet('${tmp}/*.parquet', union_by_name = true) where product_id like '%${suffix}'`,
        );
        const [n, distinct] = reader.getRows()[0].map(Number);
        assert.equal(n, allowed, "lake rows of this run (DuckDB)");
        assert.equal(distinct, allowed);
      } finally {
        con.closeSync();
      }
    } finally {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
    // The services it started are stopped again (a second filter would pass other tests' input).
    const st = (await Promise.all(platformServices(stack).map((s) => s.status()))).flat();
    assert.ok(
      st.every((s) => s.state !== "running"),
      JSON.stringify(st.map((s) => [s.name, s.state])),
    );
    console.log(lines.filter((l) => /done in/.test(l)).join("\n"));
  },
);
