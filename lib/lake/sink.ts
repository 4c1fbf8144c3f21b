/**
 * The lake sink: Kafka topics → Parquet files on HDFS, exactly once.
 *
 * Each partition of each topic fills one file at a time, in the Hive-style folder of its
 * records' hour (`<root>/<topic>/dt=YYYY-MM-DD/hour=HH/`, by the Kafka timestamp, UTC). A file
 * holds a contiguous offset range and is named by it ({@linkcode ./layout.ts}); every offset
 * is covered by exactly one file — a range whose records all went to the DLQ gets a file with
 * no rows. A file is rolled on record count, bytes or age, or when the hour changes, and is
 * committed in three steps:
 *
 * 1. written whole under `<root>/<topic>/_tmp/` (readers skip `_` folders),
 * 2. renamed into its partition folder — HDFS renames atomically, and refuses to replace a
 *    file, so this is the commit point,
 * 3. the consumer group's offset is committed to the range's end + 1.
 *
 * A crash (kill -9) before 2 leaves a temp file, deleted when the partition is assigned
 * again; the range is read again. A crash between 2 and 3 leaves a file the group's offset
 * does not know: when a partition starts a file at an offset, the sink first looks in that
 * record's folder for a file covering the offset and, if there is one, skips its range and
 * commits past it — so no record is lost or written twice. Records that fail their schema
 * (or do not fit the columns) go to `<topic>.dlq` with the reason, never into Parquet.
 *
 * Dead letters are written once too. They are sent as their records are read, and a file is
 * renamed only once all dead letters of its range are acknowledged (so an adopted file's
 * dead letters are all in the DLQ). A range read again — after kill -9, a failed flush or a
 * rebalance — would send them again; so, like the files, the sink derives what it already
 * did from its output: on start (and when a rebalance hands it a partition it did not own)
 * it reads the DLQ topics to their end and keeps, per source partition, the source offsets
 * its group (header `dlq.lake.group`) already dead-lettered at or after the committed offset
 * ({@linkcode ./dead_letters.ts}); a record found there is not sent again. Kept current as
 * dead letters are acknowledged, pruned as offsets are committed.
 *
 * Why this and not a transaction holding the range's dead letters and offset commit: the
 * file's commit point is an HDFS rename, which no Kafka transaction can include. Committing
 * the transaction after the rename leaves, after a crash between the two, a file whose dead
 * letters were aborted — the range must then be read again for its dead letters only; before
 * the rename, a committed range whose file is missing. It also forces every DLQ reader to
 * read_committed. Why the exact set of offsets and not one watermark (the highest offset
 * dead-lettered): dead letters are spread over the DLQ's partitions by key, so a later one
 * can be acknowledged while an earlier one failed; a watermark would then skip the failed
 * one for good. The cost: each start reads the DLQ topics whole (they are small next to the
 * topics; their retention bounds it).
 *
 * One sink process per consumer group is the supported set-up; with several, a rebalance
 * can leave a revoked owner's in-flight rename racing the new owner (the rename refusal then
 * stops the later writer instead of duplicating).
 *
 * @example
 * ```ts
 * import { LakeSink } from "./sink.ts";
 * const sink = new LakeSink({ kafka, hdfs, topics: [{ topic: "orders", schema: ORDER_SCHEMA }] });
 * await sink.start();
 * // … later
 * await sink.stop(); // flushes and commits what it holds
 * ```
 * @module
 */
import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage } from "kafkajs";
import { deadLetter, dlqTopic } from "../kafka/mod.ts";
import { PartitionedProducer } from "../kafka/mod.ts";
import { compileSchema, type Validator } from "../schemas/mod.ts";
import { counter, histogram } from "../monitoring/mod.ts";
import { type Column, ColumnError, columnsFromSchema } from "./columns.ts";
import { createParquetBuffer, type ParquetBuffer, type ParquetWriterName } from "./parquet.ts";
import { fileName, parseFileName, partitionFolder, tempFolder } from "./layout.ts";
import type { WebHdfs } from "./webhdfs.ts";
import { retry, sleep } from "../env/mod.ts";
import {
  DeadLetterLedger,
  LAKE_DLQ_GROUP_HEADER,
  restoreDeadLetterLedger,
} from "./dead_letters.ts";

/** A topic the sink writes, with the JSON Schema of its events. */
export interface LakeTopic {
  topic: string;
  /** JSON Schema of the events (lib/schemas); also gives the Parquet column types. */
  schema: object;
  /**
   * Shapes each valid event into its row (e.g. flattens nested objects); a throw sends the
   * record to the DLQ. The columns then come from `table`.
   */
  transform?: (event: Record<string, unknown>) => Record<string, unknown>;
  /** JSON Schema of the rows `transform` makes (gives the columns). @default schema */
  table?: object;
}

/** Where a fault-injection crash happens (tests of the crash windows). */
export type CrashPoint = "after-temp-write" | "after-rename";

/** Options of a {@linkcode LakeSink}. */
export interface LakeSinkOptions {
  /** Kafka client. */
  kafka: Kafka;
  /** WebHDFS client. */
  hdfs: WebHdfs;
  /** Topics to write. */
  topics: LakeTopic[];
  /** Consumer group. @default "lake-sink" */
  groupId?: string;
  /** Lake root folder. @default "/lake/raw" */
  root?: string;
  /** Roll a file at this many records. @default 100000 */
  rollRecords?: number;
  /** Roll a file at about this many buffered bytes. @default 64 MiB */
  rollBytes?: number;
  /** Roll a file this long after its first record, in ms. @default 60000 */
  rollIntervalMs?: number;
  /** Parquet writer. @default "parquet-wasm" */
  writer?: ParquetWriterName;
  /** Stop once every partition is written and committed up to its end. @default false */
  drain?: boolean;
  /** Where log lines go. @default console.error */
  log?: (line: string) => void;
  /** Fault injection: kill this process with SIGKILL at that point of the n-th file. */
  crash?: { at: CrashPoint; file: number };
}

/** Counts since start. */
export interface LakeSinkStats {
  /** Records written to Parquet. */
  written: number;
  /** Records sent to the DLQ. */
  deadLettered: number;
  /** Invalid records read again whose dead letter the DLQ already held (not sent again). */
  deadLetterSkipped: number;
  /** Records skipped because a file already held them (recovery). */
  skipped: number;
  /** Files committed. */
  files: number;
  /** Files found written but not committed, adopted on recovery. */
  adopted: number;
  /** Stale temp files deleted. */
  tempCleaned: number;
}

interface Table {
  topic: string;
  columns: Column[];
  validate: Validator<Record<string, unknown>>;
  transform?: (event: Record<string, unknown>) => Record<string, unknown>;
}

interface PartState {
  table: Table;
  partition: number;
  buffer?: ParquetBuffer;
  first: bigint;
  last: bigint;
  folder: string;
  openedAt: number;
  /** False until the sink has checked HDFS for a file at its resume point. */
  verified: boolean;
  /** Offsets up to here are already in a file. */
  skipUntil: bigint;
  dlq: Promise<void>[];
  lock: Promise<void>;
  cleaned: boolean;
  /** Last offset of the partition seen as the end of the log (drain mode). */
  caughtUp: boolean;
}

const records = counter("lake_records_total", "Records handled by the lake sink", [
  "topic",
  "outcome",
]);
const filesTotal = counter("lake_files_total", "Parquet files committed to HDFS", ["topic"]);
const flushSeconds = histogram(
  "lake_flush_seconds",
  "Time to encode, write, rename and commit one file",
  ["topic"],
  [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
);

const dec = new TextDecoder("utf-8", { fatal: true });

/** See the module doc. */
export class LakeSink {
  readonly options: Required<Omit<LakeSinkOptions, "crash">> & Pick<LakeSinkOptions, "crash">;
  readonly stats: LakeSinkStats = {
    written: 0,
    deadLettered: 0,
    deadLetterSkipped: 0,
    skipped: 0,
    files: 0,
    adopted: 0,
    tempCleaned: 0,
  };
  readonly #tables = new Map<string, Table>();
  readonly #parts = new Map<string, PartState>();
  readonly #instance = `${Deno.pid}-${Math.random().toString(36).slice(2, 8)}`;
  readonly #folders = new Set<string>();
  #consumer?: Consumer;
  #admin?: Admin;
  #dlq?: PartitionedProducer;
  #timer?: ReturnType<typeof setInterval>;
  #healthy = true;
  #stopping = false;
  #drained?: () => void;
  #failed?: (err: Error) => void;
  #failures = 0;
  /** Dead letters already in the DLQ (see the module doc). */
  readonly #ledger = new DeadLetterLedger();
  /** The restore of {@linkcode #ledger} the next batch waits for, if any. */
  #restoring?: Promise<void>;
  readonly #owned = new Set<string>();

  constructor(options: LakeSinkOptions) {
    const {
      kafka,
      hdfs,
      topics,
      groupId = "lake-sink",
      root = "/lake/raw",
      rollRecords = 100_000,
      rollBytes = 64 * 1024 * 1024,
      rollIntervalMs = 60_000,
      writer = "parquet-wasm",
      drain = false,
      log = (line: string) => console.error(line),
      crash,
    } = options;
    if (topics.length === 0) throw new RangeError("Cannot start the lake sink without 'topics'");
    const positive = (name: string, v: number) => {
      if (!Number.isInteger(v) || v < 1) {
        throw new RangeError(
          `Cannot start the lake sink as '${name}' must be a positive integer: current value is ${v}`,
        );
      }
    };
    positive("rollRecords", rollRecords);
    positive("rollBytes", rollBytes);
    positive("rollIntervalMs", rollIntervalMs);
    if (!root.startsWith("/")) {
      throw new RangeError(
        `Cannot start the lake sink as 'root' must be an absolute HDFS path: current value is '${root}'`,
      );
    }
    for (const t of topics) {
      this.#tables.set(t.topic, {
        topic: t.topic,
        columns: columnsFromSchema(t.table ?? t.schema),
        transform: t.transform,
        validate: compileSchema<Record<string, unknown>>(t.schema),
      });
    }
    this.options = {
      kafka,
      hdfs,
      topics,
      groupId,
      root,
      rollRecords,
      rollBytes,
      rollIntervalMs,
      writer,
      drain,
      log,
      crash,
    };
  }

  /** Whether the sink is working (no repeated HDFS or Kafka failure). */
  get healthy(): boolean {
    return this.#healthy;
  }

  /** Connects, joins the group and starts writing. */
  async start(): Promise<void> {
    const { kafka, groupId, topics } = this.options;
    this.#dlq = new PartitionedProducer(kafka);
    await this.#dlq.connect();
    this.#admin = kafka.admin();
    await this.#admin.connect();
    await this.#restoreLedger();
    this.#consumer = kafka.consumer({
      groupId,
      sessionTimeout: 10_000,
      rebalanceTimeout: 30_000,
      heartbeatInterval: 1_000,
      maxBytesPerPartition: 8 * 1024 * 1024,
      maxBytes: 32 * 1024 * 1024,
      maxWaitTimeInMs: 500,
    });
    await this.#consumer.connect();
    this.#consumer.on(this.#consumer.events.GROUP_JOIN, ({ payload }) => {
      const assigned = new Set<string>();
      for (const [topic, parts] of Object.entries(payload.memberAssignment)) {
        for (const p of parts as number[]) assigned.add(`${topic}/${p}`);
      }
      for (const key of [...this.#parts.keys()]) {
        if (!assigned.has(key)) this.#parts.delete(key);
      }
      // A partition another sink owned until now: read what it dead-lettered first.
      const gained = [...assigned].filter((k) => !this.#owned.has(k));
      if (this.#owned.size > 0 && gained.length > 0) this.#restoring = this.#restoreLedger();
      this.#owned.clear();
      for (const k of assigned) this.#owned.add(k);
      for (const key of assigned) {
        // A partition (re)assigned starts over from the committed offset, re-checking HDFS.
        const st = this.#parts.get(key);
        if (st) this.#reset(st);
      }
      this.options.log(`lake sink assigned ${[...assigned].sort().join(", ") || "nothing"}`);
    });
    for (const t of topics) await this.#consumer.subscribe({ topic: t.topic, fromBeginning: true });
    await this.#consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.#eachBatch(payload),
    });
    const tick = Math.min(1_000, Math.max(100, Math.floor(this.options.rollIntervalMs / 4)));
    this.#timer = setInterval(() => {
      this.#rollAged();
      if (this.options.drain) void this.#checkDrained();
    }, tick);
  }

  /**
   * Resolves when drain mode has written and committed everything (never without drain);
   * rejects when the sink fails 5 times in a row.
   */
  drained(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#drained = resolve;
      this.#failed = reject;
      if (this.options.drain) void this.#checkDrained();
    });
  }

  /** Flushes and commits what is buffered, then leaves the group and disconnects. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    clearInterval(this.#timer);
    await this.#consumer?.pause(this.options.topics.map((t) => ({ topic: t.topic })));
    for (const st of this.#parts.values()) {
      await this.#locked(st, () => this.#flush(st)).catch((err) =>
        this.options.log(`lake sink: final flush of ${key(st)} failed: ${err.message}`)
      );
    }
    await this.#consumer?.disconnect().catch(() => {});
    await this.#dlq?.disconnect().catch(() => {});
    await this.#admin?.disconnect().catch(() => {});
  }

  async #restoreLedger(): Promise<void> {
    const { kafka, groupId, topics, log } = this.options;
    // Transient errors (a coordinator still loading after a broker restart) are retried.
    const restored = await retry(() =>
      restoreDeadLetterLedger({
        kafka,
        admin: this.#admin!,
        groupId,
        topics: topics.map((t) => t.topic),
        log,
      }), { attempts: 5, delayMs: 1_000 });
    this.#ledger.merge(restored);
  }

  #state(topic: string, partition: number): PartState {
    const k = `${topic}/${partition}`;
    let st = this.#parts.get(k);
    if (!st) {
      st = {
        table: this.#tables.get(topic)!,
        partition,
        first: -1n,
        last: -1n,
        folder: "",
        openedAt: 0,
        verified: false,
        skipUntil: -1n,
        dlq: [],
        lock: Promise.resolve(),
        cleaned: false,
        caughtUp: false,
      };
      this.#parts.set(k, st);
    }
    return st;
  }

  #reset(st: PartState): void {
    st.buffer = undefined;
    st.first = st.last = -1n;
    st.verified = false;
    st.skipUntil = -1n;
    st.dlq = [];
    st.caughtUp = false;
  }

  #locked<T>(st: PartState, fn: () => Promise<T>): Promise<T> {
    const run = st.lock.then(fn);
    st.lock = run.then(() => {}, () => {});
    return run;
  }

  async #eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    const st = this.#state(batch.topic, batch.partition);
    await this.#locked(st, async () => {
      try {
        if (this.#restoring) {
          const beat = setInterval(() => void heartbeat().catch(() => {}), 1_000);
          try {
            await this.#restoring;
          } catch (err) {
            this.#restoring = undefined;
            throw err;
          } finally {
            clearInterval(beat);
          }
          this.#restoring = undefined;
        }
        if (!st.cleaned) await this.#cleanTemp(st);
        for (const m of batch.messages) {
          if (!isRunning() || isStale() || this.#stopping) return;
          await this.#record(st, m);
          resolveOffset(m.offset);
        }
        const end = BigInt(batch.highWatermark) - 1n;
        st.caughtUp = st.last >= end || st.skipUntil >= end;
        if (this.options.drain && st.caughtUp) await this.#flush(st);
        else if (st.buffer && Date.now() - st.openedAt >= this.options.rollIntervalMs) {
          await this.#flush(st);
        }
        this.#healthy = true;
        this.#failures = 0;
      } catch (err) {
        // HDFS or Kafka failed: forget the buffer and read the range again from its start.
        this.#healthy = false;
        if (++this.#failures >= 5 && this.options.drain) {
          this.#failed?.(
            new Error(`lake sink gave up after 5 failures in a row: ${(err as Error).message}`),
          );
        }
        const from = st.first >= 0n ? st.first : undefined;
        this.options.log(
          `lake sink: ${key(st)} failed (${(err as Error).message}); retrying${
            from !== undefined ? ` from offset ${from}` : ""
          }`,
        );
        this.#reset(st);
        if (from !== undefined) {
          this.#consumer!.seek({
            topic: st.table.topic,
            partition: st.partition,
            offset: `${from}`,
          });
        }
        await sleep(1_000);
        return;
      }
      await heartbeat();
    });
    if (this.options.drain) void this.#checkDrained();
  }

  async #record(st: PartState, m: KafkaMessage): Promise<void> {
    const offset = BigInt(m.offset);
    const topic = st.table.topic;
    if (offset <= st.skipUntil) {
      this.stats.skipped++;
      records.inc({ topic, outcome: "skipped" });
      return;
    }
    const ts = Number(m.timestamp);
    const folder = partitionFolder(this.options.root, topic, ts);
    if (st.buffer && folder !== st.folder) await this.#flush(st);
    if (!st.buffer) {
      if (!st.verified) {
        const existing = await this.#findCovering(folder, st, offset);
        if (existing !== undefined) {
          this.stats.adopted++;
          this.options.log(
            `lake sink: ${
              key(st)
            } offsets ${offset}..${existing} are already in HDFS; skipping them`,
          );
          st.skipUntil = existing;
          await this.#commit(st, existing + 1n);
          this.stats.skipped++;
          records.inc({ topic, outcome: "skipped" });
          return;
        }
        st.verified = true;
      }
      st.buffer = await createParquetBuffer(this.options.writer, st.table.columns);
      st.first = offset;
      st.folder = folder;
      st.openedAt = Date.now();
    }
    st.last = offset;
    let event: Record<string, unknown>;
    let stage = "decode";
    try {
      const parsed = JSON.parse(m.value ? dec.decode(m.value) : "null");
      stage = "validate";
      const v = st.table.validate(parsed);
      if (!v.ok) throw new Error(v.error);
      stage = "column";
      event = st.table.transform ? st.table.transform(v.value) : v.value;
      st.buffer.append(event, { partition: st.partition, offset, timestamp: ts });
    } catch (err) {
      if (this.#ledger.has(topic, st.partition, offset)) {
        // Dead-lettered before this range was read again: once is enough.
        this.stats.deadLetterSkipped++;
        records.inc({ topic, outcome: "dlq_skipped" });
        return;
      }
      const reason = err instanceof ColumnError || stage !== "column"
        ? (err as Error).message
        : String(err);
      this.stats.deadLettered++;
      records.inc({ topic, outcome: "dlq" });
      const base = deadLetter(
        {
          topic,
          partition: st.partition,
          offset: m.offset,
          key: m.key,
          value: m.value,
          headers: m.headers,
        },
        reason,
        stage,
      );
      const letter = {
        ...base,
        headers: { ...base.headers, [LAKE_DLQ_GROUP_HEADER]: this.options.groupId },
      };
      const partition = st.partition;
      st.dlq.push(
        this.#dlq!.send(dlqTopic(topic), letter).then(() =>
          this.#ledger.add(topic, partition, offset)
        ),
      );
      return;
    }
    if (st.buffer.rows >= this.options.rollRecords || st.buffer.bytes >= this.options.rollBytes) {
      await this.#flush(st);
    }
  }

  /** The last offset of a committed file in `folder` holding `offset`, if there is one. */
  async #findCovering(folder: string, st: PartState, offset: bigint): Promise<bigint | undefined> {
    for (const f of await this.options.hdfs.list(folder)) {
      const p = parseFileName(f.pathSuffix);
      if (
        p && p.topic === st.table.topic && p.partition === st.partition && p.first <= offset &&
        offset <= p.last
      ) {
        return p.last;
      }
    }
    return undefined;
  }

  async #cleanTemp(st: PartState): Promise<void> {
    const dir = tempFolder(this.options.root, st.table.topic);
    const prefix = `${st.table.topic}+${st.partition}+`;
    for (const f of await this.options.hdfs.list(dir)) {
      if (f.pathSuffix.startsWith(prefix)) {
        await this.options.hdfs.delete(`${dir}/${f.pathSuffix}`);
        this.stats.tempCleaned++;
        this.options.log(`lake sink: deleted stale temp file ${dir}/${f.pathSuffix}`);
      }
    }
    st.cleaned = true;
  }

  async #flush(st: PartState): Promise<void> {
    const buffer = st.buffer;
    if (!buffer) return;
    const topic = st.table.topic;
    const started = performance.now();
    await Promise.all(st.dlq);
    const bytes = await buffer.encode();
    const name = fileName(topic, st.partition, st.first, st.last);
    const tmp = `${tempFolder(this.options.root, topic)}/${name}.${this.#instance}.tmp`;
    const { hdfs } = this.options;
    await hdfs.write(tmp, bytes, { overwrite: true });
    this.#maybeCrash("after-temp-write");
    if (!this.#folders.has(st.folder)) {
      await hdfs.mkdirs(st.folder);
      this.#folders.add(st.folder);
    }
    const target = `${st.folder}/${name}`;
    if (!(await hdfs.rename(tmp, target))) {
      await hdfs.delete(tmp).catch(() => false);
      throw new Error(
        `HDFS refused to rename ${tmp} to ${target}: ${
          (await hdfs.stat(target)) ? "the target exists (another writer?)" : "rename failed"
        }`,
      );
    }
    this.stats.files++;
    this.stats.written += buffer.rows;
    records.inc({ topic, outcome: "written" }, buffer.rows);
    filesTotal.inc({ topic });
    this.#maybeCrash("after-rename");
    const next = st.last + 1n;
    st.buffer = undefined;
    st.dlq = [];
    await this.#commit(st, next);
    flushSeconds.observe({ topic }, (performance.now() - started) / 1000);
  }

  #maybeCrash(at: CrashPoint): void {
    const crash = this.options.crash;
    if (
      crash && crash.at === at && this.stats.files + (at === "after-rename" ? 0 : 1) === crash.file
    ) {
      this.options.log(`lake sink: fault injection: SIGKILL ${at} of file ${crash.file}`);
      Deno.kill(Deno.pid, "SIGKILL");
    }
  }

  async #commit(st: PartState, next: bigint): Promise<void> {
    try {
      await this.#consumer!.commitOffsets([
        { topic: st.table.topic, partition: st.partition, offset: `${next}` },
      ]);
      this.#ledger.prune(st.table.topic, st.partition, next);
    } catch (err) {
      // The files in HDFS are the truth; a later commit or the next start catches up.
      this.options.log(
        `lake sink: committing ${key(st)} at ${next} failed: ${(err as Error).message}`,
      );
    }
  }

  #rollAged(): void {
    const now = Date.now();
    for (const st of this.#parts.values()) {
      if (st.buffer && now - st.openedAt >= this.options.rollIntervalMs) {
        void this.#locked(st, async () => {
          if (st.buffer && Date.now() - st.openedAt >= this.options.rollIntervalMs) {
            await this.#flush(st);
          }
        }).catch((err) => {
          this.#healthy = false;
          this.options.log(`lake sink: time roll of ${key(st)} failed: ${err.message}`);
        });
      }
    }
  }

  #checking = false;

  async #checkDrained(): Promise<void> {
    if (this.#checking || !this.#drained) return;
    this.#checking = true;
    try {
      const { groupId } = this.options;
      for (const t of this.options.topics) {
        const ends = await this.#admin!.fetchTopicOffsets(t.topic);
        const [committed] = await this.#admin!.fetchOffsets({ groupId, topics: [t.topic] });
        for (const e of ends) {
          const c = committed.partitions.find((p) => p.partition === e.partition);
          const done = c && BigInt(c.offset) >= BigInt(e.high);
          if (!done && BigInt(e.high) > 0n) return;
        }
      }
      this.#drained();
    } catch (err) {
      // Called without await (timer, batches): a transient admin error (e.g. the group
      // coordinator still loading) must not crash the process; the next tick asks again.
      this.options.log(`lake sink: drain check failed: ${(err as Error).message}`);
    } finally {
      this.#checking = false;
    }
  }
}

function key(st: PartState): string {
  return `${st.table.topic}/${st.partition}`;
}
