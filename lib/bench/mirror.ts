/**
 * MirrorMaker 2 under a fixed offered rate: {@linkcode mirrorStep} produces user events of its
 * own to `user-events` on cluster A on an open-loop schedule (kafkajs, acks=all, each record
 * stamped with its send time as its Kafka timestamp, which MirrorMaker keeps), while a reader
 * on cluster B that is not MirrorMaker ({@linkcode watchArrivals}, read_committed — it sees a
 * record once MirrorMaker's transaction holding it commits) notes each record's arrival. A → B
 * latency is arrival − send time (and arrival − A's acknowledgement, MirrorMaker's part); the
 * copy rate is the records that reached B over the time from their first to their last arrival.
 *
 * The records are valid user events (the lake sink and the analytics read the topic too) of
 * users `bench-mirror-<run>-<n>` (twelve, so the three partitions all get some): the reader
 * tells them by key and the analytics by user.
 *
 * @example
 * ```ts
 * import { mirrorStep } from "./mirror.ts";
 * const step = await mirrorStep({ kafkaA, kafkaB, run: "x1", rate: 1_000, seconds: 10 });
 * console.log(step.latency.p99, step.copyPerSec);
 * ```
 * @module
 */
import type { Kafka, Message } from "kafkajs";
import { pollUntil } from "../env/mod.ts";
import { watchArrivals } from "./arrivals.ts";
import { type LatencySummary, latencySummary, openLoop, type OpenLoopResult } from "./open_loop.ts";

/** The mirrored topic the bench writes to. */
export const MIRROR_BENCH_TOPIC = "user-events";

/** Options of {@linkcode mirrorStep}. */
export interface MirrorStepOptions {
  /** Cluster A (as a principal that may write `user-events`). */
  kafkaA: Kafka;
  /** Cluster B. */
  kafkaB: Kafka;
  /** This run's tag (in the users' ids). */
  run: string;
  /** Offered records a second. */
  rate: number;
  seconds: number;
  /** Longest wait after the last send for the records to reach B. @default 30 */
  drainSeconds?: number;
}

/** One step's figures. */
export interface MirrorStep {
  rate: number;
  seconds: number;
  /** Records handed to the producer. */
  sent: number;
  /** Records cluster A acknowledged. */
  acked: number;
  /** Acknowledged records that never reached B within the drain time. */
  missing: number;
  /** Records sent a second, as the schedule managed. */
  sentPerSec: number;
  /** Records reaching B a second (first → last arrival on B; at least a second). */
  copyPerSec: number;
  /** Send → acknowledged by A. */
  ack: LatencySummary;
  /** Send → read on B. */
  latency: LatencySummary;
  /** Acknowledged by A → read on B (MirrorMaker's part, A's own write taken out). */
  fromAck: LatencySummary;
  /** Worst lateness of the send schedule (ms): the client falling behind its own rate. */
  lateMs: number;
}

/** A valid user event of this run, keyed by its user. */
function benchEvent(tag: string, i: number, sentMs: number): Message {
  const user = `bench-mirror-${tag}-${i % 12}`;
  const value = {
    event_id: `bench-mirror-${tag}-e${i}`,
    user_id: user,
    session_id: `bench-mirror-${tag}`,
    type: "view",
    product_id: "bench-mirror",
    at: new Date(sentMs).toISOString(),
  };
  return { key: user, value: JSON.stringify(value), timestamp: String(sentMs) };
}

/** Send and acknowledgement times (epoch ms) of a step's records, by event id. */
interface Sent {
  sentAt: Map<string, number>;
  ackAt: Map<string, number>;
}

/**
 * Produces `rate` records a second for `seconds` on the open-loop schedule, the records that
 * came due in one tick as one send; resolves when every send has been answered.
 */
async function produceOnSchedule(o: MirrorStepOptions, tag: string) {
  const producer = o.kafkaA.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const sent: Sent = { sentAt: new Map(), ackAt: new Map() };
  const inflight = new Set<Promise<void>>();
  let pending: Message[] = [];
  const flush = () => {
    const messages = pending;
    pending = [];
    const ids = messages.map((m) => JSON.parse(String(m.value)).event_id as string);
    const job = producer.send({ topic: MIRROR_BENCH_TOPIC, acks: -1, messages })
      .then(() => ids.forEach((id) => sent.ackAt.set(id, Date.now())), () => {})
      .finally(() => inflight.delete(job));
    inflight.add(job);
  };
  try {
    const loop = await openLoop({
      rate: o.rate,
      seconds: o.seconds,
      send: (i) => {
        const now = Date.now();
        sent.sentAt.set(`bench-mirror-${tag}-e${i}`, now);
        if (pending.push(benchEvent(tag, i, now)) === 1) queueMicrotask(flush);
      },
    });
    await Promise.all(inflight);
    return { loop, sent };
  } finally {
    await producer.disconnect().catch(() => {});
  }
}

/** One offered rate: produce on schedule, wait for B, summarise. */
export async function mirrorStep(o: MirrorStepOptions): Promise<MirrorStep> {
  const prefix = `bench-mirror-${o.run}-`;
  const tag = `${o.run}-${o.rate}`;
  const watch = await watchArrivals(o.kafkaB, MIRROR_BENCH_TOPIC, (key, m) => {
    if (!key?.startsWith(prefix)) return undefined;
    const id = JSON.parse(m.value!.toString()).event_id as string;
    return id.startsWith(`bench-mirror-${tag}-e`) ? id : undefined;
  });
  try {
    const { loop, sent } = await produceOnSchedule(o, tag);
    await pollUntil("the step's records on cluster B", () => {
      for (const id of sent.ackAt.keys()) if (!watch.arrivals.has(id)) return false;
      return true;
    }, { timeoutMs: (o.drainSeconds ?? 30) * 1000, intervalMs: 200 }).catch(() => {});
    return summarise(o, loop, sent, watch.arrivals);
  } finally {
    await watch.stop();
  }
}

function summarise(
  o: MirrorStepOptions,
  loop: OpenLoopResult,
  { sentAt, ackAt }: Sent,
  arrivals: Map<string, number>,
): MirrorStep {
  const fromSend: number[] = [], fromAck: number[] = [], ack: number[] = [];
  let first = Infinity, last = 0;
  for (const [id, acked] of ackAt) {
    ack.push(acked - sentAt.get(id)!);
    const a = arrivals.get(id);
    if (a === undefined) continue;
    fromSend.push(a - sentAt.get(id)!);
    fromAck.push(a - acked);
    first = Math.min(first, a);
    last = Math.max(last, a);
  }
  return {
    rate: o.rate,
    seconds: o.seconds,
    sent: loop.calls,
    acked: ackAt.size,
    missing: ackAt.size - fromSend.length,
    sentPerSec: loop.calls / ((loop.endMs - loop.startMs) / 1000 || 1),
    copyPerSec: fromSend.length / Math.max(1, (last - first) / 1000),
    ack: latencySummary(ack),
    latency: latencySummary(fromSend),
    fromAck: latencySummary(fromAck),
    lateMs: loop.lateMs,
  };
}
