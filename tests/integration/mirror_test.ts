/**
 * Cluster B and MirrorMaker 2 on the real stack (`testStack({ mirror: true })`): user events
 * produced to the secure cluster A as `client-api` appear on B exactly once — counted by Kafka's
 * console consumer at read_committed on B and compared, partition by partition and in order,
 * with what it reads on A — also when MirrorMaker is killed with SIGKILL mid-stream (KIP-618),
 * and the kill is shown to have hit an open transaction (copies on B that only a
 * read_uncommitted reader sees); a consumer group's position on A is translated to B
 * (checkpoints); the JMX exporter serves the metrics the alert rules use, its record counters
 * at least what MirrorMaker copied since its restart; a task of MirrorMaker that failed for good
 * (its transactional producer fenced on B) is restarted by the stack's watchdog, and what A got
 * meanwhile reaches B exactly once.
 */
import assert from "node:assert/strict";
import type { Kafka } from "kafkajs";
import { eventually, testStack, unique } from "../_stack.ts";
import { killInOpenTransaction, transactionWatch } from "../_txwatch.ts";
import { sleep } from "../../lib/env/mod.ts";
import { type ConsoleRecord, consoleRecords } from "../_console.ts";
import { createKafka } from "../../lib/kafka/mod.ts";
import { MIRRORED_TOPICS, setupFinalTopology, TOPICS } from "../../lib/marketplace/mod.ts";
import { type UserEvent, userEventCodec } from "../../lib/schemas/mod.ts";
import type { ConsoleRecordsOptions, Stack } from "../../lib/stack/mod.ts";

const TOPIC = TOPICS.userEvents;
/** Records of the run at least (it goes on until the kill is behind). */
const N_MIN = 4000;
/** Records the exactly-once test sent. */
let sent = 0;

interface Seen {
  /** event ids per partition, in offset order */
  byPartition: Map<number, string[]>;
  /** offset of each event id (last one seen) */
  offsets: Map<string, { partition: number; offset: number }>;
  total: number;
}

/** The event id of a record (other tests' records of the topic need not be events). */
function idOf(r: ConsoleRecord): string {
  try {
    return String(JSON.parse(r.value!).event_id);
  } catch {
    return "";
  }
}

/**
 * The run's records of the topic, read by Kafka's console consumer on one cluster (`on`) to the
 * end offsets now: read_committed, or with `uncommitted` every record written, those of aborted
 * or open transactions too.
 */
async function runRecords(
  on: ConsoleRecordsOptions,
  run: string,
  { uncommitted = false } = {},
): Promise<ConsoleRecord[]> {
  const records = await consoleRecords(TOPIC, {
    ...on,
    readCommitted: !uncommitted,
  });
  return records.filter((r) => idOf(r).startsWith(`${run}-`));
}

/** Partitions, order and offsets of the run's records as read. */
function collect(records: ConsoleRecord[]): Seen {
  const seen: Seen = { byPartition: new Map(), offsets: new Map(), total: 0 };
  for (const r of records) {
    const id = idOf(r);
    seen.total++;
    if (!seen.byPartition.has(r.partition)) seen.byPartition.set(r.partition, []);
    seen.byPartition.get(r.partition)!.push(id);
    seen.offsets.set(id, { partition: r.partition, offset: r.offset });
  }
  return seen;
}

function event(run: string, i: number): UserEvent {
  return {
    event_id: `${run}-${i}`,
    user_id: `${run}-u${i % 20}`,
    session_id: `${run}-s${i % 50}`,
    type: "view",
    product_id: "mirror-test-product",
    at: new Date().toISOString(),
  };
}

/** A producer of user events on A as `client-api`, the principal that writes them. */
function clientApiProducer() {
  return createKafka({ ...stack.secureKafka!.clientOptions("client-api"), logLevel: "ERROR" })
    .producer({ idempotent: true, maxInFlightRequests: 1 });
}

/** 100 events of the run from number `from` on, acks=all, keyed by user. */
function eventBatch(run: string, from: number) {
  return {
    topic: TOPIC,
    acks: -1,
    messages: Array.from({ length: 100 }, (_, j) => {
      const e = event(run, from + j);
      return { key: e.user_id, value: Buffer.from(userEventCodec.encode(e)) };
    }),
  };
}

async function sumHighWatermarks(kafka: Kafka): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(TOPIC);
    return offsets.reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

let stack: Stack;
let kafkaA: Kafka;
let kafkaB: Kafka;
/** Kafka's console consumer on A (as admin, over SASL_SSL) and on B. */
let readerA: ConsoleRecordsOptions;
let readerB: ConsoleRecordsOptions;
let run: string;
let onB: Seen;
/** Records of the run MirrorMaker had committed to B when it was killed. */
let onBAtKill = -1;

Deno.test({
  name:
    "mirror: stack up --mirror runs cluster B and MirrorMaker 2 (A->B), in status and endpoints",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    stack = await testStack({ mirror: true });
    assert.ok(stack.mirrorKafka && stack.mirrorMaker && stack.secureKafka);
    kafkaA = createKafka({ ...stack.secureKafka.clientOptions("admin"), logLevel: "ERROR" });
    kafkaB = createKafka({ ...stack.mirrorKafka.clientConfig(), logLevel: "ERROR" });
    readerA = {
      kafka: stack.secureKafka.clientOptions("admin"),
      commandConfig: stack.secureKafka.secrets().javaClientProperties.admin,
    };
    readerB = { kafka: stack.mirrorKafka.clientConfig() };
    const admin = kafkaA.admin();
    await admin.connect();
    await setupFinalTopology(admin);
    await admin.disconnect();
    const names = (await stack.status()).filter((s) =>
      s.name.startsWith("kafka-mirror-") || s.name === "mirror-maker"
    );
    assert.deepEqual(names.map((s) => s.state), names.map(() => "running"));
    assert.ok(names.some((s) => s.name === "mirror-maker" && /replicating A->B/.test(s.health!)));
    const endpoints = JSON.parse(
      await Deno.readTextFile(`${stack.options.dir}/endpoints.json`),
    );
    assert.equal(endpoints.kafka.mirror, stack.mirrorKafka.bootstrap());
    // Every mirrored topic exists on B under its own name (identity policy), same partitions.
    const adminB = kafkaB.admin();
    await adminB.connect();
    try {
      await eventually(
        async () => {
          const topics = await adminB.listTopics();
          return MIRRORED_TOPICS.every((t) => topics.includes(t));
        },
        60_000,
        `mirrored topics ${MIRRORED_TOPICS} on B`,
      );
      const md = await adminB.fetchTopicMetadata({ topics: [TOPIC] });
      assert.equal(md.topics[0].partitions.length, 3);
      // MirrorMaker's own topics live on B, none on A (read-only there).
      const topicsB = await adminB.listTopics();
      assert.ok(topicsB.includes("mm2-offset-syncs.A.internal"), topicsB.join(","));
    } finally {
      await adminB.disconnect();
    }
    const adminA = kafkaA.admin();
    await adminA.connect();
    const topicsA = await adminA.listTopics();
    await adminA.disconnect();
    assert.deepEqual(topicsA.filter((t) => /mm2|checkpoints|heartbeats/.test(t)), []);
  },
});

Deno.test({
  name:
    "mirror: records produced to A appear on B exactly once, in order, across a kill -9 of MirrorMaker 2",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    run = unique("mm2");
    const producer = clientApiProducer();
    await producer.connect();
    const watch = await transactionWatch(kafkaB, TOPIC);
    const baseB = await sumHighWatermarks(kafkaB);
    // Records flow until the kill is behind (and at least N_MIN of them), paced so that
    // MirrorMaker keeps copying, transaction after transaction, while the drill looks for one
    // it has open.
    let killed = false;
    const producing = (async () => {
      for (; !killed || sent < N_MIN; sent += 100) {
        await producer.send(eventBatch(run, sent));
        if (sent >= N_MIN) await sleep(25); // pacing, not synchronisation
      }
    })();
    let detail: string;
    try {
      // Kill MirrorMaker while it is copying: some, not all, of the run is on B…
      await eventually(
        async () => (await sumHighWatermarks(kafkaB)) - baseB >= N_MIN / 5,
        60_000,
        "MirrorMaker copying the run",
      );
      // …and with one of its transactions open on B, proven with the process frozen.
      detail = await killInOpenTransaction(
        watch,
        stack.mirrorMaker!.pid()!,
        () => stack.mirrorMaker!.stop({ hard: true }),
        { what: "MirrorMaker 2" },
      );
    } finally {
      killed = true;
      await watch.stop();
    }
    // What it had committed, while nothing more can be: the least its successor must copy.
    onBAtKill = (await runRecords(readerB, run)).length;
    const restarted = Date.now();
    await stack.mirrorMaker!.start();
    console.log(
      `  killed MirrorMaker in an open transaction (${detail}) with ${onBAtKill} of the run ` +
        `committed on B; back replicating after ${((Date.now() - restarted) / 1000).toFixed(1)}s`,
    );
    await producing;
    await producer.disconnect();
    const N = sent;
    assert.ok(onBAtKill < N, `MirrorMaker was killed after it had copied everything`);

    const onA = collect(await runRecords(readerA, run));
    assert.equal(onA.total, N, "A holds each produced record once");
    // B, read_committed, until the run is complete there (or the wait says how far it got).
    const committed = await eventually(
      async () => {
        const records = await runRecords(readerB, run);
        const ids = new Set(records.map(idOf)).size;
        if (ids >= N) return records;
        throw new Error(`${ids} of the run's ${N} ids, ${records.length} records`);
      },
      240_000,
      `all ${N} records of ${run} on B at read_committed`,
    );
    onB = collect(committed);
    assert.equal(onB.offsets.size, N, "every record of A is on B");
    assert.equal(onB.total, N, `B holds each record exactly once (${onB.total - N} duplicates)`);
    // Same partition, same order as on A.
    for (const [p, ids] of onA.byPartition) assert.deepEqual(onB.byPartition.get(p), ids);
    // The kill hit an open transaction: its copies are on B, seen only by read_uncommitted.
    const at = (r: ConsoleRecord) => `${r.partition}/${r.offset}`;
    const committedAt = new Set(committed.map(at));
    const aborted = (await runRecords(readerB, run, { uncommitted: true }))
      .filter((r) => !committedAt.has(at(r)));
    console.log(`  read_uncommitted only: ${aborted.length} aborted copies on B`);
    assert.ok(aborted.length > 0, "the transaction open at the kill left aborted copies on B");
  },
});

Deno.test({
  name: "mirror: a consumer group's position on A is translated to B (checkpoints)",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    assert.ok(onB, "needs the exactly-once test first");
    const group = unique("analytics-mirror-test");
    const adminA = kafkaA.admin();
    await adminA.connect();
    const endA = await adminA.fetchTopicOffsets(TOPIC);
    await adminA.setOffsets({
      groupId: group,
      topic: TOPIC,
      partitions: endA.map((p) => ({ partition: p.partition, offset: p.high })),
    });
    await adminA.disconnect();
    // The last record of the run on B, per partition: a consumer failed over to B at the
    // translated position must not read it again.
    const lastOnB = new Map<number, number>();
    for (const { partition, offset } of onB.offsets.values()) {
      lastOnB.set(partition, Math.max(lastOnB.get(partition) ?? -1, offset));
    }
    const adminB = kafkaB.admin();
    await adminB.connect();
    try {
      const translated = await eventually(
        async () => {
          const [t] = await adminB.fetchOffsets({ groupId: group, topics: [TOPIC] });
          const ok = t.partitions.length === 3 &&
            t.partitions.every((p) => Number(p.offset) > (lastOnB.get(p.partition) ?? -1));
          return ok ? t.partitions : undefined;
        },
        60_000,
        `translated offsets of ${group} on B`,
      );
      const endB = await adminB.fetchTopicOffsets(TOPIC);
      for (const p of translated) {
        const high = Number(endB.find((e) => e.partition === p.partition)!.high);
        assert.ok(Number(p.offset) <= high, `partition ${p.partition}: ${p.offset} > end ${high}`);
      }
    } finally {
      await adminB.disconnect();
    }
  },
});

Deno.test({
  name: "mirror: MirrorMaker's JMX exporter serves replication latency and record counts",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const port = stack.mirrorMaker!.jmxPort;
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const line = (name: string) =>
      new RegExp(`^${name}\\{[^}]*topic="${TOPIC}"[^}]*\\} ([0-9.eE+-]+|NaN)`, "m");
    for (
      const name of [
        "kafka_connect_mirror_source_connector_replication_latency_ms_max",
        "kafka_connect_mirror_source_connector_record_rate",
      ]
    ) {
      assert.match(text, line(name), `${name} for ${TOPIC}`);
    }
    // The counters add up to at least what this run copied since MirrorMaker's restart: every
    // record of the run it had not committed to B when it was killed.
    assert.ok(onBAtKill >= 0, "needs the exactly-once test first");
    const counted = [...text.matchAll(
      new RegExp(line("kafka_connect_mirror_source_connector_record_count_total").source, "gm"),
    )].reduce((n, m) => n + Number(m[1]), 0);
    assert.ok(
      counted >= sent - onBAtKill,
      `record_count of ${TOPIC}: ${counted}, below the ${sent - onBAtKill} records of the run ` +
        `copied since the restart`,
    );
    assert.match(text, /kafka_consumer_records_lag_max\{/);
  },
});

Deno.test({
  name:
    "mirror: a MirrorMaker task failed for good (its producer fenced) is restarted by the watchdog, and B gets the rest exactly once",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    assert.ok(stack.mirrorWatchdog, "the stack runs MirrorMaker's watchdog");
    const mm = stack.mirrorMaker!;
    const pidBefore = mm.pid();
    assert.ok(pidBefore, "MirrorMaker runs");
    // A producer of the source task's transactional id (Connect names it `<group.id>-<connector>-
    // <task>`, the group of dedicated MirrorMaker is `A-mm2`) fences the task's own producer: its
    // next send or commit fails with ProducerFencedException and Connect leaves the task FAILED
    // "until manually restarted" — the fate of the soak round's InvalidTxnStateException.
    const fencer = kafkaB.producer({
      transactionalId: "A-mm2-MirrorSourceConnector-0",
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await fencer.connect();
    await (await fencer.transaction()).abort();
    await fencer.disconnect();
    // Records keep coming to A; the failed task cannot copy them.
    const run2 = unique("mm2-fenced");
    const producer = clientApiProducer();
    await producer.connect();
    const N = 600;
    const sendBatch = (from: number) => producer.send(eventBatch(run2, from));
    await sendBatch(0);
    // The fence took: the task is seen FAILED (or, if the watchdog was quicker than this look,
    // MirrorMaker is already another process).
    await eventually(
      async () => (await mm.failedTasks().catch(() => [])).length > 0 || mm.pid() !== pidBefore,
      60_000,
      "MirrorMaker's source task FAILED after its producer was fenced",
    );
    for (let i = 100; i < N; i += 100) await sendBatch(i);
    await producer.disconnect();
    // Only a restart brings the task back: MirrorMaker is another process, its task running.
    await eventually(
      async () => mm.pid() !== undefined && mm.pid() !== pidBefore && await mm.sourceTaskRunning(),
      180_000,
      `MirrorMaker restarted by its watchdog (pid ${pidBefore} before; watchdog log ${stack.mirrorWatchdog.log})`,
    );
    const onA = collect(await runRecords(readerA, run2));
    assert.equal(onA.total, N, "A holds each produced record once");
    const onB2 = collect(
      await eventually(
        async () => {
          const records = await runRecords(readerB, run2);
          return new Set(records.map(idOf)).size >= N ? records : undefined;
        },
        180_000,
        `all ${N} records of ${run2} on B at read_committed`,
      ),
    );
    assert.equal(onB2.total, N, `B holds each record exactly once (${onB2.total - N} duplicates)`);
    for (const [p, ids] of onA.byPartition) assert.deepEqual(onB2.byPartition.get(p), ids);
    const log = await Deno.readTextFile(stack.mirrorWatchdog.log);
    assert.match(log, /MirrorMaker 2 restarted: task\(s\) MirrorSourceConnector\/0 had failed/);
  },
});
