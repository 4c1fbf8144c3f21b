/**
 * The final project's forbidden list, product filter and products in PostgreSQL, against the
 * real secure cluster, the real Connect worker (Debezium CDC + JDBC sink) and PostgreSQL:
 * the seed's steps 3–7, forbid/unforbid while running, restart keeping the table, bad records
 * to the DLQ, and kill -9 three times during a load. Every check waits until the filter's group
 * has committed past the records it sent, then reads what is really in the topics — Kafka's
 * console consumer as admin, read_committed (read_uncommitted too, to show the kills left
 * aborted copies) — and in PostgreSQL (psql).
 */
import assert from "node:assert/strict";
import { type Kafka, Partitioners } from "kafkajs";
import { eventually, runTask, spawnTask, testStack, unique } from "../_stack.ts";
import { consoleRecords } from "../_console.ts";
import { transactionWatch } from "../_txwatch.ts";
import {
  createKafka,
  DLQ_HEADERS,
  ensureTopic,
  type KafkaClientOptions,
  readTopicUntil,
  secureKafkaConfigFromEnv,
  type TopicRecord,
} from "../../lib/kafka/mod.ts";
import { ConnectClient, postgresUrlFromEnv, withDatabase } from "../../lib/connect/mod.ts";
import {
  ANALYTICS_DB,
  FINAL_TOPICS,
  registerFinalConnectors,
  setupFinalTopology,
  TOPICS,
} from "../../lib/marketplace/mod.ts";
import { generateProducts, sampleProducts } from "../../lib/marketplace/catalog.ts";
import type { Product } from "../../lib/schemas/mod.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

let kafka: Kafka;
let pgUrl: string;
/** Kafka's console consumer as admin on the secure cluster: the reader of every count. */
let reader: { kafka: KafkaClientOptions; commandConfig: string };

let ready: Promise<void> | undefined;
/** Once per file: the stack, topics, connectors (a failure fails every test with its error). */
function setup(): Promise<void> {
  ready ??= prepare();
  return ready;
}

async function prepare(): Promise<void> {
  const stack = await testStack({ secure: true, connect: true, postgres: true });
  reader = {
    kafka: stack.secureKafka!.clientOptions("admin"),
    commandConfig: stack.secureKafka!.secrets().javaClientProperties.admin,
  };
  kafka = createKafka(
    secureKafkaConfigFromEnv("admin", { clientId: "final-filter-test", logLevel: "NOTHING" }),
  );
  const admin = kafka.admin();
  await admin.connect();
  await setupFinalTopology(admin);
  // A stack whose DLQ predates its declared size limit gets it (ensureTopic never alters).
  const dlq = FINAL_TOPICS.find((s) => s.topic === TOPICS.inputProductsDlq)!;
  await admin.alterConfigs({
    validateOnly: false,
    resources: [{
      type: 2, // TOPIC
      name: dlq.topic,
      configEntries: Object.entries(dlq.config!).map(([name, value]) => ({ name, value })),
    }],
  });
  await admin.disconnect();
  pgUrl = postgresUrlFromEnv();
  await registerFinalConnectors(new ConnectClient(), pgUrl);
}

/** psql against the analytics database: rows of one column (a client other than ours). */
async function psql(sql: string): Promise<string[]> {
  const out = await new Deno.Command("psql", {
    args: [withDatabase(pgUrl, ANALYTICS_DB), "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  if (!out.success) throw new Error(`psql failed: ${dec.decode(out.stderr)}`);
  return dec.decode(out.stdout).split("\n").filter((l) => l !== "");
}

const q = (s: string) => `'${s.replaceAll("'", "''")}'`;

async function produce(
  messages: {
    key: string | null;
    value: string | Uint8Array | null;
    headers?: Record<string, string>;
  }[],
  topic: string = TOPICS.inputProducts,
): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let i = 0; i < messages.length; i += 2_000) {
    await producer.send({
      topic,
      acks: -1,
      messages: messages.slice(i, i + 2_000).map((m) => ({
        key: m.key,
        value: m.value === null
          ? null
          : typeof m.value === "string"
          ? m.value
          : Buffer.from(m.value),
        headers: m.headers,
      })),
    });
  }
  await producer.disconnect();
}

interface Seen {
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
  partition: number;
  offset: string;
}

/**
 * Waits until `done` holds of what `topic` holds (read_committed, from the beginning, records
 * kept only when `keep` says so): for the CDC records the filter follows, not for counts.
 */
async function readUntil(
  topic: string,
  keep: (r: Seen) => boolean,
  done: (records: Seen[]) => boolean,
  timeoutMs = 60_000,
): Promise<Seen[]> {
  const seen = (r: TopicRecord): Seen => ({
    key: r.key?.toString("utf8") ?? null,
    value: r.value?.toString("utf8") ?? null,
    headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, String(v)])),
    partition: r.partition,
    offset: String(r.offset),
  });
  const records = await readTopicUntil(kafka, {
    topics: [topic],
    keep: (r) => keep(seen(r)),
    until: (rs) => done(rs.map(seen)),
    what: `records in ${topic}`,
    timeoutMs,
  });
  return records.map(seen);
}

/**
 * What `topic` holds up to its end offsets now, read by Kafka's console consumer as admin —
 * read_committed, or every record written, aborted ones included, with `uncommitted` — and
 * kept when `keep` says so.
 */
async function topicRecords(
  topic: string,
  keep: (r: Seen) => boolean,
  { uncommitted = false } = {},
): Promise<Seen[]> {
  const records = await consoleRecords(topic, {
    ...reader,
    readCommitted: !uncommitted,
  });
  return records.map((r) => ({ ...r, offset: String(r.offset) })).filter(keep);
}

/** The end offsets of `topic` now: partition → offset. */
async function endOffsets(topic: string): Promise<Map<number, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, +o.high]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Waits until the filter's group `appId` has committed every partition of `topic` up to
 * `ends` — the input's end offsets after a test sent its records — so everything it sent is
 * processed and its outputs committed (they commit in the same transaction as the offsets).
 */
async function processedUpTo(
  appId: string,
  topic: string,
  ends: Map<number, number>,
  timeoutMs = 180_000,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await eventually(
      async () => {
        const [o] = await admin.fetchOffsets({ groupId: appId, topics: [topic] });
        const at = new Map(o.partitions.map((p) => [p.partition, Math.max(0, +p.offset)]));
        const short = [...ends].filter(([p, end]) => (at.get(p) ?? 0) < end);
        if (short.length === 0) return true;
        throw new Error(
          `committed ${short.map(([p, end]) => `p${p} ${at.get(p) ?? 0}/${end}`).join(", ")}`,
        );
      },
      timeoutMs,
      `group ${appId} committing ${topic} up to ${JSON.stringify(Object.fromEntries(ends))}`,
    );
  } finally {
    await admin.disconnect();
  }
}

function countBy(records: Seen[], key: (r: Seen) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of records) m.set(key(r), (m.get(key(r)) ?? 0) + 1);
  return m;
}

/** Waits until Debezium has written `id`'s state (present or tombstone) to forbidden-products. */
async function cdcReached(id: string, present: boolean): Promise<number> {
  const t0 = Date.now();
  await readUntil(
    TOPICS.forbiddenProducts,
    (r) => r.key === id,
    // A delete arrives as JSON `null` (see forbidden.ts), which the table applies as a delete.
    (rs) => rs.length > 0 && !["null", null].includes(rs[rs.length - 1].value) === present,
    30_000,
  );
  return Date.now() - t0;
}

async function startFilter(appId: string, env: Record<string, string> = {}) {
  const proc = await spawnTask("final:filter", [], {
    FILTER_APP_ID: appId,
    METRICS_PORT: "0",
    ...env,
  });
  await eventually(
    () => proc.lines.some((l) => l.startsWith("processing")),
    180_000,
    `filter ${appId} processing (lines: ${proc.lines.join(" | ")})`,
  );
  const port = Number(/:(\d+)\/metrics/.exec(proc.lines.find((l) => l.includes("/metrics"))!)![1]);
  return { ...proc, port };
}

async function metrics(port: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out: Record<string, number> = {};
  for (
    const m of text.matchAll(/^product_filter_records_total\{[^}]*outcome="(\w+)"[^}]*\} (\d+)/gm)
  ) {
    out[m[1]] = Number(m[2]);
  }
  return out;
}

/** Entries of the filter's forbidden table, from its /metrics. */
async function forbiddenEntries(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = /^streams_table_entries\{[^}]*table="forbidden"[^}]*\} (\d+)/m.exec(text);
  if (!m) throw new Error("no streams_table_entries of the forbidden table on /metrics");
  return Number(m[1]);
}

/** Waits until the running filter's forbidden table holds `entries` (its follower applied CDC). */
async function tableFollowed(port: number, entries: number): Promise<void> {
  await eventually(
    async () => {
      const n = await forbiddenEntries(port);
      if (n === entries) return true;
      throw new Error(`it holds ${n}`);
    },
    60_000,
    `the filter's forbidden table at ${entries} entries`,
  );
}

const withId = (p: Product, id: string): Product => ({ ...p, product_id: id });

/** Partitions of `products`, as `final:setup` declares it. */
function productsPartitions(): number {
  return FINAL_TOPICS.find((s) => s.topic === TOPICS.products)!.partitions!;
}

/**
 * One id per partition of a topic of `partitions` partitions (`prefix-N`), placed as the
 * filter's producer places keys (kafkajs' default partitioner: murmur2 of the key).
 */
function oneIdPerPartition(prefix: string, partitions: number): string[] {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: partitions }, (_, i) => ({
    partitionId: i,
    leader: 0,
    partitionErrorCode: 0,
    replicas: [],
    isr: [],
  }));
  const ids = new Map<number, string>();
  for (let i = 0; ids.size < partitions; i++) {
    const key = `${prefix}-${i}`;
    const p = partitioner({
      topic: TOPICS.products,
      partitionMetadata,
      message: { key, value: null },
    });
    if (!ids.has(p)) ids.set(p, key);
  }
  return [...ids.values()];
}

Deno.test(
  "final: seed steps 3–7, forbid/unforbid while running, restart keeps the table, bad records to the DLQ",
  opts,
  async (t) => {
    await setup();
    const run = unique("ff");
    const appId = `product-filter-${run}`;
    const products = sampleProducts().map((p) => withId(p, `${run}-${p.product_id}`));
    const [banned1, banned2] = [products[3].product_id, products[7].product_id];
    const allowed = products.filter((p) => p.product_id !== banned1 && p.product_id !== banned2);
    const mine = (r: Seen) => r.key?.startsWith(run) ?? false;

    // Step 4: forbid two products with plain SQL (psql), as the seed does.
    await psql(
      `insert into forbidden_products (product_id, reason) values (${
        q(banned1)
      }, 'counterfeit «подделка» 🚫'), (${q(banned2)}, 'recalled')`,
    );
    await cdcReached(banned1, true);
    await cdcReached(banned2, true);

    // Step 3: the sample straight into input-products (as admin), then the filter (step 5).
    await produce(products.map((p) => ({ key: p.product_id, value: JSON.stringify(p) })));
    /** Sends to input-products, then waits until the filter has committed past what it sent. */
    const sendAndProcess = async (messages: Parameters<typeof produce>[0]) => {
      await produce(messages);
      await processedUpTo(appId, TOPICS.inputProducts, await endOffsets(TOPICS.inputProducts));
    };
    const sampleSent = await endOffsets(TOPICS.inputProducts);
    let filter = await startFilter(appId);
    try {
      await t.step(
        "products (Kafka, read_committed) and PostgreSQL hold exactly the allowed ones",
        async () => {
          await processedUpTo(appId, TOPICS.inputProducts, sampleSent);
          const passed = await topicRecords(TOPICS.products, mine);
          const counts = countBy(passed, (r) => r.key!);
          assert.deepEqual(
            [...counts.keys()].sort(),
            allowed.map((p) => p.product_id).sort(),
          );
          assert.ok(
            [...counts.values()].every((n) => n === 1),
            "each allowed product exactly once",
          );
          const value = JSON.parse(passed.find((r) => r.key === allowed[0].product_id)!.value!);
          assert.deepEqual(value, allowed[0]);
          const blocked = await topicRecords(TOPICS.productsBlocked, mine);
          assert.deepEqual(
            blocked.map((r) => [r.key, JSON.parse(r.value!).reason]).sort(),
            [[banned1, "counterfeit «подделка» 🚫"], [banned2, "recalled"]].sort(),
          );
          // Step 6: SELECT in PostgreSQL (the JDBC sink), with a client other than ours.
          const ids = await eventually(
            async () => {
              const rows = await psql(
                `select product_id from products where product_id like ${q(run + "%")} order by 1`,
              );
              return rows.length >= allowed.length ? rows : undefined;
            },
            60_000,
            "products in PostgreSQL",
          );
          assert.deepEqual(ids, allowed.map((p) => p.product_id).sort());
          const [row] = await psql(
            `select name || '|' || price_amount || '|' || price_currency || '|' || (tags->>0) || '|' || pg_typeof(created_at) from products where product_id = ${
              q(allowed[0].product_id)
            }`,
          );
          const a = allowed[0];
          assert.equal(
            row,
            `${a.name}|${a.price.amount}|${a.price.currency}|${a.tags[0]}|timestamp with time zone`,
          );
          const m = await metrics(filter.port);
          assert.ok(m.in >= products.length, `metrics in=${m.in}`);
          assert.equal(m.in, m.passed + m.forbidden + m.dlq);
        },
      );

      await t.step(
        "forbid while running blocks later records within seconds; unforbid lets them flow",
        async () => {
          const target = allowed[0];
          const entries = await forbiddenEntries(filter.port);
          const before = Date.now();
          const r = await runTask("final:forbid", ["add", target.product_id, "price fraud"]);
          assert.equal(r.code, 0, r.stderr);
          const cdcMs = await cdcReached(target.product_id, true);
          console.log(
            `forbid → forbidden-products: ${Date.now() - before} ms (CDC read ${cdcMs} ms)`,
          );
          await tableFollowed(filter.port, entries + 1);
          const v2 = { ...target, stock: { available: 1, reserved: 0 } };
          await sendAndProcess([{ key: target.product_id, value: JSON.stringify(v2) }]);
          const blocked = await topicRecords(
            TOPICS.productsBlocked,
            (x) => x.key === target.product_id,
          );
          assert.equal(blocked.length, 1, "the record sent after the forbid is blocked once");
          assert.equal(JSON.parse(blocked[0].value!).reason, "price fraud");
          // Its row leaves PostgreSQL (tombstone in products.connect).
          await eventually(
            async () =>
              (await psql(
                `select count(*) from products where product_id = ${q(target.product_id)}`,
              ))[0] === "0",
            60_000,
            "forbidden product's row deleted",
          );
          const r2 = await runTask("final:forbid", ["remove", target.product_id]);
          assert.equal(r2.code, 0, r2.stderr);
          await cdcReached(target.product_id, false);
          await tableFollowed(filter.port, entries);
          const v3 = { ...target, stock: { available: 3, reserved: 1 } };
          await sendAndProcess([{ key: target.product_id, value: JSON.stringify(v3) }]);
          const passed = await topicRecords(TOPICS.products, (x) => x.key === target.product_id);
          assert.equal(
            passed.length,
            2,
            "the original and the record after unforbid; not the blocked one",
          );
          assert.deepEqual(JSON.parse(passed[1].value!).stock, { available: 3, reserved: 1 });
          await eventually(
            async () =>
              (await psql(
                `select stock_available || '/' || stock_reserved from products where product_id = ${
                  q(target.product_id)
                }`,
              ))[0] === "3/1",
            60_000,
            "row back in PostgreSQL",
          );
        },
      );

      await t.step(
        "bad records produced straight into input-products end in the DLQ; the filter carries on",
        async () => {
          const good = products[0];
          const bad: [string, Uint8Array | string | null][] = [
            ["not JSON", "{not json"],
            ["empty array", "[]"],
            ["empty string", '""'],
            ["required field missing", JSON.stringify({ ...good, name: undefined })],
            ["product_id a number", JSON.stringify({ ...good, product_id: 42 })],
            [
              "amount a string",
              JSON.stringify({ ...good, price: { amount: "10", currency: "RUB" } }),
            ],
            [
              "amount negative",
              JSON.stringify({ ...good, price: { amount: -1, currency: "RUB" } }),
            ],
            ["stock null", JSON.stringify({ ...good, stock: null })],
            ["invalid UTF-8", new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
            ["oversize", JSON.stringify({ ...good, description: "ю".repeat(520_000) })],
            ["null value", null],
          ];
          // One send each: the oversize record alone nearly fills the topic's record-batch limit.
          for (const [what, v] of bad) {
            await produce([{ key: `${run}-bad`, value: v, headers: { "test.case": what } }]);
          }
          const after = withId(good, `${run}-after-bad`);
          await sendAndProcess([{ key: after.product_id, value: JSON.stringify(after) }]);
          const dead = await topicRecords(TOPICS.inputProductsDlq, (r) => r.key === `${run}-bad`);
          assert.deepEqual(
            dead.map((r) => r.headers["test.case"]).sort(),
            bad.map(([w]) => w).sort(),
          );
          for (const d of dead) {
            assert.ok(
              d.headers[DLQ_HEADERS.error]?.length > 0,
              `reason for ${d.headers["test.case"]}`,
            );
            assert.equal(d.headers[DLQ_HEADERS.topic], TOPICS.inputProducts);
          }
          const oversize = dead.find((d) => d.headers["test.case"] === "oversize")!;
          assert.match(oversize.headers[DLQ_HEADERS.error], /over the limit/);
          const ok = await topicRecords(TOPICS.products, (r) => r.key === after.product_id);
          assert.equal(ok.length, 1);
          const m = await metrics(filter.port);
          assert.ok(m.dlq >= bad.length);
          assert.equal(m.in, m.passed + m.forbidden + m.dlq);
        },
      );

      await t.step("a restarted filter restores the forbidden table from the topic", async () => {
        filter.child.kill("SIGTERM");
        await filter.done();
        filter = await startFilter(appId);
        const restored = filter.lines.find((l) => l.startsWith("processing"))!;
        assert.match(restored, /forbidden table: [1-9]\d* entries/);
        const again = [banned1, banned2].map((id) => withId(products[0], id));
        // Processed: the group committed past them, in the transactions that wrote their
        // outputs. Then one allowed product per partition of products, sent only now: a read
        // that holds all of them has read every partition past anything the re-sent ids made.
        await sendAndProcess(again.map((p) => ({ key: p.product_id, value: JSON.stringify(p) })));
        const sentinels = oneIdPerPartition(`${run}-after-restart`, productsPartitions());
        await sendAndProcess(
          sentinels.map((id) => ({ key: id, value: JSON.stringify(withId(products[0], id)) })),
        );
        const isBanned = (r: Seen) => r.key === banned1 || r.key === banned2;
        const blocked = await topicRecords(TOPICS.productsBlocked, isBanned);
        assert.equal(blocked.length, 4, "both forbidden ids blocked again, after the restart");
        const read = await topicRecords(
          TOPICS.products,
          (r) => isBanned(r) || sentinels.includes(r.key!),
        );
        assert.deepEqual(
          read.map((r) => r.key).sort(),
          [...sentinels].sort(),
          "a forbidden product never reaches products (and the read reached every sentinel)",
        );
      });
    } finally {
      filter.child.kill("SIGTERM");
      await filter.done();
    }
  },
);

/**
 * Records of `topic` that a read_uncommitted reader sees and a read_committed one does not
 * (`committed`, read before): copies written in transactions that a kill left to be aborted.
 */
async function abortedCopies(
  topic: string,
  keep: (r: Seen) => boolean,
  committed: Seen[],
): Promise<Seen[]> {
  const at = (r: Seen) => `${r.partition}/${r.offset}`;
  const seen = new Set(committed.map(at));
  const all = await topicRecords(topic, keep, { uncommitted: true });
  return all.filter((r) => !seen.has(at(r)));
}

/** A started filter's process, killed if still running, with its stderr in `err`'s message. */
async function failWith(f: Awaited<ReturnType<typeof startFilter>>, err: unknown): Promise<never> {
  try {
    f.child.kill("SIGKILL");
  } catch {
    // it ended by itself: its stderr says why
  }
  const { stderr } = await f.done();
  throw new Error(`${(err as Error).message}\n--- filter stderr ---\n${stderr.slice(-3000)}`);
}

/**
 * Kill -9 of the filter three times while it works, restarting it each time. Each kill waits
 * until the instance has committed work of its own and then has a transaction open with
 * records written to `products` (the crash window); after the kill, with nothing left to
 * commit it, that transaction must still be open — a kill that the commit beat is not counted
 * and is tried again (up to 5 such misses: then the drill did not test).
 */
async function killThreeTimes(
  appId: string,
  T: { input: string; products: string },
  env: Record<string, string>,
  total: number,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const watch = await transactionWatch(kafka, T.products);
  const committed = async () => {
    const o = await admin.fetchOffsets({ groupId: appId, topics: [T.input] });
    return o[0].partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
  };
  let last = 0;
  let misses = 0;
  try {
    for (let kill = 1; kill <= 3;) {
      const f = await startFilter(appId, env);
      const before = last;
      try {
        await eventually(
          async () => (await committed()) > before,
          180_000,
          `commits past ${before}`,
        );
        await eventually(
          async () => {
            const now = await watch.state();
            if (now.open) return true;
            throw new Error(now.detail);
          },
          120_000,
          `a transaction of the filter open with records in ${T.products}`,
        );
      } catch (err) {
        await failWith(f, err);
      }
      try {
        f.child.kill("SIGKILL");
      } catch {
        // it ended by itself before the kill: the assertion below shows its stderr
      }
      const { status, stderr } = await f.done();
      assert.equal(status.signal, "SIGKILL", `the filter ended by itself:\n${stderr.slice(-3000)}`);
      const left = await watch.state();
      last = await committed();
      console.log(
        `kill -9 #${kill}: committed input offsets ${before} → ${last} of ${total}; ` +
          `${left.open ? "left a transaction open" : "after the commit (again)"}: ${left.detail}`,
      );
      if (left.open) kill++;
      else assert.ok(++misses <= 5, "did not test: 5 kills landed after their commit");
    }
  } finally {
    await watch.stop();
    await admin.disconnect();
  }
}

const KILL_N = Math.max(3_000, Number(Deno.env.get("FINAL_KILL_N") ?? 5_000));
/**
 * The drill widens the window between writing a batch's outputs and committing it (lib/streams'
 * fault injection), so that a kill lands with outputs written and the input not committed:
 * under at-least-once that is a duplicate in `products` (this test then fails — tried with
 * PROCESSING_GUARANTEE=at_least_once), under exactly-once an aborted transaction.
 */
const CRASH_WINDOW = { STREAMS_DELAY_BEFORE_COMMIT_MS: "1500", FILTER_MAX_BATCH_BYTES: "65536" };

Deno.test(
  `final: kill -9 the filter three times during ${KILL_N} products — each allowed product exactly once, counts reconcile`,
  opts,
  async () => {
    await setup();
    const run = unique("fk");
    const appId = `product-filter-${run}`;
    // Topics of its own (the filter's ACLs allow 'product-filter-*'), so the drill's kills land
    // while this run's records are processed, not while older data of the shared topics is.
    const prefix = `${appId}-`;
    const T = {
      input: prefix + TOPICS.inputProducts,
      products: prefix + TOPICS.products,
      blocked: prefix + TOPICS.productsBlocked,
      dlq: prefix + TOPICS.inputProductsDlq,
    };
    {
      const admin = kafka.admin();
      await admin.connect();
      // The drill's input, and its products before the filter makes it: the kills' watcher
      // follows it from the start.
      for (
        const [name, topic] of [[TOPICS.inputProducts, T.input], [TOPICS.products, T.products]]
      ) {
        const spec = FINAL_TOPICS.find((s) => s.topic === name)!;
        await ensureTopic(admin, { ...spec, topic });
      }
      await admin.disconnect();
    }
    const drillEnv = { ...CRASH_WINDOW, FILTER_TOPIC_PREFIX: prefix };
    const products = generateProducts(KILL_N, { idPrefix: `${run}-`, seed: 7 });
    const banned = products.filter((_, i) => i % 1000 === 17).map((p) => p.product_id);
    await psql(
      `insert into forbidden_products (product_id, reason) values ${
        banned.map((id) => `(${q(id)}, 'kill test')`).join(",")
      }`,
    );
    await cdcReached(banned[banned.length - 1], true);
    const messages: { key: string | null; value: string }[] = products.map((p) => ({
      key: p.product_id,
      value: JSON.stringify(p),
    }));
    const BAD = 20;
    for (let i = 0; i < BAD; i++) {
      messages.splice(Math.floor((i + 0.5) * messages.length / BAD), 0, {
        key: `${run}-bad-${i}`,
        value: `{bad ${i}`,
      });
    }
    await produce(messages, T.input);
    const sent = await endOffsets(T.input);

    await killThreeTimes(appId, T, drillEnv, messages.length);
    const f = await startFilter(appId, { FILTER_TOPIC_PREFIX: prefix });
    try {
      const allowed = new Set(
        products.map((p) => p.product_id).filter((id) => !banned.includes(id)),
      );
      const mine = (r: Seen) => r.key?.startsWith(`${run}-`) ?? false;
      await processedUpTo(appId, T.input, sent);
      const passed = await topicRecords(T.products, mine);
      const blocked = await topicRecords(T.blocked, mine);
      const dead = await topicRecords(T.dlq, mine);
      const passedCounts = countBy(passed, (r) => r.key!);
      const dupes = [...passedCounts].filter(([, n]) => n > 1);
      assert.deepEqual(dupes, [], "no allowed product twice in products");
      assert.equal(passedCounts.size, allowed.size);
      for (const id of passedCounts.keys()) assert.ok(allowed.has(id), `${id} is allowed`);
      assert.deepEqual(blocked.map((r) => r.key).sort(), [...banned].sort());
      assert.equal(dead.length, BAD);
      assert.equal(passed.length + blocked.length + dead.length, messages.length);
      const aborted = await abortedCopies(T.products, mine, passed);
      console.log(
        `kill test: input=${messages.length} products=${passed.length} blocked=${blocked.length} dlq=${dead.length}; ` +
          `aborted copies in products (read_uncommitted only): ${aborted.length}`,
      );
      assert.ok(
        aborted.length > 0,
        "did not test: no kill landed in an open transaction (no aborted copy in products)",
      );
      for (const r of aborted) {
        assert.equal(passedCounts.get(r.key!), 1, `${r.key}: aborted copy, committed once`);
      }
    } finally {
      try {
        f.child.kill("SIGTERM");
      } catch {
        // already ended
      }
      const { status, stderr } = await f.done();
      if (status.code !== 0 && status.signal !== "SIGTERM") {
        console.error(`the final filter ended with ${status.code}:\n${stderr.slice(-3000)}`);
      }
    }
  },
);
