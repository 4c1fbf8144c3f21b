/**
 * Practice 4, broker failure drill (the seed's `docker stop kafka-1` … `docker start kafka-1`):
 * while an idempotent producer (acks=all) sends numbered records to a topic with replication
 * factor 3 and `min.insync.replicas=2`, and a consumer group reads them, broker 1 is stopped
 * (SIGTERM, or SIGKILL as a crash), the ISR shrinks to 2, the broker is started again and the
 * drill waits for the full ISR. Every step is a timeline event; afterwards the whole topic is
 * read back and every id counted, so lost or duplicated records show.
 *
 * @example
 * ```ts
 * import { runFailoverDrill } from "./failover.ts";
 * const report = await runFailoverDrill({ kafka, cluster: stack.kafka, topic: "balanced_topic", records: 200_000 });
 * console.table(report.timeline);
 * ```
 * @module
 */
import type { Admin, Kafka } from "kafkajs";
import { PartitionedProducer } from "../../kafka/mod.ts";
import { describePartitions, ensureTopic, type PartitionInfo } from "../../kafka/mod.ts";
import type { KafkaCluster } from "../../stack/mod.ts";
import { BALANCED_TOPIC } from "./topics.ts";
import { sleep } from "../../env/mod.ts";

/** Options of {@linkcode runFailoverDrill}. */
export interface FailoverOptions {
  /** Client of the cluster. */
  kafka: Kafka;
  /** The local cluster whose node is stopped and started. */
  cluster: KafkaCluster;
  /** Topic (created with RF 3, min ISR 2 when missing). @default "balanced_topic" */
  topic?: string;
  /** Records to send. @default 200000 */
  records?: number;
  /** Broker to stop. @default 1 */
  broker?: number;
  /** SIGKILL instead of a graceful stop. @default false */
  hard?: boolean;
  /** Fraction of records sent before the broker is stopped. @default 0.25 */
  stopAt?: number;
  /** How long the broker stays down once the ISR has shrunk, in ms. @default 3000 */
  downMs?: number;
  /** While the drill runs, send `chunk` records then pause `pauseMs`. @default 2000 */
  chunk?: number;
  /** @default 200 */
  pauseMs?: number;
  /** Consumer group of the live consumer. @default "practice4-failover" */
  group?: string;
  /** Give up waiting for ISR changes after this long, in ms. @default 180000 */
  timeoutMs?: number;
  /** Called with each timeline event as it happens (progress). */
  onEvent?: (e: TimelineEvent) => void;
}

/** One step of the drill. */
export interface TimelineEvent {
  /** Seconds since the drill started. */
  t: number;
  event: string;
  /** ISR sizes over the partitions, e.g. "3" or "2–3". */
  isr: string;
  /** Records acknowledged so far. */
  produced: number;
  /** Records the live consumer has read so far. */
  consumed: number;
}

/** Result of a drill. */
export interface FailoverReport {
  topic: string;
  records: number;
  timeline: TimelineEvent[];
  /** Smallest ISR of any partition seen while the broker was down. */
  minIsr: number;
  /** ISR size of every partition at the end. */
  finalIsr: number[];
  /** Read back from the beginning after the drill. */
  verify: VerifyReport;
  /** Distinct ids and total records the live consumer read (at-least-once). */
  live: { distinct: number; total: number };
  /** The topic as `kafka-topics --describe` would show it while the broker was down and after. */
  snapshots: { label: string; partitions: PartitionInfo[] }[];
  /** Batches the producer sent again after a failed attempt. */
  producerRetries: number;
}

/** Outcome of reading a topic back. */
export interface VerifyReport {
  total: number;
  distinct: number;
  lost: number;
  duplicated: number;
}

function isrSummary(parts: PartitionInfo[]): string {
  const sizes = parts.map((p) => p.isr.length);
  const min = Math.min(...sizes);
  const max = Math.max(...sizes);
  return min === max ? String(min) : `${min}–${max}`;
}

/** Waits until every partition of `topics` has `size` in-sync replicas. */
export async function waitIsr(
  admin: Admin,
  topics: string[],
  size: number | ((parts: PartitionInfo[]) => boolean),
  timeoutMs = 180_000,
): Promise<PartitionInfo[]> {
  const deadline = Date.now() + timeoutMs;
  let last: PartitionInfo[] = [];
  let lastError = "";
  for (;;) {
    try {
      last = (await Promise.all(topics.map((t) => describePartitions(admin, t)))).flat();
      const ok = typeof size === "number" ? last.every((p) => p.isr.length === size) : size(last);
      if (ok) return last;
    } catch (err) {
      // Metadata unavailable during elections: ask again.
      lastError = (err as Error).message;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `ISR did not reach ${
          typeof size === "number" ? size : "the expected state"
        } within ${timeoutMs} ms: ${last.map((p) => `${p.partition}:[${p.isr}]`).join(" ")}${
          lastError ? ` (last error: ${lastError})` : ""
        }`,
      );
    }
    await sleep(500);
  }
}

/**
 * Reads `topic` from the beginning with a fresh group until `expected` records arrived (or
 * `idleMs` of quiet), counting ids `0..expected-1` from the record keys.
 */
export async function verifyIds(
  kafka: Kafka,
  topic: string,
  expected: number,
  { idleMs = 10_000, group = `practice4-verify-${Date.now()}` } = {},
): Promise<VerifyReport> {
  const seen = new Uint32Array(expected);
  let total = 0;
  let strays = 0;
  let lastAt = Date.now();
  const consumer = kafka.consumer({ groupId: group, maxBytes: 10 * 1024 * 1024 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: ({ batch }) => {
        for (const m of batch.messages) {
          const id = Number(m.key?.toString());
          total++;
          if (Number.isInteger(id) && id >= 0 && id < expected) seen[id]++;
          else strays++;
        }
        lastAt = Date.now();
        return Promise.resolve();
      },
    });
    while (total < expected && Date.now() - lastAt < idleMs) await sleep(100);
    // Anything beyond the expected count (duplicates) arrives right after: drain briefly.
    const settle = Date.now();
    while (Date.now() - settle < 1_000) await sleep(100);
  } finally {
    await consumer.disconnect();
  }
  let lost = 0;
  let duplicated = strays;
  let distinct = 0;
  for (const n of seen) {
    if (n === 0) lost++;
    else {
      distinct++;
      duplicated += n - 1;
    }
  }
  return { total, distinct, lost, duplicated };
}

/** See the module doc. */
export async function runFailoverDrill(options: FailoverOptions): Promise<FailoverReport> {
  const {
    kafka,
    cluster,
    topic = BALANCED_TOPIC.topic,
    records = 200_000,
    broker = 1,
    hard = false,
    stopAt = 0.25,
    downMs = 3_000,
    chunk = 2_000,
    pauseMs = 200,
    group = "practice4-failover",
    timeoutMs = 180_000,
    onEvent,
  } = options;
  if (!Number.isInteger(records) || records < 1) {
    throw new RangeError(
      `Cannot run the drill as 'records' must be a positive integer: current value is ${records}`,
    );
  }
  if (!cluster.nodeIds.includes(broker) || cluster.brokers < 3) {
    throw new RangeError(
      `Cannot run the drill as 'broker' must be a node of a cluster of at least 3: current value is ${broker} (cluster has ${cluster.brokers})`,
    );
  }
  if (!(stopAt > 0 && stopAt < 0.9)) {
    throw new RangeError(
      `Cannot run the drill as 'stopAt' must be in (0, 0.9): current value is ${stopAt}`,
    );
  }
  const admin = kafka.admin();
  await admin.connect();
  const started = Date.now();
  const timeline: TimelineEvent[] = [];
  let produced = 0;
  let consumed = 0;
  let parts: PartitionInfo[] = [];
  const event = (what: string) => {
    const e = {
      t: Math.round((Date.now() - started) / 100) / 10,
      event: what,
      isr: parts.length ? isrSummary(parts) : "",
      produced,
      consumed,
    };
    timeline.push(e);
    onEvent?.(e);
  };
  const consumer = kafka.consumer({ groupId: group, maxBytes: 10 * 1024 * 1024 });
  const producer = new PartitionedProducer(kafka, { lingerMs: 5, batchSize: 2_000 });
  const liveIds = new Set<number>();
  let minIsr = BALANCED_TOPIC.replicationFactor;
  const snapshots: FailoverReport["snapshots"] = [];
  try {
    await ensureTopic(admin, { ...BALANCED_TOPIC, topic });
    parts = await waitIsr(admin, [topic], BALANCED_TOPIC.replicationFactor, timeoutMs);
    event(`topic ${topic} ready, RF 3, min.insync.replicas 2`);
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachBatch: ({ batch }) => {
        for (const m of batch.messages) {
          liveIds.add(Number(m.key?.toString()));
          consumed++;
        }
        return Promise.resolve();
      },
    });
    await producer.connect();

    // The drill runs beside the producer: stop → ISR shrinks → start → ISR full.
    let drilling = false;
    let drillDone = false;
    const drill = (async () => {
      while (produced < Math.floor(records * stopAt)) await sleep(20);
      drilling = true;
      event(`${hard ? "SIGKILL" : "stop"} broker ${broker}`);
      await cluster.stopNode(broker, { hard });
      event(`broker ${broker} is down`);
      parts = await waitIsr(
        admin,
        [topic],
        (ps) => ps.every((p) => !p.isr.includes(broker)),
        timeoutMs,
      );
      minIsr = Math.min(...parts.map((p) => p.isr.length));
      event(`ISR shrank to ${isrSummary(parts)} (broker ${broker} left every ISR)`);
      snapshots.push({ label: `broker ${broker} down`, partitions: parts });
      await sleep(downMs);
      parts = await describePartitions(admin, topic);
      event(`still producing with broker ${broker} down`);
      await cluster.startNode(broker);
      event(`start broker ${broker}`);
      parts = await waitIsr(admin, [topic], BALANCED_TOPIC.replicationFactor, timeoutMs);
      event(`ISR back to ${isrSummary(parts)}`);
      snapshots.push({ label: `broker ${broker} back`, partitions: parts });
      drillDone = true;
    })();
    let drillError: unknown;
    drill.catch((err) => {
      drillError = err;
      drillDone = true;
    });

    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < records;) {
      if (drillError) throw drillError;
      // Keep the tail of the stream until the drill is over, so producing spans the failure.
      if (!drillDone && drilling && i >= Math.floor(records * 0.9)) {
        await sleep(100);
        continue;
      }
      const n = Math.min(chunk, records - i);
      for (let k = 0; k < n; k++, i++) {
        const id = i;
        pending.push(
          producer.send(topic, { key: String(id), value: JSON.stringify({ id }) }).then(() => {
            produced++;
          }),
        );
      }
      if (drilling && !drillDone) {
        await Promise.all(pending.splice(0));
        await sleep(pauseMs);
      } else if (pending.length >= 20_000) {
        await Promise.all(pending.splice(0));
      }
    }
    await Promise.all(pending);
    await producer.flush();
    event(`all ${records} records acknowledged`);
    await drill;
    if (drillError) throw drillError;
    const deadline = Date.now() + 60_000;
    while (liveIds.size < records && Date.now() < deadline) await sleep(200);
    event(`live consumer read ${liveIds.size} distinct ids (${consumed} records)`);
  } finally {
    await producer.disconnect().catch(() => {});
    await consumer.disconnect().catch(() => {});
    if (!cluster.alive(broker)) {
      // Never leave the cluster short of a broker, whatever failed.
      await cluster.startNode(broker).catch(() => {});
    }
  }
  const verify = await verifyIds(kafka, topic, records);
  parts = await describePartitions(admin, topic);
  event(
    `read back: ${verify.total} records, ${verify.lost} lost, ${verify.duplicated} duplicated`,
  );
  await admin.disconnect();
  return {
    topic,
    records,
    timeline,
    minIsr,
    finalIsr: parts.map((p) => p.isr.length),
    verify,
    live: { distinct: liveIds.size, total: consumed },
    snapshots,
    producerRetries: producer.retries,
  };
}
