/**
 * Cluster B and MirrorMaker 2 on the real stack (`testStack({ mirror: true })`): user events
 * produced to the secure cluster A as `client-api` appear on B exactly once — counted by a
 * read_committed consumer on B and compared, partition by partition and in order, with what a
 * consumer reads on A — also when MirrorMaker is killed with SIGKILL mid-stream (KIP-618);
 * a consumer group's position on A is translated to B (checkpoints); the JMX exporter serves
 * the metrics the alert rules use.
 */
import assert from "node:assert/strict";
import type { Kafka } from "kafkajs";
import { eventually, testStack, unique } from "../_stack.ts";
import { createKafka, readTopicUntil, type TopicRecord } from "../../lib/kafka/mod.ts";
import { MIRRORED_TOPICS, setupFinalTopology, TOPICS } from "../../lib/marketplace/mod.ts";
import { type UserEvent, userEventCodec } from "../../lib/schemas/mod.ts";
import type { Stack } from "../../lib/stack/mod.ts";

const TOPIC = TOPICS.userEvents;
const N = 4000;

interface Seen {
  /** event ids per partition, in offset order */
  byPartition: Map<number, string[]>;
  /** offset of each event id (last one seen) */
  offsets: Map<string, { partition: number; offset: number }>;
  total: number;
}

/** Reads `topic` from the beginning, to its end, until `expected` distinct run records were seen. */
async function collect(
  kafka: Kafka,
  run: string,
  expected: number,
  { readUncommitted = false, timeoutMs = 90_000 } = {},
): Promise<Seen> {
  const idOf = (r: TopicRecord) => JSON.parse(r.value!.toString()).event_id as string;
  const records = await readTopicUntil(kafka, {
    topics: [TOPIC],
    readUncommitted,
    keep: (r) => idOf(r).startsWith(run),
    until: (rs) => new Set(rs.map(idOf)).size >= expected,
    what: `${expected} records of ${run}`,
    timeoutMs,
  });
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
let run: string;
let onB: Seen;

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
    const producer = createKafka({
      ...stack.secureKafka!.clientOptions("client-api"),
      logLevel: "ERROR",
    }).producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const baseB = await sumHighWatermarks(kafkaB);
    let sent = 0;
    const producing = (async () => {
      for (; sent < N; sent += 100) {
        await producer.send({
          topic: TOPIC,
          acks: -1,
          messages: Array.from({ length: 100 }, (_, j) => {
            const e = event(run, sent + j);
            return { key: e.user_id, value: Buffer.from(userEventCodec.encode(e)) };
          }),
        });
      }
    })();
    // Kill MirrorMaker while it is copying: some, not all, of the run is on B.
    const copiedAtKill = await eventually(
      async () => {
        const n = (await sumHighWatermarks(kafkaB)) - baseB;
        return n >= N / 5 ? n : 0;
      },
      60_000,
      "MirrorMaker copying the run",
    );
    await stack.mirrorMaker!.stop({ hard: true });
    const restarted = Date.now();
    await stack.mirrorMaker!.start();
    console.log(
      `  killed MirrorMaker with ~${copiedAtKill}/${N} on B; back replicating after ${
        ((Date.now() - restarted) / 1000).toFixed(1)
      }s`,
    );
    assert.ok(copiedAtKill < N, `MirrorMaker was killed after it had copied everything`);
    await producing;
    await producer.disconnect();

    const onA = await collect(kafkaA, run, N);
    assert.equal(onA.total, N, "A holds each produced record once");
    onB = await collect(kafkaB, run, N);
    assert.equal(onB.offsets.size, N, "every record of A is on B");
    assert.equal(onB.total, N, `B holds each record exactly once (${onB.total - N} duplicates)`);
    // Same partition, same order as on A.
    for (const [p, ids] of onA.byPartition) assert.deepEqual(onB.byPartition.get(p), ids);
    const uncommitted = await collect(kafkaB, run, N, { readUncommitted: true });
    console.log(
      `  read_uncommitted sees ${uncommitted.total - N} extra copies from aborted transactions`,
    );
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
    // The counters add up to at least what this run copied (since the last restart).
    const counted = [...text.matchAll(
      new RegExp(line("kafka_connect_mirror_source_connector_record_count_total").source, "gm"),
    )].reduce((n, m) => n + Number(m[1]), 0);
    assert.ok(counted > 0, `record_count of ${TOPIC}: ${counted}`);
    assert.match(text, /kafka_consumer_records_lag_max\{/);
  },
});
