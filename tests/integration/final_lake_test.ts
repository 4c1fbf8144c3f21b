/**
 * The final project's lake and analytics on the real stack: a generated activity set (with a
 * planted "buyers of X also buy Y" pattern and malformed records) produced to the four
 * mirrored topics of a plaintext cluster standing in for cluster B; `final:lake --drain` (a task
 * process) writes the Parquet; DuckDB in Python (a reader no one here wrote) finds every valid
 * record exactly once, products flattened; the malformed ones are in the DLQs. Then
 * `final:analytics` (DuckDB) writes the marts, which match aggregates computed here from the
 * generated data; the recommendations reach topic `recommendations` on the secure cluster A,
 * read back as admin: never a product the user bought or one out of stock, and Y for X's
 * buyers. A second run leaves the marts unchanged. (That Spark writes the same marts row for row
 * is spark_parity_test.ts, on the test stack's standalone cluster.)
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Kafka } from "kafkajs";
import { localEndpoints } from "../../lib/env/mod.ts";
import {
  createKafka,
  DLQ_HEADERS,
  dlqTopic,
  ensureTopic,
  readTopicUntil,
  secureKafkaConfigFromEnv,
} from "../../lib/kafka/mod.ts";
import { copyLakeTopic, WebHdfs } from "../../lib/lake/mod.ts";
import {
  FINAL_LAKE_TABLES,
  generateActivity,
  MIRRORED_TOPICS,
  produceActivity,
  setupFinalTopology,
  TOPICS,
} from "../../lib/marketplace/mod.ts";
import { PYTHON_PACKAGES, pythonEnv, run } from "../../lib/stack/mod.ts";
import type { Recommendation } from "../../lib/schemas/mod.ts";
import { readMart } from "../../jobs/duckdb.ts";
import { MARTS } from "../../jobs/marts.ts";
import { runTask, TEST_ENV, testKafka, testStack, unique } from "../_stack.ts";

const INVALID = 3;
const KEY: Record<string, string> = {
  products: "product_id",
  "user-events": "event_id",
  "user-requests": "request_id",
  "user-responses": "request_id",
};

/** Reads a lake topic copied from HDFS with DuckDB in Python: rows, distinct offsets, keys. */
async function readLake(hdfs: WebHdfs, root: string, folder: string, key: string) {
  const tmp = await Deno.makeTempDir({ prefix: "final-lake-" });
  try {
    await copyLakeTopic(hdfs, root, folder, tmp);
    const py = await pythonEnv("lake-check", [PYTHON_PACKAGES.pyarrow, PYTHON_PACKAGES.duckdb]);
    const script = `
import duckdb, json, sys
src = "read_parquet('${join(tmp, "dt=*", "hour=*", "*.parquet")}', union_by_name=true)"
con = duckdb.connect()
rows, offsets = con.sql(f"select count(*), count(distinct (_partition, _offset)) from {src}").fetchone()
keys = [r[0] for r in con.sql(f"select ${key} from {src}").fetchall()]
cols = [r[0] for r in con.sql(f"describe select * from {src}").fetchall()]
extra = {}
if "price_amount" in cols:
    extra = {r[0]: [r[1], r[2], r[3]] for r in con.sql(f"select product_id, price_amount, currency, stock_available from {src}").fetchall()}
print(json.dumps({"rows": rows, "offsets": offsets, "keys": keys, "cols": cols, "products": extra}))
`;
    const out = await run(py.python, ["-c", script], { what: "duckdb (python) over the lake" });
    return JSON.parse(out.trim().split("\n").pop()!) as {
      rows: number;
      offsets: number;
      keys: string[];
      cols: string[];
      products: Record<string, [number, string, number]>;
    };
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

async function readTopics(
  kafka: Kafka,
  topics: string[],
  done: (n: number) => boolean,
  what: string,
): Promise<{ topic: string; key: string; value: string; headers: Record<string, string> }[]> {
  const records = await readTopicUntil(kafka, {
    topics,
    until: (rs) => done(rs.length),
    what,
    timeoutMs: 60_000,
  });
  return records.map((r) => ({
    topic: r.topic,
    key: String(r.key),
    value: String(r.value),
    headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, String(v)])),
  }));
}

const day = (iso: string) => iso.slice(0, 10);
const close = (a: unknown, b: number, what: string, eps = 0.011) =>
  assert.ok(Math.abs(Number(a) - b) <= eps, `${what}: ${a} ≠ ${b}`);

Deno.test("final lake → marts (DuckDB, Spark) → recommendations on cluster A", async () => {
  const t0 = performance.now();
  const step = (what: string) =>
    console.error(`  ${((performance.now() - t0) / 1000).toFixed(1)}s ${what}`);
  await testStack({ hdfs: true, secure: true });
  step("stack up");
  const kafkaB = await testKafka("final-lake-test"); // the plaintext cluster stands in for B
  const bootstrapB = localEndpoints(TEST_ENV.STACK_DIR).kafka.main;
  const kafkaA = createKafka(
    secureKafkaConfigFromEnv("admin", { clientId: "final-lake-test", logLevel: "ERROR" }),
  );
  const adminA = kafkaA.admin();
  await adminA.connect();
  await setupFinalTopology(adminA);
  await adminA.disconnect();
  const hdfs = new WebHdfs();
  const id = unique("fl");
  const prefix = `${id}.`;
  const root = `/${id}/raw`;
  const marts = `/${id}/marts`;
  const adminB = kafkaB.admin();
  await adminB.connect();
  for (const t of MIRRORED_TOPICS) {
    await ensureTopic(adminB, { topic: prefix + t, partitions: 3, replicationFactor: 3 });
  }
  await adminB.disconnect();

  // Two hours across midnight (UTC): two days in the daily marts, few lake files.
  const midnight = Math.floor(Date.now() / 86_400_000) * 86_400_000;
  const data = generateActivity({
    users: 80,
    products: 30,
    prefix: id,
    seed: 11,
    start: midnight - 3_600_000,
    hours: 2,
  });
  const counts = await produceActivity(kafkaB, data, {
    topicPrefix: prefix,
    invalidPerTopic: INVALID,
  });

  step("topology and data");
  // 1. The lake sink, as a task process, drains the four topics.
  const sink = await runTask("final:lake", ["--drain"], {
    LAKE_BOOTSTRAP_SERVERS: bootstrapB,
    LAKE_TOPIC_PREFIX: prefix,
    LAKE_ROOT: root,
    LAKE_GROUP_ID: id,
    LAKE_METRICS_PORT: "0",
    LAKE_ROLL_INTERVAL_MS: "2000",
    KAFKAJS_LOG_LEVEL: "ERROR",
  });
  assert.equal(sink.code, 0, sink.stderr.slice(-3000));
  console.error(sink.stderr.split("\n").filter((l) => /final lake|assigned/.test(l)).join("\n"));

  step("lake sink drained");
  // 2. Every valid record in Parquet exactly once (DuckDB in Python reads it); products flat.
  const expectedKeys: Record<string, string[]> = {
    products: data.products.map((p) => p.product_id),
    "user-events": data.events.map((e) => e.event_id),
    "user-requests": data.requests.map((r) => r.request_id),
    "user-responses": data.responses.map((r) => r.request_id),
  };
  for (const t of FINAL_LAKE_TABLES) {
    const lake = await readLake(hdfs, root, prefix + t.topic, KEY[t.topic]);
    assert.equal(lake.rows, counts[t.topic].valid, `${t.topic}: rows`);
    assert.equal(lake.offsets, lake.rows, `${t.topic}: a record twice`);
    assert.deepEqual([...lake.keys].sort(), [...expectedKeys[t.topic]].sort(), `${t.topic}: keys`);
    if (t.topic === TOPICS.products) {
      assert.ok(!lake.cols.includes("price") && lake.cols.includes("stock_available"));
      for (const p of data.products) {
        assert.deepEqual(lake.products[p.product_id], [
          p.price.amount,
          p.price.currency,
          p.stock.available,
        ]);
      }
    }
  }
  step("lake checked");
  // 3. The malformed records are in the DLQs, with the reason.
  const dead = await readTopics(
    kafkaB,
    MIRRORED_TOPICS.map((t) => dlqTopic(prefix + t)),
    (n) => n >= INVALID * MIRRORED_TOPICS.length,
    "dead letters",
  );
  for (const t of MIRRORED_TOPICS) {
    const mine = dead.filter((d) => d.topic === dlqTopic(prefix + t));
    assert.equal(mine.length, INVALID, `${t}: dead letters`);
    for (const d of mine) assert.ok(d.headers[DLQ_HEADERS.error], `${t}: DLQ reason header`);
  }

  step("DLQs checked");
  // 4. The DuckDB jobs write the marts and publish the recommendations to cluster A.
  const env = { LAKE_ROOT: root, MARTS_ROOT: marts, LAKE_TOPIC_PREFIX: prefix };
  const duck = await runTask("final:analytics", ["--engine", "duckdb", "--top", "2"], env);
  assert.equal(duck.code, 0, duck.stderr.slice(-3000));
  const first: Record<string, Record<string, unknown>[]> = {};
  for (const m of MARTS) first[m.name] = await readMart(hdfs, m.name, marts);

  step("duckdb jobs");
  // product_stats against the generated events.
  const stats = new Map<
    string,
    { v: number; c: number; p: number; u: number; rev: number; r: number[] }
  >();
  for (const e of data.events) {
    const k = `${day(e.at)}|${e.product_id}`;
    const s = stats.get(k) ?? { v: 0, c: 0, p: 0, u: 0, rev: 0, r: [] };
    if (e.type === "view") s.v++;
    if (e.type === "add_to_cart") s.c++;
    if (e.type === "purchase") (s.p++, s.u += e.quantity!, s.rev += e.quantity! * e.price!);
    if (e.type === "review") s.r.push(e.rating!);
    stats.set(k, s);
  }
  assert.equal(first.product_stats.length, stats.size, "product_stats rows");
  for (const row of first.product_stats) {
    const s = stats.get(`${row.dt}|${row.product_id}`);
    assert.ok(s, `unexpected product_stats row ${JSON.stringify(row)}`);
    assert.deepEqual([row.views, row.carts, row.purchases, row.units, row.reviews], [
      s.v,
      s.c,
      s.p,
      s.u,
      s.r.length,
    ]);
    close(row.revenue, s.rev, `revenue of ${row.product_id}`);
    if (s.r.length) {
      close(
        row.avg_rating,
        s.r.reduce((a, b) => a + b, 0) / s.r.length,
        "rating",
        1e-4,
      );
    }
  }
  // user_behaviour: sessions, events, purchases, furthest funnel stage.
  const users = new Map<string, { s: Set<string>; n: number; p: number; stage: number }>();
  const stageOf = { view: 1, add_to_cart: 2, purchase: 3, review: 0 };
  for (const e of data.events) {
    const u = users.get(e.user_id) ?? { s: new Set(), n: 0, p: 0, stage: 0 };
    u.s.add(e.session_id);
    u.n++;
    if (e.type === "purchase") u.p++;
    u.stage = Math.max(u.stage, stageOf[e.type]);
    users.set(e.user_id, u);
  }
  assert.equal(first.user_behaviour.length, users.size);
  for (const row of first.user_behaviour) {
    const u = users.get(String(row.user_id))!;
    assert.deepEqual([row.sessions, row.events, row.purchases, row.funnel_stage], [
      u.s.size,
      u.n,
      u.p,
      ["none", "view", "add_to_cart", "purchase"][u.stage],
    ]);
  }
  // search_gaps: the searches answered with nothing.
  const empty = new Map<string, number>();
  for (const r of data.responses.filter((r) => r.product_ids.length === 0)) {
    const q = data.requests.find((x) => x.request_id === r.request_id)!.query!;
    empty.set(q, (empty.get(q) ?? 0) + 1);
  }
  assert.deepEqual(
    Object.fromEntries(first.search_gaps.map((r) => [r.query, r.empty_results])),
    Object.fromEntries(empty),
  );

  // recommendations: never bought, never out of stock; the planted pair shows.
  const bought = new Set(
    data.events.filter((e) => e.type === "purchase").map((e) => `${e.user_id}|${e.product_id}`),
  );
  const outOfStock = new Set(
    data.products.filter((p) => p.stock.available === 0).map((p) => p.product_id),
  );
  assert.ok(first.recommendations.length > 0);
  for (const r of first.recommendations) {
    assert.ok(
      !bought.has(`${r.user_id}|${r.product_id}`),
      `recommended a bought product: ${JSON.stringify(r)}`,
    );
    assert.ok(!outOfStock.has(String(r.product_id)), `recommended an out-of-stock product`);
  }
  for (const t of data.planted.targets) {
    const recs = first.recommendations.filter((r) => r.user_id === t).map((r) => r.product_id);
    assert.ok(
      recs.includes(data.planted.y),
      `${t} bought ${data.planted.x}: ${data.planted.y} not in ${recs}`,
    );
  }

  step("marts checked");
  // 5. The recommendations on cluster A, read back as admin.
  const recUsers = new Set(first.recommendations.map((r) => String(r.user_id)));
  const published = new Map<string, Recommendation>();
  await readTopicUntil(kafkaA, {
    topics: [TOPICS.recommendations],
    until: (records) => {
      published.clear();
      for (const r of records) {
        // Other writers share the topic: tombstones (a user's recommendations withdrawn) and
        // records of other users are not this run's.
        if (r.value === null) continue;
        const v = JSON.parse(String(r.value)) as Recommendation;
        if (recUsers.has(v.user_id)) published.set(String(r.key), v);
      }
      return published.size >= recUsers.size;
    },
    what: "recommendations on cluster A",
    timeoutMs: 60_000,
  });
  assert.equal(published.size, recUsers.size);
  for (const [key, rec] of published) {
    assert.equal(key, rec.user_id);
    assert.equal(rec.model, "duckdb:recommendations");
    for (const p of rec.products) assert.ok(!bought.has(`${rec.user_id}|${p.product_id}`));
  }

  step("recommendations on A");
  // 6. Idempotence: a second run leaves every mart as it was.
  const again = await runTask("final:analytics", ["--engine", "duckdb", "--no-publish"], env);
  assert.equal(again.code, 0, again.stderr.slice(-3000));
  for (const m of MARTS) {
    assert.deepEqual(await readMart(hdfs, m.name, marts), first[m.name], `${m.name} changed`);
  }

  step("second run");
  await hdfs.delete(`/${id}`, { recursive: true });
});
