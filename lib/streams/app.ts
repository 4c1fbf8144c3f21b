/**
 * A stream processor: source topic(s) → a function → sink topic(s), with tables, a
 * dead-letter topic and exactly-once processing on kafkajs.
 *
 * **Exactly-once** (`guarantee: "exactly_once"`, the default) follows Kafka Streams'
 * EOS-v1 scheme, because kafkajs has no KIP-447 consumer-group-metadata fencing: every
 * source partition has its own transactional producer with the id
 * `<appId>-<topic>-<partition>`. For each fetched batch of a partition the processor runs the
 * function on every record, then in ONE transaction of that partition's producer writes the
 * outputs, the table changes (changelog records) and the dead letters, sends the consumed
 * offsets (`sendOffsets`), and commits. Whoever owns a partition — this instance, a new
 * instance after a crash (kill -9) or another member after a rebalance — initialises the
 * partition's transactional id first, which aborts the previous owner's open transaction and
 * fences it (its next request fails with INVALID_PRODUCER_EPOCH), and only then reads the
 * partition's committed offset; records below it are skipped. Readers of the outputs use
 * `read_committed`.
 *
 * **At-least-once** (`guarantee: "at_least_once"`): an idempotent producer per source
 * partition; outputs are acknowledged before the offsets are committed, so a crash can repeat,
 * never lose, work.
 *
 * Records that fail to decode/validate, or whose function throws, go to `<topic>.dlq`
 * (headers: reason, stage, source topic, partition, offset) in the same transaction; the
 * processor keeps running. Counters move only after commit, so per source topic
 * `in = out + filtered + dlq`.
 *
 * @example
 * ```ts
 * import { StreamApp } from "./app.ts";
 * const app = new StreamApp(kafka, {
 *   appId: "uppercase",
 *   sources: [{
 *     topic: "words",
 *     decode: (bytes) => bytes!.toString("utf8"),
 *     process: (record, ctx) => ctx.send("WORDS", { key: record.key, value: record.value.toUpperCase() }),
 *   }],
 *   sinks: [{ topic: "WORDS", partitions: 3, replicationFactor: 3 }],
 * });
 * await app.start();
 * // … later, e.g. on SIGTERM
 * await app.stop();
 * ```
 * @module
 */
import {
  type Admin,
  type Consumer,
  type Kafka,
  type KafkaMessage,
  type Message,
  Partitioners,
  type PartitionMetadata,
  type Producer,
} from "kafkajs";
import { deadLetter, dlqTopic } from "../kafka/mod.ts";
import { ensureTopic } from "../kafka/mod.ts";
import { DeserializationError } from "../schemas/mod.ts";
import { streamMetrics } from "./metrics.ts";
import { type TableSet, TableSet as Tables } from "./table.ts";
import {
  type Guarantee,
  type ProcessContext,
  type SourceSpec,
  type StreamAppOptions,
  type TopicStats,
  validateOptions,
} from "./options.ts";
import {
  changelogMessages,
  type Overlay,
  type RecordWrites,
  rollback,
  writableTable,
} from "./_overlay.ts";
import { commitAtLeastOnce, commitTransaction } from "./_commit.ts";
import { account, type Outcome } from "./_accounting.ts";
import { envInt, sleep } from "../env/mod.ts";

const DEBUG = Boolean(Deno.env.get("STREAMS_DEBUG"));
const FENCED =
  /INVALID_PRODUCER_EPOCH|PRODUCER_FENCED|old epoch|fenced|TRANSACTIONAL_ID_AUTHORIZATION/i;

interface Task {
  topic: string;
  partition: number;
  producer?: Producer;
  /** Next offset to process: the committed offset read after fencing, then our own commits. */
  next?: bigint;
  busy: Promise<void>;
}

/** See the module doc. */
export class StreamApp {
  readonly appId: string;
  readonly guarantee: Guarantee;
  readonly tables: TableSet;
  /** Committed counts per source topic. */
  readonly stats = new Map<string, TopicStats>();
  readonly #kafka: Kafka;
  readonly #opts: Required<Omit<StreamAppOptions, "tables" | "log">>;
  readonly #sources: Map<string, SourceSpec<unknown>>;
  readonly #sinkNames: Set<string>;
  readonly #log: (line: string) => void;
  readonly #tasks = new Map<string, Task>();
  readonly #metrics = streamMetrics();
  #admin: Admin | undefined;
  #consumer: Consumer | undefined;
  #running = false;
  #crashed: Error | undefined;
  #assigned = new Set<string>();
  readonly #partitioner = Partitioners.DefaultPartitioner();
  readonly #partitionMeta = new Map<string, PartitionMetadata[]>();

  constructor(kafka: Kafka, options: StreamAppOptions) {
    validateOptions(options);
    const {
      appId,
      sources,
      sinks,
      tables = [],
      guarantee = "exactly_once",
      replicationFactor = 0,
      sessionTimeoutMs = 10_000,
      concurrency = 3,
      transactionTimeoutMs = 30_000,
      maxBytesPerPartition = 1_048_576,
      delayBeforeCommitMs = envInt("STREAMS_DELAY_BEFORE_COMMIT_MS", { default: 0, min: 0 }),
      log = console.error,
    } = options;
    this.#kafka = kafka;
    this.appId = appId;
    this.guarantee = guarantee;
    this.#opts = {
      appId,
      sources,
      sinks,
      guarantee,
      replicationFactor,
      sessionTimeoutMs,
      concurrency,
      transactionTimeoutMs,
      maxBytesPerPartition,
      delayBeforeCommitMs,
    };
    this.#sources = new Map(sources.map((s) => [s.topic, s]));
    this.#sinkNames = new Set(sinks.map((s) => s.topic));
    this.#log = log;
    this.tables = new Tables(kafka, appId, tables);
    for (const s of sources) this.stats.set(s.topic, { in: 0, out: 0, filtered: 0, dlq: 0 });
  }

  /** True while running and no component has crashed (for `/healthz`). */
  get healthy(): boolean {
    return this.#running && !this.#crashed && this.tables.healthy;
  }

  /** The fatal error that stopped consumption, if any. */
  get crashed(): Error | undefined {
    return this.#crashed;
  }

  /** Partitions (`topic:partition`) this instance owns now. */
  get assigned(): string[] {
    return [...this.#assigned].sort();
  }

  /**
   * Creates missing topics (sinks, dead-letter topics, compacted changelogs), restores the
   * tables from their changelogs, then joins the consumer group and starts processing.
   */
  async start(): Promise<void> {
    const admin = this.#kafka.admin();
    this.#admin = admin;
    await admin.connect();
    await this.#ensureTopics(admin);
    await this.#loadPartitions(admin);
    await this.tables.restore(admin, { log: this.#log });
    this.#running = true;
    await this.#startConsumer();
  }

  /**
   * Creates, subscribes and runs the group consumer. kafkajs restarts a consumer by itself
   * after retriable errors only; after any other crash this starts a fresh consumer (all
   * partition producers are dropped first, so every partition is fenced and re-read from its
   * committed offset), so one bad moment never ends the service.
   */
  async #startConsumer(): Promise<void> {
    const consumer = this.#kafka.consumer({
      groupId: this.appId,
      readUncommitted: false,
      sessionTimeout: this.#opts.sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.floor(this.#opts.sessionTimeoutMs / 10)),
      rebalanceTimeout: 30_000,
      maxBytesPerPartition: this.#opts.maxBytesPerPartition,
      maxWaitTimeInMs: 100,
      allowAutoTopicCreation: false,
    });
    this.#consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (e) => this.#onAssignment(e.payload.memberAssignment));
    consumer.on(consumer.events.CRASH, (e) => {
      const err = e.payload.error;
      this.#log(
        `[${this.appId}] consumer crashed${e.payload.restart ? " (kafkajs restarts it)" : ""}: ${
          Deno.env.get("STREAMS_DEBUG") ? err.stack : err.message
        }`,
      );
      if (!e.payload.restart && this.#running) {
        this.#crashed = err;
        void this.#restartConsumer(consumer);
      }
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [...this.#sources.keys()], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.#opts.concurrency,
      eachBatch: (payload) => this.#eachBatch(payload),
    });
  }

  async #restartConsumer(old: Consumer): Promise<void> {
    await old.disconnect().catch(() => {});
    for (let attempt = 1; this.#running; attempt++) {
      const tasks = [...this.#tasks.values()];
      this.#tasks.clear();
      await Promise.all(tasks.map((t) => this.#closeTask(t)));
      await sleep(Math.min(10_000, 1_000 * attempt));
      if (!this.#running) return;
      try {
        this.#log(`[${this.appId}] starting a new consumer (attempt ${attempt})`);
        await this.#startConsumer();
        this.#crashed = undefined;
        return;
      } catch (err) {
        this.#log(`[${this.appId}] consumer restart failed: ${(err as Error).message}`);
        await this.#consumer?.disconnect().catch(() => {});
      }
    }
  }

  /**
   * Stops gracefully: the batch in progress finishes (its transaction commits or aborts),
   * the group is left, producers and the table follower close.
   */
  async stop(): Promise<void> {
    this.#running = false;
    await this.#consumer?.disconnect().catch(() => {});
    await Promise.all([...this.#tasks.values()].map((t) => this.#closeTask(t)));
    await this.tables.close();
    await this.#admin?.disconnect().catch(() => {});
  }

  async #ensureTopics(admin: Admin): Promise<void> {
    const rf = this.#opts.replicationFactor ||
      Math.min(3, (await admin.describeCluster()).brokers.length);
    for (const sink of this.#opts.sinks) await ensureTopic(admin, sink);
    for (const topic of this.#sources.keys()) {
      await ensureTopic(admin, {
        topic: dlqTopic(topic),
        partitions: 1,
        replicationFactor: rf,
        config: { "max.message.bytes": String(8 * 1024 * 1024) },
      });
    }
    for (const t of this.tables.tables.values()) {
      await ensureTopic(admin, {
        topic: t.changelog,
        partitions: 1,
        replicationFactor: rf,
        config: {
          "cleanup.policy": "compact",
          "min.insync.replicas": String(Math.min(2, rf)),
        },
      });
    }
  }

  /** Partition counts of every topic the processor writes, for its own partitioning. */
  async #loadPartitions(admin: Admin): Promise<void> {
    const topics = [
      ...this.#sinkNames,
      ...[...this.#sources.keys()].map(dlqTopic),
      ...[...this.tables.tables.values()].map((t) => t.changelog),
    ];
    const meta = await admin.fetchTopicMetadata({ topics });
    for (const t of meta.topics) {
      this.#partitionMeta.set(t.name, t.partitions);
    }
  }

  readonly #partitionOf = (topic: string, message: Message): number =>
    this.#partitioner({
      topic,
      partitionMetadata: this.#partitionMeta.get(topic) ??
        [{ partitionId: 0, leader: 0, partitionErrorCode: 0, replicas: [], isr: [] }],
      message,
    });

  #onAssignment(assignment: Record<string, number[]>): void {
    const now = new Set<string>();
    for (const [topic, parts] of Object.entries(assignment)) {
      for (const p of parts) now.add(`${topic}:${p}`);
    }
    this.#assigned = now;
    this.#log(`[${this.appId}] assigned ${[...now].sort().join(", ") || "nothing"}`);
    for (const [key, task] of this.#tasks) {
      if (!now.has(key)) {
        // Revoked: close its producer once its current transaction is over. A new owner
        // fences it anyway; closing frees the connection and the transactional id.
        this.#tasks.delete(key);
        void this.#closeTask(task);
      }
    }
  }

  async #closeTask(task: Task): Promise<void> {
    await task.busy.catch(() => {});
    const p = task.producer;
    task.producer = undefined;
    await p?.disconnect().catch(() => {});
  }

  #task(topic: string, partition: number): Task {
    const key = `${topic}:${partition}`;
    let t = this.#tasks.get(key);
    if (!t) {
      t = { topic, partition, busy: Promise.resolve() };
      this.#tasks.set(key, t);
    }
    return t;
  }

  /** Fences the previous owner of a partition, then reads the partition's committed offset. */
  async #initTask(task: Task): Promise<void> {
    if (task.producer && task.next !== undefined) return;
    if (this.guarantee === "exactly_once") {
      const producer = this.#kafka.producer({
        transactionalId: `${this.appId}-${task.topic}-${task.partition}`,
        idempotent: true,
        maxInFlightRequests: 1,
        transactionTimeout: this.#opts.transactionTimeoutMs,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await producer.connect();
      // initProducerId happens on the first transaction(): it aborts the previous owner's open
      // transaction and bumps the epoch (fencing). Nothing is sent, so abort() is local.
      const txn = await producer.transaction();
      await txn.abort();
      task.producer = producer;
    } else {
      // At-least-once: an idempotent producer per partition too, so that partitions processed
      // at the same time never share one (kafkajs' idempotent producer needs one request at a
      // time).
      const producer = this.#kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await producer.connect();
      task.producer = producer;
    }
    const offsets = await this.#admin!.fetchOffsets({ groupId: this.appId, topics: [task.topic] });
    const p = offsets[0]?.partitions.find((x) => x.partition === task.partition);
    task.next = p && BigInt(p.offset) >= 0n ? BigInt(p.offset) : 0n;
  }

  async #eachBatch(
    { batch, resolveOffset, heartbeat, isRunning, isStale }: import("kafkajs").EachBatchPayload,
  ): Promise<void> {
    if (!this.#running || !isRunning() || isStale()) return;
    const task = this.#task(batch.topic, batch.partition);
    const work = task.busy.then(() => this.#processBatch(task, batch, resolveOffset, heartbeat));
    task.busy = work.catch(() => {});
    await work;
  }

  async #processBatch(
    task: Task,
    batch: import("kafkajs").Batch,
    resolveOffset: (offset: string) => void,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    const fetchedAt = performance.now();
    try {
      await this.#initTask(task);
    } catch (err) {
      this.#log(
        `[${this.appId}] cannot take over ${task.topic}:${task.partition}: ${
          (err as Error).message
        }; retrying`,
      );
      await this.#dropTask(task);
      await sleep(1_000);
      return;
    }
    const records = batch.messages.filter((m) => BigInt(m.offset) >= task.next!);
    if (records.length === 0) {
      // Everything here was committed by a previous owner: move the fetch position on.
      if (batch.messages.length > 0) safeResolve(resolveOffset, batch.lastOffset());
      return;
    }
    const source = this.#sources.get(task.topic)!;
    const outcomes: Outcome[] = [];
    const pendingTables: Overlay = new Map();
    for (const m of records) outcomes.push(await this.#processOne(source, task, m, pendingTables));
    const last = BigInt(records[records.length - 1].offset);
    const messages = outcomes.flatMap((o) => o.messages);
    const processedAt = performance.now();
    try {
      const delay = this.#opts.delayBeforeCommitMs;
      const at = {
        group: this.appId,
        topic: task.topic,
        partition: task.partition,
        nextOffset: last + 1n,
      };
      if (this.guarantee === "exactly_once") {
        await commitTransaction(task.producer!, at, messages, this.#partitionOf, delay);
      } else {
        await commitAtLeastOnce(
          task.producer!,
          this.#consumer!,
          at,
          messages,
          this.#partitionOf,
          delay,
        );
      }
    } catch (err) {
      this.#metrics.aborts.inc({ app: this.appId });
      const msg = (err as Error).message;
      this.#log(
        `[${this.appId}] transaction for ${task.topic}:${task.partition} failed${
          FENCED.test(`${msg} ${(err as { type?: string }).type ?? ""}`)
            ? " (fenced: another instance owns this partition now)"
            : ""
        }: ${msg}; its records will be processed again by the partition's owner`,
      );
      await this.#dropTask(task);
      await sleep(500);
      return;
    }
    task.next = last + 1n;
    safeResolve(resolveOffset, records[records.length - 1].offset);
    const committedAt = performance.now();
    if (DEBUG) {
      this.#log(
        `[${this.appId}] ${task.topic}:${task.partition} ${records.length} records: process ${
          (processedAt - fetchedAt).toFixed(0)
        } ms, commit ${(committedAt - processedAt).toFixed(0)} ms`,
      );
    }
    account(
      this.#metrics,
      this.appId,
      this.stats.get(task.topic)!,
      task.topic,
      outcomes,
      (committedAt - fetchedAt) / 1000,
    );
    const lag = BigInt(batch.highWatermark) - (last + 1n);
    this.#metrics.lag.set(
      { app: this.appId, topic: task.topic, partition: String(task.partition) },
      Number(lag < 0n ? 0n : lag),
    );
    await heartbeat().catch(() => {});
  }

  async #dropTask(task: Task): Promise<void> {
    const p = task.producer;
    task.producer = undefined;
    task.next = undefined;
    await p?.disconnect().catch(() => {});
  }

  async #processOne(
    source: SourceSpec<unknown>,
    task: Task,
    m: KafkaMessage,
    pendingTables: Overlay,
  ): Promise<Outcome> {
    const raw = {
      topic: task.topic,
      partition: task.partition,
      offset: m.offset,
      key: m.key,
      value: m.value,
      headers: m.headers,
    };
    const dead = (error: string, stage: string): Outcome => ({
      kind: "dlq",
      messages: [{ topic: dlqTopic(task.topic), message: deadLetter(raw, error, stage) }],
    });
    let value: unknown;
    try {
      value = source.decode(m.value, m);
    } catch (err) {
      const stage = err instanceof DeserializationError ? err.stage : "decode";
      return dead((err as Error).message, stage);
    }
    const out: { topic: string; message: Message }[] = [];
    const writes: RecordWrites = new Map();
    const ctx: ProcessContext = {
      send: (topic, message) => {
        if (!this.#sinkNames.has(topic)) {
          throw new RangeError(
            `Cannot send to '${topic}' as it is not a declared sink: sinks are ${
              [...this.#sinkNames].join(", ")
            }`,
          );
        }
        out.push({ topic, message: message as Message });
      },
      table: <V>(name: string) => writableTable<V>(this.tables, name, pendingTables, writes),
    };
    try {
      await source.process({
        topic: task.topic,
        partition: task.partition,
        offset: m.offset,
        key: m.key === null ? null : m.key.toString("utf8"),
        value,
        timestamp: Number(m.timestamp),
        headers: m.headers ?? {},
      }, ctx);
    } catch (err) {
      rollback(pendingTables, writes);
      return dead((err as Error).message, "process");
    }
    out.push(...changelogMessages(this.tables, pendingTables, writes));
    return {
      kind: out.length > 0 ? "out" : "filtered",
      messages: out,
    };
  }
}

/**
 * kafkajs' resolveOffset throws a TypeError when the partition was revoked by a rebalance
 * during the batch; the transaction is committed by then, and the new owner reads the
 * committed offset, so there is nothing left to resolve.
 */
function safeResolve(resolve: (offset: string) => void, offset: string): void {
  try {
    resolve(offset);
  } catch {
    // revoked meanwhile
  }
}
