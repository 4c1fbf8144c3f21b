/**
 * `deno task demo`'s code path (lib/marketplace/platform.ts runPlatform) on the test stack with
 * the final profile, run twice on the same products:
 *
 * - the first run's summary must reconcile (sent = products + forbidden + refused, A = B,
 *   B = lake), and its key numbers are checked again by clients it did not use: psql for the
 *   products in PostgreSQL, Kafka's own console consumer for cluster B's copy of `products`
 *   (this run's product ids, each once), DuckDB over the lake's Parquet files (from cluster-B
 *   offsets this test took before the run);
 * - its services are stack services: `deno task stack status --json` lists them running and
 *   serving, `stack restart shop-api` brings the SHOP API back healthy with a new pid, `stack
 *   stop lake-sink` stops one (the second run starts it again);
 * - the seed's step 4 with the real task (`final:forbid add` of two sample products), then the
 *   second run: every check OK with the two counted as blocked beside the run's own two —
 *   read back in `products.blocked` by Kafka's console consumer (from offsets the test took)
 *   and absent from PostgreSQL (psql).
 *
 * A second run while the lock is held by a live process is refused before anything starts; a
 * stale lock (its process gone) is taken over.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { WebHdfs } from "../../lib/lake/mod.ts";
import { parseFileName } from "../../lib/lake/mod.ts";
import { psqlRows, withDatabase } from "../../lib/connect/mod.ts";
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
import { consoleRecords, Stack } from "../../lib/stack/mod.ts";
import { openDuckDb, readMart, runDuckDbJobs } from "../../jobs/duckdb.ts";
import { runTask, TEST_ENV, testStack, unique } from "../_stack.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const analytics = {
  engine: "duckdb",
  run: (hdfs: WebHdfs) => runDuckDbJobs({ hdfs }),
  readMart: (hdfs: WebHdfs, mart: string) => readMart(hdfs, mart),
};

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

/** The services of `stack status --json` by name. */
async function stackStatus(): Promise<Map<string, StatusRow>> {
  const r = await runTask("stack", ["status", "--json"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const rows = JSON.parse(r.stdout).services as StatusRow[];
  return new Map(rows.map((x) => [x.service, x]));
}

interface StatusRow {
  service: string;
  state: string;
  pid: number | null;
  ports: Record<string, number>;
  health: string;
}

Deno.test(
  "demo: end to end; its services are stack services; a second run after the seed's step 4 reconciles",
  opts,
  async (t) => {
    const stack = await testStack(PLATFORM_STACK_OPTIONS);
    const run = unique("demo");
    const suffix = `-${run}`;
    const sample = sampleProducts();
    const lines: string[] = [];
    const options = {
      stack,
      analytics,
      productIdSuffix: suffix,
      users: 4,
      sessions: 2,
      minFreeGiB: 1,
      out: (l: string) => lines.push(l),
    };
    const pgUrl = withDatabase(stack.postgres!.url(), ANALYTICS_DB);
    try {
      const first = await t.step(
        "first run: reconciles, checked by psql, a console consumer and DuckDB",
        async () => {
          const seconds = await firstRun(stack, options, suffix, sample.length);
          console.log(lines.filter((l) => /done in/.test(l)).join("\n"));
          console.log(`first run: ${seconds.toFixed(0)} s`);
        },
      );
      if (!first) return;

      const services = await t.step(
        "its services in `stack status --json`, `restart` and `stop`",
        async () => {
          await stackCommands(stack);
        },
      );
      if (!services) return;

      await t.step(
        "the seed's step 4 (final:forbid add), then a second run: ALL OK, both blocked",
        async () => {
          // Two sample products forbidden with the real task, as the seed does for 78490, 56741.
          const seed = [`78490${suffix}`, `56741${suffix}`];
          for (const id of seed) {
            const r = await runTask("final:forbid", ["add", id, "seed step 4"]);
            assert.equal(r.code, 0, r.stdout + r.stderr);
          }
          // Where products.blocked ended before the second run, taken here.
          const cluster = stack.secureKafka!;
          const adminA = createKafka({ ...cluster.clientOptions("admin"), logLevel: "NOTHING" })
            .admin();
          await adminA.connect();
          const blockedStart = new Map(
            (await adminA.fetchTopicOffsets(TOPICS.productsBlocked)).map((p) => [
              p.partition,
              Number(p.high),
            ]),
          );
          await adminA.disconnect();

          lines.length = 0;
          const second = await runPlatform({ ...options, stopServices: true });
          console.log(lines.filter((l) => /done in/.test(l)).join("\n"));
          console.log(`second run: ${second.seconds.toFixed(0)} s`);
          for (const c of second.checks) assert.ok(c.ok, `${c.what}: ${c.detail}`);
          assert.equal(second.ok, true);
          const demo = [sample[3], sample[7]].map((p) => `${p.product_id}${suffix}`);
          // In the catalogue's order: 78490 and 56741 come before the run's own two.
          assert.deepEqual(second.forbiddenIds, [...seed, ...demo]);
          assert.deepEqual(second.forbidden.filter((f) => !f.byThisRun).map((f) => f.reason), [
            "seed step 4",
            "seed step 4",
          ]);
          const allowed = sample.length - 4;
          assert.equal(second.counts.forbidden, 4);
          assert.equal(second.counts.products, allowed);
          assert.equal(second.counts.postgresRows, allowed);
          assert.equal(second.counts.postgresForbiddenRows, 0);

          // Kafka's console consumer on cluster A: this run's blocked records, each once, with
          // the reason of the list.
          const blocked = (await consoleRecords(TOPICS.productsBlocked, {
            kafka: cluster.clientOptions("admin"),
            commandConfig: cluster.secrets().javaClientProperties.admin,
            readCommitted: true,
          })).filter((r) =>
            r.offset >= (blockedStart.get(r.partition) ?? 0) && r.key?.endsWith(suffix)
          );
          assert.deepEqual(
            blocked.map((r) => r.key).sort(),
            [...seed, ...demo].sort(),
            "products.blocked of the second run (console consumer)",
          );
          for (const r of blocked.filter((r) => seed.includes(r.key!))) {
            assert.equal(JSON.parse(r.value!).reason, "seed step 4");
          }

          // psql: the four absent from PostgreSQL — the seed's two rows of the first run deleted.
          const rows = await psqlRows(
            pgUrl,
            `select product_id from products where product_id like '%${suffix}'`,
          );
          assert.equal(rows.length, allowed, "PostgreSQL rows after the second run (psql)");
          for (const id of [...seed, ...demo]) assert.ok(!rows.includes(id), `${id} in PostgreSQL`);
        },
      );
    } finally {
      // Whatever happened: a second product filter would pass other tests' input.
      for (const s of platformServices(stack)) await s.stop().catch(() => {});
    }
    const st = (await Promise.all(platformServices(stack).map((s) => s.status()))).flat();
    assert.ok(
      st.every((s) => s.state !== "running"),
      JSON.stringify(st.map((s) => [s.name, s.state])),
    );
  },
);

/**
 * The first run (services left running) and its checks by clients it did not use; returns
 * how long it took, in seconds.
 */
async function firstRun(
  stack: Stack,
  options: Parameters<typeof runPlatform>[0],
  suffix: string,
  sampleSize: number,
): Promise<number> {
  // Cluster B's ends before the run, taken here (not by the code under test).
  const kafkaB = createKafka(kafkaConfigFromEnv({ clientId: "demo-test", logLevel: "NOTHING" }, {
    get: (n) => n === "KAFKA_BOOTSTRAP_SERVERS" ? stack.mirrorKafka!.bootstrap() : undefined,
  }));
  const adminB = kafkaB.admin();
  await adminB.connect();
  const startB = await adminB.fetchTopicOffsets(TOPICS.products).catch(() => []);
  await adminB.disconnect();

  const summary = await runPlatform({ ...options, stopServices: false });
  const allowed = sampleSize - 2;

  // The summary's own reconciliation.
  for (const c of summary.checks) assert.ok(c.ok, `${c.what}: ${c.detail}`);
  assert.equal(summary.ok, true);
  assert.equal(summary.counts.sent, sampleSize + 3);
  assert.equal(summary.counts.refused, 3);
  assert.equal(summary.counts.products, allowed);
  assert.equal(summary.counts.forbidden, 2);
  assert.ok(summary.forbidden.every((f) => f.byThisRun));
  assert.ok(summary.refusals.every((r) => r.status === 400 && r.reason.length > 3));
  assert.ok(summary.counts.mirrored[TOPICS.userEvents].a > 0, "the users did something");
  assert.ok(summary.marts.length >= 5 && summary.marts.some((m) => m.rows > 0));
  assert.ok(summary.recommendations.served.length > 0);

  // psql: this run's products in PostgreSQL, the forbidden ones absent.
  const url = withDatabase(stack.postgres!.url(), ANALYTICS_DB);
  const rows = await psqlRows(
    url,
    `select product_id from products where product_id like '%${suffix}'`,
  );
  assert.equal(rows.length, allowed, "PostgreSQL rows of this run (psql)");
  for (const id of summary.forbiddenIds) assert.ok(!rows.includes(id), `${id} not in PostgreSQL`);

  // Kafka's console consumer on cluster B (lib/stack's console reader, which waits for a slow
  // first fetch and reads a short read again): each allowed product of this run exactly once.
  const keys = (await consoleRecords(TOPICS.products, {
    kafka: { brokers: stack.mirrorKafka!.bootstrap().split(","), clientId: "demo-test" },
    readCommitted: true,
  })).map((r) => r.key ?? "").filter((k) => k.endsWith(suffix));
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
  return summary.seconds;
}

/**
 * The platform's services through the stack's own commands: listed running and serving with
 * their pid and port; the SHOP API restarted healthy with a new pid; the lake sink stopped.
 */
async function stackCommands(stack: Stack): Promise<void> {
  const defs = platformServices(stack);
  const before = await stackStatus();
  for (const d of defs) {
    const row = before.get(d.name);
    assert.ok(row, `${d.name} in stack status --json: ${[...before.keys()]}`);
    assert.equal(row.state, "running", `${d.name}: ${JSON.stringify(row)}`);
    assert.ok(Number.isInteger(row.pid), `${d.name} has a pid`);
    assert.deepEqual(Object.values(row.ports), [d.port]);
    assert.equal(row.health, "serving", `${d.name}: ${JSON.stringify(row)}`);
  }
  const logs = await runTask("stack", ["logs", "shop-api", "--lines", "5"]);
  assert.equal(logs.code, 0, logs.stdout + logs.stderr);
  assert.match(logs.stdout, /==> shop-api \(.*shop-api\.log\) <==/);

  const oldPid = before.get("shop-api")!.pid;
  const restarted = await runTask("stack", ["restart", "shop-api"]);
  assert.equal(restarted.code, 0, restarted.stdout + restarted.stderr);
  assert.match(restarted.stdout, new RegExp(`Restarted shop-api \\(was pid ${oldPid}\\)`));
  const stopped = await runTask("stack", ["stop", "lake-sink"]);
  assert.equal(stopped.code, 0, stopped.stdout + stopped.stderr);

  const after = await stackStatus();
  const shop = after.get("shop-api")!;
  assert.equal(shop.state, "running");
  assert.notEqual(shop.pid, oldPid, "a new SHOP API process");
  assert.equal(shop.health, "serving", JSON.stringify(shop));
  // Its own /healthz, asked directly, on the port it was started with.
  const res = await fetch(`http://127.0.0.1:${shop.ports.http}/healthz`);
  await res.body?.cancel();
  assert.equal(res.status, 200);
  assert.equal(after.get("lake-sink")!.state, "stopped");
  assert.equal(after.get("product-filter")!.pid, before.get("product-filter")!.pid);
}
