/**
 * The lake sink's record of what it already dead-lettered, derived from the DLQ topics
 * themselves — so a dead letter is written once even when its source range is read again
 * (after kill -9, a failed flush or a rebalance).
 *
 * Every dead letter the sink writes carries, besides the house headers of
 * {@linkcode ../kafka/dlq.ts} (`dlq.source.topic/partition/offset`), the header
 * {@linkcode LAKE_DLQ_GROUP_HEADER} naming the sink's consumer group: another application
 * dead-lettering the same topic (or an older sink) is not mistaken for this one.
 *
 * A {@linkcode DeadLetterLedger} holds, per source partition, the source offsets already
 * dead-lettered at or after the group's committed offset (below it nothing is read again, so
 * nothing is kept). It is filled on start by {@linkcode restoreDeadLetterLedger} — one read of
 * the DLQ topics from their beginning to their end at that moment — then kept current by the
 * sink as each dead letter is acknowledged, and pruned as offsets are committed.
 *
 * @example
 * ```ts
 * import { DeadLetterLedger } from "./dead_letters.ts";
 * const ledger = new DeadLetterLedger();
 * ledger.add("orders", 0, 42n);
 * ledger.has("orders", 0, 42n); // true: do not send it again
 * ledger.prune("orders", 0, 100n); // offsets below 100 are committed
 * ```
 * @module
 */
import type { Admin, IHeaders, Kafka } from "kafkajs";
import { DLQ_HEADERS, dlqTopic } from "../kafka/mod.ts";

/** Header naming the lake sink's consumer group on the dead letters it writes. */
export const LAKE_DLQ_GROUP_HEADER = "dlq.lake.group";

/** Source partition and offset of a dead letter. */
export interface DeadLetterSource {
  topic: string;
  partition: number;
  offset: bigint;
}

function header(headers: IHeaders | undefined, name: string): string | undefined {
  const v = headers?.[name];
  const one = Array.isArray(v) ? v[v.length - 1] : v;
  if (one === undefined || one === null) return undefined;
  return typeof one === "string" ? one : new TextDecoder().decode(one);
}

/**
 * The source of a dead letter written by the lake sink of `group`, or undefined when the
 * record is not one (another writer, or headers missing or malformed).
 */
export function deadLetterSource(
  headers: IHeaders | undefined,
  group: string,
): DeadLetterSource | undefined {
  if (header(headers, LAKE_DLQ_GROUP_HEADER) !== group) return undefined;
  const topic = header(headers, DLQ_HEADERS.topic);
  const partition = Number(header(headers, DLQ_HEADERS.partition));
  const offset = header(headers, DLQ_HEADERS.offset);
  if (!topic || !Number.isInteger(partition) || partition < 0 || !/^\d+$/.test(offset ?? "")) {
    return undefined;
  }
  return { topic, partition, offset: BigInt(offset!) };
}

/** Source offsets already dead-lettered, per source partition. See the module doc. */
export class DeadLetterLedger {
  readonly #sent = new Map<string, Set<bigint>>();

  /** Whether the record at `offset` of `topic/partition` is already in the DLQ. */
  has(topic: string, partition: number, offset: bigint): boolean {
    return this.#sent.get(`${topic}/${partition}`)?.has(offset) ?? false;
  }

  /** Records that the dead letter of `offset` is acknowledged. */
  add(topic: string, partition: number, offset: bigint): void {
    const k = `${topic}/${partition}`;
    let s = this.#sent.get(k);
    if (!s) this.#sent.set(k, s = new Set());
    s.add(offset);
  }

  /** Forgets the offsets below `next` (committed: they are not read again). */
  prune(topic: string, partition: number, next: bigint): void {
    const s = this.#sent.get(`${topic}/${partition}`);
    if (!s) return;
    for (const o of s) if (o < next) s.delete(o);
  }

  /** Adds every entry of `other` (a restore merged with what was acknowledged meanwhile). */
  merge(other: DeadLetterLedger): void {
    for (const [k, s] of other.#sent) {
      const mine = this.#sent.get(k) ?? new Set<bigint>();
      for (const o of s) mine.add(o);
      this.#sent.set(k, mine);
    }
  }

  /** Number of offsets held. */
  get size(): number {
    let n = 0;
    for (const s of this.#sent.values()) n += s.size;
    return n;
  }
}

/** Options of {@linkcode restoreDeadLetterLedger}. */
export interface RestoreOptions {
  kafka: Kafka;
  admin: Admin;
  /** The sink's consumer group (its committed offsets and its dead letters' header). */
  groupId: string;
  /** Source topics; their DLQs are read. */
  topics: string[];
  /** Give up waiting for the last records after this long without one, in ms. @default 5000 */
  quietMs?: number;
  /** Where log lines go. */
  log?: (line: string) => void;
}

/**
 * Reads the DLQ topics of `topics` from their beginning to their end offsets of now and
 * returns the ledger of the dead letters `groupId`'s sink wrote at or after the group's
 * committed offsets. Uses a consumer group of its own (`<groupId>.dlq-restore`) that never
 * commits, so each restore reads from the beginning.
 */
export async function restoreDeadLetterLedger(options: RestoreOptions): Promise<DeadLetterLedger> {
  const { kafka, admin, groupId, topics, quietMs = 5_000, log = () => {} } = options;
  const ledger = new DeadLetterLedger();
  const existing = new Set(await admin.listTopics());
  const floors = new Map<string, bigint>();
  for (const t of await admin.fetchOffsets({ groupId, topics })) {
    for (const p of t.partitions) {
      floors.set(`${t.topic}/${p.partition}`, BigInt(p.offset) < 0n ? 0n : BigInt(p.offset));
    }
  }
  // What is left to read: DLQ partition → its end offset now.
  const left = new Map<string, bigint>();
  const dlqs = topics.map(dlqTopic).filter((t) => existing.has(t));
  for (const dlq of dlqs) {
    for (const p of await admin.fetchTopicOffsets(dlq)) {
      if (BigInt(p.high) > BigInt(p.low)) left.set(`${dlq}/${p.partition}`, BigInt(p.high));
    }
  }
  if (left.size === 0) return ledger;
  const consumer = kafka.consumer({
    groupId: `${groupId}.dlq-restore`,
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
    maxWaitTimeInMs: 250,
  });
  await consumer.connect();
  try {
    let done!: () => void;
    const finished = new Promise<void>((resolve) => done = resolve);
    let lastProgress = Date.now();
    let started = false;
    let read = 0;
    for (const dlq of dlqs) await consumer.subscribe({ topic: dlq, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        lastProgress = Date.now();
        started = true;
        for (const m of batch.messages) {
          read++;
          const src = deadLetterSource(m.headers, groupId);
          if (src && src.offset >= (floors.get(`${src.topic}/${src.partition}`) ?? 0n)) {
            ledger.add(src.topic, src.partition, src.offset);
          }
        }
        const k = `${batch.topic}/${batch.partition}`;
        const end = left.get(k);
        if (end !== undefined && BigInt(batch.lastOffset()) + 1n >= end) left.delete(k);
        if (left.size === 0) done();
        await Promise.resolve();
      },
    });
    // Trailing transaction markers are never delivered: a quiet partition counts as read.
    const timer = setInterval(() => {
      // Before the first batch the group join takes its time (seconds): wait longer then.
      if (Date.now() - lastProgress >= (started ? quietMs : 6 * quietMs)) {
        log(
          `lake sink: DLQ restore: no record for ${quietMs} ms; taking ${[...left.keys()]} as read`,
        );
        done();
      }
    }, 250);
    await finished;
    clearInterval(timer);
    log(`lake sink: DLQ restore read ${read} dead letters; ${ledger.size} not yet committed`);
  } finally {
    await consumer.disconnect().catch(() => {});
  }
  return ledger;
}
