/**
 * Reads topics "up to their end": the end offsets are taken once, when the read begins (per
 * partition, with the admin's `fetchTopicOffsets`), and every partition is consumed from its
 * start — its first offset, or an offset given, e.g. one {@linkcode offsetsNow} took earlier —
 * until the reader's position reaches that end. Records written later are not waited for.
 *
 * The transaction-marker rule lives in one place, {@linkcode partitionDone}: the high watermark
 * of a transactional partition counts the commit (or abort) marker, so its last record sits
 * below `end - 1`, and a read_committed consumer is never handed the marker itself. The reader
 * therefore counts what a fetch *covered* — kafkajs' `batch.lastOffset()`, markers and aborted
 * records included — never only what it was handed.
 *
 * kafkajs has no group-less consumer (no `assign`): each read joins a throw-away consumer
 * group of its own that commits nothing and is deleted afterwards (best effort). Decoding is
 * the caller's: records come back as bytes.
 *
 * @example
 * ```ts
 * import { offsetsNow, readTopicRange } from "./topic_range.ts";
 * const since = await offsetsNow(kafka, ["orders"]);
 * // … the code under test writes to orders …
 * const records = await readTopicRange(kafka, { topics: ["orders"], from: since });
 * console.log(records.map((r) => r.value?.toString()));
 * ```
 * @module
 */
import type { Admin, IHeaders, Kafka } from "kafkajs";
import { pollUntil } from "../env/mod.ts";

/** Offsets of one topic: partition → offset. */
export type PartitionOffsets = Record<number, number>;

/** Offsets of several topics: topic → partition → offset. */
export type TopicOffsets = Record<string, PartitionOffsets>;

/** One record of a topic range, undecoded. */
export interface TopicRecord {
  topic: string;
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
  /** Kafka's record timestamp, ms since the epoch as a string (as kafkajs gives it). */
  timestamp: string;
}

/** The offsets of one partition to read: from `start` (inclusive) to `end` (exclusive). */
export interface PartitionRange {
  topic: string;
  partition: number;
  start: number;
  end: number;
}

/** One partition of the admin's `fetchTopicOffsets` answer. */
export interface PartitionWatermarks {
  partition: number;
  high: string;
  low?: string;
}

/** The end offsets (high watermarks) of a topic's partitions, from `fetchTopicOffsets`. */
export function topicEnds(partitions: readonly PartitionWatermarks[]): PartitionOffsets {
  return Object.fromEntries(partitions.map((p) => [p.partition, Number(p.high)]));
}

/**
 * The ranges to read: every partition of every topic in `now` (its `fetchTopicOffsets`
 * answer), from `from[topic][partition]` — or the partition's first offset when not given —
 * to its high watermark now.
 */
export function rangesToRead(
  now: Record<string, readonly PartitionWatermarks[]>,
  from: TopicOffsets = {},
): PartitionRange[] {
  const ranges: PartitionRange[] = [];
  for (const [topic, partitions] of Object.entries(now)) {
    for (const p of [...partitions].sort((a, b) => a.partition - b.partition)) {
      const start = from[topic]?.[p.partition] ?? Number(p.low ?? 0);
      ranges.push({ topic, partition: p.partition, start, end: Number(p.high) });
    }
  }
  return ranges;
}

/**
 * Whether a partition has been read to its end, given `covered`: the last offset any fetch of
 * it covered (undefined: none yet). The one place of the transaction-marker rule.
 *
 * "Covered" counts what kafkajs never hands over — transaction markers (control records) and
 * records of aborted transactions — as its `batch.lastOffset()` does. The high watermark counts
 * them too, so `covered + 1 >= end` holds exactly when everything below `end` was read. Counting
 * only the records handed over would wait forever on a transactional partition (its offset
 * `end - 1` is a commit marker, never handed to anyone); guessing "`end - 2` is the end" would
 * stop one record short on a partition written without transactions.
 */
export function partitionDone(range: PartitionRange, covered: number | undefined): boolean {
  if (range.end <= range.start) return true; // nothing written since the start
  return covered !== undefined && covered + 1 >= range.end;
}

/** What a read has reached so far, per partition (`topic/partition` → last offset covered). */
export type Coverage = Map<string, number>;

/** Key of a partition in a {@linkcode Coverage}. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

/** The ranges not read to their end yet. */
export function pendingRanges(ranges: readonly PartitionRange[], coverage: Coverage) {
  return ranges.filter((r) => !partitionDone(r, coverage.get(partitionKey(r.topic, r.partition))));
}

/**
 * What a read waited for and what it saw, for a timeout: each pending partition with its
 * position (one past the last offset covered, or the start when nothing came) and end.
 */
export function describePending(
  ranges: readonly PartitionRange[],
  coverage: Coverage,
  records: number,
): string {
  const pending = pendingRanges(ranges, coverage);
  const where = pending.map((r) => {
    const covered = coverage.get(partitionKey(r.topic, r.partition));
    const position = covered === undefined ? `${r.start} (nothing fetched)` : `${covered + 1}`;
    return `${r.topic}/${r.partition} at ${position} of end ${r.end}`;
  });
  return `${pending.length} of ${ranges.length} partitions short of their end (${
    where.join(", ")
  }); ${records} records read`;
}

/** Raised when a range read does not reach its ends in time; says what it waited for. */
export class TopicRangeTimeoutError extends Error {
  constructor(
    readonly topics: readonly string[],
    readonly timeoutMs: number,
    readonly detail: string,
  ) {
    super(`Cannot read ${topics.join(", ")} to their end within ${timeoutMs} ms: ${detail}`);
    this.name = "TopicRangeTimeoutError";
  }
}

/**
 * The high watermarks of `topics` now (the offsets a later read starts "since"). A topic that
 * does not exist yet has no partitions: `{}`, so a later read takes it from its beginning.
 */
export async function offsetsNow(kafka: Kafka, topics: readonly string[]): Promise<TopicOffsets> {
  return await withAdmin(kafka, async (admin) => {
    const now = await watermarks(admin, topics);
    return Object.fromEntries(topics.map((t) => [t, topicEnds(now[t] ?? [])]));
  });
}

async function withAdmin<T>(kafka: Kafka, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** `fetchTopicOffsets` of each existing topic (missing ones are left out, not retried). */
async function watermarks(
  admin: Admin,
  topics: readonly string[],
): Promise<Record<string, PartitionWatermarks[]>> {
  const existing = new Set(await admin.listTopics());
  const out: Record<string, PartitionWatermarks[]> = {};
  for (const t of topics) {
    if (existing.has(t)) out[t] = await admin.fetchTopicOffsets(t);
  }
  return out;
}

/** Options of {@linkcode readTopicRange}. */
export interface TopicRangeOptions {
  /** Topics to read. A topic that does not exist reads as empty. */
  topics: readonly string[];
  /**
   * Where each partition starts (e.g. {@linkcode offsetsNow} taken earlier); a partition not
   * given starts at its first offset.
   */
  from?: TopicOffsets;
  /** Keep only the records this accepts (the rest are not held in memory). @default all */
  keep?: (record: TopicRecord) => boolean;
  /** Read records of open and aborted transactions too. @default false (read_committed) */
  readUncommitted?: boolean;
  /**
   * The consumer group to read in; it commits nothing and is deleted afterwards (the
   * principal needs READ on it). @default `topic-range-<uuid>`
   */
  groupId?: string;
  /** Give up (with {@linkcode TopicRangeTimeoutError}) after this long. @default 60000 */
  timeoutMs?: number;
}

/**
 * Reads every record of `topics` from their start offsets to the ends they have now, in
 * offset order per partition. Throws {@linkcode TopicRangeTimeoutError} naming each partition
 * still short of its end when `timeoutMs` passes.
 */
export async function readTopicRange(
  kafka: Kafka,
  options: TopicRangeOptions,
): Promise<TopicRecord[]> {
  return (await readRange(kafka, options)).records;
}

/** Options of {@linkcode readTopicUntil}. */
export interface TopicUntilOptions extends Omit<TopicRangeOptions, "timeoutMs"> {
  /** Done when this holds of the records kept so far. */
  until: (records: TopicRecord[]) => boolean;
  /** What the caller waits for, for the timeout's message. */
  what: string;
  /** Give up after this long, in all. @default 60000 */
  timeoutMs?: number;
  /** Pause between two reads. @default 500 */
  intervalMs?: number;
}

/**
 * Reads `topics` to their end again and again — each read from where the last one ended —
 * until `until` holds of every record kept so far; returns them. For records still being
 * written: the last read reaches the end the topics had then.
 */
export async function readTopicUntil(
  kafka: Kafka,
  options: TopicUntilOptions,
): Promise<TopicRecord[]> {
  const { until, what, timeoutMs = 60_000, intervalMs = 500, ...range } = options;
  const deadline = Date.now() + timeoutMs;
  const records: TopicRecord[] = [];
  let from = range.from;
  await pollUntil(what, async () => {
    const read = await readRange(kafka, {
      ...range,
      from,
      timeoutMs: Math.max(1_000, deadline - Date.now()),
    });
    records.push(...read.records);
    from = read.ends;
    return until(records);
  }, { timeoutMs, intervalMs });
  return records;
}

/** A range read: the records kept and the end offsets it read to. */
async function readRange(
  kafka: Kafka,
  options: TopicRangeOptions,
): Promise<{ records: TopicRecord[]; ends: TopicOffsets }> {
  const { topics, from = {}, keep = () => true, readUncommitted = false } = options;
  const { groupId = `topic-range-${crypto.randomUUID()}`, timeoutMs = 60_000 } = options;
  return await withAdmin(kafka, async (admin) => {
    const now = await watermarks(admin, topics);
    const ends: TopicOffsets = Object.fromEntries(
      topics.map((t) => [t, { ...from[t], ...topicEnds(now[t] ?? []) }]),
    );
    const ranges = rangesToRead(now, from);
    if (pendingRanges(ranges, new Map()).length === 0) return { records: [], ends };
    try {
      const opts = { keep, readUncommitted, groupId, timeoutMs };
      return { records: await consumeRanges(kafka, ranges, opts), ends };
    } finally {
      await admin.deleteGroups([groupId]).catch(() => {}); // it committed nothing
    }
  });
}

/** Consumes `ranges` (at least one pending) in a group of its own; the records kept. */
async function consumeRanges(
  kafka: Kafka,
  ranges: PartitionRange[],
  o: Required<Pick<TopicRangeOptions, "keep" | "readUncommitted" | "groupId" | "timeoutMs">>,
): Promise<TopicRecord[]> {
  const todo = pendingRanges(ranges, new Map());
  const byKey = new Map(todo.map((r) => [partitionKey(r.topic, r.partition), r]));
  const topics = [...new Set(todo.map((r) => r.topic))];
  const coverage: Coverage = new Map();
  const lastKept = new Map<string, number>();
  const records: TopicRecord[] = [];
  const consumer = kafka.consumer({
    groupId: o.groupId,
    readUncommitted: o.readUncommitted,
    maxWaitTimeInMs: 200,
  });
  let finish: (error?: Error) => void = () => {};
  const finished = new Promise<void>((resolve, reject) => {
    finish = (error) => error ? reject(error) : resolve();
  });
  finished.catch(() => {}); // awaited below; a timeout during the join is not "unhandled"
  const cover = (topic: string, partition: number, lastOffset: string) => {
    const key = partitionKey(topic, partition);
    coverage.set(key, Math.max(coverage.get(key) ?? -1, Number(lastOffset)));
    if (pendingRanges(todo, coverage).length === 0) finish();
  };
  const timer = setTimeout(
    () =>
      finish(
        new TopicRangeTimeoutError(
          topics,
          o.timeoutMs,
          describePending(todo, coverage, records.length),
        ),
      ),
    o.timeoutMs,
  );
  // Before the first fetch: every partition of the topics to its start (a partition already
  // read to its end, to that end, so nothing of it is fetched).
  const seeks = ranges.filter((r) => topics.includes(r.topic));
  consumer.on(consumer.events.GROUP_JOIN, () => {
    for (const r of seeks) {
      const offset = String(Math.min(r.start, r.end));
      consumer.seek({ topic: r.topic, partition: r.partition, offset });
    }
  });
  // A fetch of only markers or aborted records never reaches eachBatch: this says how far it went.
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    cover(payload.topic, payload.partition, payload.lastOffset);
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) finish(payload.error);
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: ({ batch }) => {
        const key = partitionKey(batch.topic, batch.partition);
        const range = byKey.get(key);
        for (const m of batch.messages) {
          const offset = Number(m.offset);
          if (!range || offset < range.start || offset >= range.end) continue;
          if (offset <= (lastKept.get(key) ?? -1)) continue; // fetched twice (a seek raced it)
          lastKept.set(key, offset);
          const record: TopicRecord = {
            topic: batch.topic,
            partition: batch.partition,
            offset,
            key: m.key ?? null,
            value: m.value ?? null,
            headers: m.headers ?? {},
            timestamp: m.timestamp,
          };
          try {
            if (o.keep(record)) records.push(record);
          } catch (err) {
            finish(err instanceof Error ? err : new Error(String(err))); // the caller's filter
            return Promise.resolve();
          }
        }
        cover(batch.topic, batch.partition, batch.lastOffset());
        return Promise.resolve();
      },
    });
    await finished;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => {});
  }
  return records;
}
