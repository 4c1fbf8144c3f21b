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
  type IHeaders,
  type Kafka,
  type KafkaMessage,
  type Message,
  Partitioners,
  type PartitionMetadata,
  type Producer,
} from "kafkajs";
import { deadLetter, dlqTopic } from "../kafka/mod.ts";
import { ensureTopic, type TopicSpec } from "../kafka/mod.ts";
import { DeserializationError } from "../schemas/mod.ts";
import { streamMetrics } from "./metrics.ts";
import { chunks } from "./_chunks.ts";
import { type TableSet, TableSet as Tables, type TableSpec, type TableView } from "./table.ts";
import { sleep } from "../env/mod.ts";

/** Processing guarantee. */
export type Guarantee = "exactly_once" | "at_least_once";

/** A decoded source record as the processing function sees it. */
export interface StreamRecord<T> {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: T;
  timestamp: number;
  headers: IHeaders;
}

/** A record to write to a sink topic. */
export interface OutputMessage {
  key?: string | null;
  value: string | Uint8Array | null;
  headers?: IHeaders;
  partition?: number;
}

/** A table as the processing function sees it: committed state plus this transaction's writes. */
export interface WritableTable<V> {
  get(key: string): V | undefined;
  has(key: string): boolean;
  /** Sets a key; written to the changelog in the current transaction. */
  set(key: string, value: V): void;
  /** Deletes a key (a tombstone in the changelog). */
  delete(key: string): void;
  /** The committed table (without this transaction's writes), e.g. to iterate or cache. */
  readonly committed: TableView<V>;
}

/** What the processing function can do with a record. */
export interface ProcessContext {
  /** Writes a record to a sink topic (declared in `sinks`). */
  send(topic: string, message: OutputMessage): void;
  /** A table by name. */
  table<V = unknown>(name: string): WritableTable<V>;
}

/** A source topic and what to do with its records. */
export interface SourceSpec<T> {
  topic: string;
  /**
   * Turns the value bytes into a typed value; throw (ideally a {@linkcode DeserializationError})
   * to send the record to the dead-letter topic.
   */
  decode(value: Buffer | null, message: KafkaMessage): T;
  /** Processes one record; send nothing to filter it out; throw to dead-letter it. */
  process(record: StreamRecord<T>, ctx: ProcessContext): void | Promise<void>;
}

/** Options of a {@linkcode StreamApp}. */
export interface StreamAppOptions {
  /** Application id: consumer group, transactional-id prefix and changelog prefix. */
  appId: string;
  // deno-lint-ignore no-explicit-any
  sources: SourceSpec<any>[];
  /** Topics the processor writes; created when missing. */
  sinks: TopicSpec[];
  /** Tables (global, changelog-backed). @default [] */
  tables?: TableSpec[];
  /** @default "exactly_once" */
  guarantee?: Guarantee;
  /** Replication factor of created changelog and dead-letter topics. @default min(3, brokers) */
  replicationFactor?: number;
  /** Consumer session timeout: how soon a crashed member's partitions move, ms. @default 10000 */
  sessionTimeoutMs?: number;
  /** Partitions processed at the same time (each with its own transaction). @default 3 */
  concurrency?: number;
  /** Broker-side timeout of an open transaction, ms. @default 30000 */
  transactionTimeoutMs?: number;
  /** Bytes fetched per partition and so at most processed per transaction. @default 1048576 */
  maxBytesPerPartition?: number;
  /** Progress and error lines. @default console.error */
  log?: (line: string) => void;
}

/** Counts per source topic since start (committed work only). */
export interface TopicStats {
  in: number;
  out: number;
  filtered: number;
  dlq: number;
}

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

interface Outcome {
  kind: "out" | "filtered" | "dlq";
  messages: { topic: string; message: Message }[];
  tableWrites: Map<string, Map<string, unknown>>;
}

function validateOptions(o: StreamAppOptions): void {
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(o.appId ?? "")) {
    throw new RangeError(
      `Cannot create a stream processor as 'appId' must be 1-200 of [A-Za-z0-9._-]: current value is '${o.appId}'`,
    );
  }
  if (!Array.isArray(o.sources) || o.sources.length === 0) {
    throw new RangeError("Cannot create a stream processor as 'sources' must not be empty");
  }
  const ints: [string, number | undefined, number][] = [
    ["sessionTimeoutMs", o.sessionTimeoutMs, 6_000],
    ["concurrency", o.concurrency, 1],
    ["transactionTimeoutMs", o.transactionTimeoutMs, 1_000],
    ["maxBytesPerPartition", o.maxBytesPerPartition, 1_024],
    ["replicationFactor", o.replicationFactor, 1],
  ];
  for (const [name, v, min] of ints) {
    if (v !== undefined && (!Number.isInteger(v) || v < min)) {
      throw new RangeError(
        `Cannot create a stream processor as '${name}' must be an integer >= ${min}: current value is ${v}`,
      );
    }
  }
  if (o.guarantee !== undefined && !["exactly_once", "at_least_once"].includes(o.guarantee)) {
    throw new RangeError(
      `Cannot create a stream processor as 'guarantee' must be exactly_once or at_least_once: current value is '${o.guarantee}'`,
    );
  }
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
    const pendingTables = new Map<string, Map<string, unknown>>();
    for (const m of records) outcomes.push(await this.#processOne(source, task, m, pendingTables));
    const last = BigInt(records[records.length - 1].offset);
    const messages = outcomes.flatMap((o) => o.messages);
    const processedAt = performance.now();
    try {
      if (this.guarantee === "exactly_once") {
        await this.#commitTransaction(task, messages, last + 1n);
      } else {
        await this.#commitAtLeastOnce(task, messages, last + 1n);
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
    this.#account(task.topic, outcomes, messages, (committedAt - fetchedAt) / 1000);
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
    pendingTables: Map<string, Map<string, unknown>>,
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
      tableWrites: new Map(),
    });
    let value: unknown;
    try {
      value = source.decode(m.value, m);
    } catch (err) {
      const stage = err instanceof DeserializationError ? err.stage : "decode";
      return dead((err as Error).message, stage);
    }
    const out: { topic: string; message: Message }[] = [];
    const writes = new Map<string, Map<string, unknown>>();
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
      table: <V>(name: string) => this.#writableTable<V>(name, pendingTables, writes),
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
      // Roll this record's table writes back out of the batch overlay.
      for (const [name, keys] of writes) {
        const overlay = pendingTables.get(name)!;
        for (const [k, prev] of keys) {
          if (prev === NOT_PENDING) overlay.delete(k);
          else overlay.set(k, prev);
        }
      }
      return dead((err as Error).message, "process");
    }
    for (const [name, keys] of writes) {
      const table = this.tables.get(name);
      const overlay = pendingTables.get(name)!;
      for (const k of keys.keys()) {
        const v = overlay.get(k);
        out.push({
          topic: table.changelog,
          message: { key: k, value: v === TOMBSTONE ? null : JSON.stringify(v) },
        });
      }
    }
    return {
      kind: out.length > 0 ? "out" : "filtered",
      messages: out,
      tableWrites: writes,
    };
  }

  #writableTable<V>(
    name: string,
    pending: Map<string, Map<string, unknown>>,
    writes: Map<string, Map<string, unknown>>,
  ): WritableTable<V> {
    const committed = this.tables.get<V>(name);
    let overlay = pending.get(name);
    if (!overlay) pending.set(name, overlay = new Map());
    const o = overlay;
    const remember = (key: string) => {
      let w = writes.get(name);
      if (!w) writes.set(name, w = new Map());
      if (!w.has(key)) w.set(key, o.has(key) ? o.get(key) : NOT_PENDING);
    };
    return {
      committed,
      get: (key) => {
        if (o.has(key)) {
          const v = o.get(key);
          return v === TOMBSTONE ? undefined : v as V;
        }
        return committed.get(key);
      },
      has: (key) => (o.has(key) ? o.get(key) !== TOMBSTONE : committed.has(key)),
      set: (key, value) => {
        if (value === null || value === undefined) {
          throw new TypeError(`Cannot set '${key}' in table '${name}' to ${value}: use delete()`);
        }
        remember(key);
        o.set(key, value);
      },
      delete: (key) => {
        remember(key);
        o.set(key, TOMBSTONE);
      },
    };
  }

  async #commitTransaction(
    task: Task,
    messages: { topic: string; message: Message }[],
    nextOffset: bigint,
  ): Promise<void> {
    const producer = task.producer!;
    const txn = await producer.transaction();
    try {
      for (const chunk of chunks(messages, this.#partitionOf)) {
        await txn.sendBatch({ acks: -1, topicMessages: chunk });
      }
      await txn.sendOffsets({
        consumerGroupId: this.appId,
        topics: [{
          topic: task.topic,
          partitions: [{ partition: task.partition, offset: String(nextOffset) }],
        }],
      });
      await txn.commit();
    } catch (err) {
      await txn.abort().catch(() => {});
      throw err;
    }
  }

  async #commitAtLeastOnce(
    task: Task,
    messages: { topic: string; message: Message }[],
    nextOffset: bigint,
  ): Promise<void> {
    for (const chunk of chunks(messages, this.#partitionOf)) {
      await task.producer!.sendBatch({ acks: -1, topicMessages: chunk });
    }
    await this.#consumer!.commitOffsets([
      { topic: task.topic, partition: task.partition, offset: String(nextOffset) },
    ]);
  }

  #account(
    topic: string,
    outcomes: Outcome[],
    messages: { topic: string; message: Message }[],
    latencySeconds: number,
  ): void {
    const s = this.stats.get(topic)!;
    const labels = { app: this.appId, topic };
    let out = 0, filtered = 0, dlq = 0;
    for (const o of outcomes) {
      if (o.kind === "out") out++;
      else if (o.kind === "filtered") filtered++;
      else dlq++;
    }
    s.in += outcomes.length;
    s.out += out;
    s.filtered += filtered;
    s.dlq += dlq;
    this.#metrics.recordsIn.inc(labels, outcomes.length);
    if (out) this.#metrics.recordsOut.inc(labels, out);
    if (filtered) this.#metrics.recordsFiltered.inc(labels, filtered);
    if (dlq) this.#metrics.recordsDlq.inc(labels, dlq);
    const produced = new Map<string, number>();
    for (const m of messages) produced.set(m.topic, (produced.get(m.topic) ?? 0) + 1);
    for (const [t, n] of produced) {
      this.#metrics.recordsProduced.inc({ app: this.appId, topic: t }, n);
    }
    this.#metrics.transactions.inc({ app: this.appId });
    // Every record of the batch waited from the fetch to the commit.
    for (let i = 0; i < outcomes.length; i++) {
      this.#metrics.latency.observe({ app: this.appId }, latencySeconds);
    }
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

const TOMBSTONE = Symbol("tombstone");
const NOT_PENDING = Symbol("not pending");
