/**
 * An idempotent producer that stays exactly-once through a leader change: messages are
 * batched per partition, each partition has one request in flight, and a failed batch is
 * re-sent unchanged before anything else goes to that partition.
 *
 * Why: kafkajs' `sendBatch` groups one call's partitions by leader; when a leader dies and
 * the partition moves to a broker that already answered within the same call, kafkajs does
 * not send that partition's messages again (they are silently lost), and after an ambiguous
 * failure it rewinds the sequence number and reuses it for other messages, which the broker
 * rejects with OUT_OF_ORDER_SEQUENCE_NUMBER (both seen in the practice 4 failover drill).
 * A call that holds one partition only cannot hit either case, and re-sending the very same
 * batch with the very same sequence number lets the broker drop the copy it already has.
 *
 * When a batch is given up (`maxAttempts`), its fate is unknown: the broker may hold it (a
 * request that timed out after the leader appended it). kafkajs would hand its sequence numbers
 * to the next messages, and the broker would acknowledge those as the copy it already has —
 * acknowledged but lost (seen in the 2-of-3-brokers-down drill). So after a give-up the producer
 * starts a new idempotent session (a new producer id) before it sends anything else: the given-up
 * messages were reported as failed (they may or may not be in the topic), and nothing
 * acknowledged afterwards can be lost.
 *
 * @example
 * ```ts
 * import { PartitionedProducer } from "./partition_producer.ts";
 * const p = new PartitionedProducer(kafka, { lingerMs: 5 });
 * await p.connect();
 * await Promise.all(ids.map((id) => p.send("events", { key: String(id), value: "…" })));
 * await p.disconnect();
 * ```
 * @module
 */
import {
  type Admin,
  type Kafka,
  type Message,
  Partitioners,
  type PartitionMetadata,
  type Producer,
} from "kafkajs";
import { sleep } from "../env/mod.ts";

/** Options of a {@linkcode PartitionedProducer}. */
export interface PartitionedProducerOptions {
  /** Longest wait for more messages of a partition before its batch goes out, in ms. @default 5 */
  lingerMs?: number;
  /** Messages per request at most. @default 2000 */
  batchSize?: number;
  /** Attempts of one batch before its messages are rejected. @default 20 */
  maxAttempts?: number;
  /** Pause between attempts, in ms. @default 1000 */
  retryBackoffMs?: number;
  /** How long the leader may wait for the in-sync replicas before answering, ms. @default 30000 */
  ackTimeoutMs?: number;
  /** kafkajs' own retries of one request before an attempt counts as failed. @default 5 */
  clientRetries?: number;
  /** Called when a batch is sent again (progress, drills). */
  onRetry?: (info: { topic: string; partition: number; attempt: number; error: string }) => void;
}

/** Where an acknowledged message was written. */
export interface SentRecord {
  topic: string;
  partition: number;
  /** Offset of the message in its partition. */
  offset: string;
}

interface Pending {
  message: Message;
  resolve: (sent: SentRecord) => void;
  reject: (e: unknown) => void;
}

interface PartitionQueue {
  topic: string;
  partition: number;
  items: Pending[];
  timer?: ReturnType<typeof setTimeout>;
  draining?: Promise<void>;
}

/** Errors after which re-sending cannot help (the producer state is broken or access denied). */
const FATAL = /out of order sequence|producer.*epoch|fenced|AUTHORIZATION|unknown producer id/i;

/** See the module doc. */
export class PartitionedProducer {
  #producer: Producer;
  readonly #kafka: Kafka;
  readonly #ackTimeoutMs: number;
  readonly #clientRetries: number;
  /** Set when a batch was given up: a new session must start before the next send. */
  #reset: Promise<void> | undefined;
  #mustReset = false;
  readonly #admin: Admin;
  readonly #lingerMs: number;
  readonly #batchSize: number;
  readonly #maxAttempts: number;
  readonly #backoffMs: number;
  readonly #onRetry?: PartitionedProducerOptions["onRetry"];
  readonly #partitioner = Partitioners.DefaultPartitioner();
  readonly #meta = new Map<string, Promise<PartitionMetadata[]>>();
  readonly #queues = new Map<string, PartitionQueue>();
  /** Batches re-sent after a failure. */
  retries = 0;

  constructor(kafka: Kafka, options: PartitionedProducerOptions = {}) {
    const {
      lingerMs = 5,
      batchSize = 2_000,
      maxAttempts = 20,
      retryBackoffMs = 1_000,
      ackTimeoutMs = 30_000,
      clientRetries = 5,
      onRetry,
    } = options;
    if (!(lingerMs >= 0)) {
      throw new RangeError(`Cannot batch as 'lingerMs' must be >= 0: current value is ${lingerMs}`);
    }
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(
        `Cannot batch as 'batchSize' must be a positive integer: current value is ${batchSize}`,
      );
    }
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
      throw new RangeError(
        `Cannot send as 'maxAttempts' must be a positive integer: current value is ${maxAttempts}`,
      );
    }
    if (!Number.isInteger(ackTimeoutMs) || ackTimeoutMs < 1) {
      throw new RangeError(
        `Cannot send as 'ackTimeoutMs' must be a positive integer: current value is ${ackTimeoutMs}`,
      );
    }
    if (!Number.isInteger(clientRetries) || clientRetries < 0) {
      throw new RangeError(
        `Cannot send as 'clientRetries' must be an integer >= 0: current value is ${clientRetries}`,
      );
    }
    this.#kafka = kafka;
    this.#ackTimeoutMs = ackTimeoutMs;
    this.#clientRetries = clientRetries;
    this.#producer = this.#newProducer();
    this.#admin = kafka.admin();
    this.#lingerMs = lingerMs;
    this.#batchSize = batchSize;
    this.#maxAttempts = maxAttempts;
    this.#backoffMs = retryBackoffMs;
    this.#onRetry = onRetry;
  }

  /** The kafkajs producer of the current idempotent session. */
  get producer(): Producer {
    return this.#producer;
  }

  #newProducer(): Producer {
    return this.#kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      retry: { retries: this.#clientRetries, initialRetryTime: 300, maxRetryTime: 3_000 },
    });
  }

  /** Starts a new idempotent session once a given-up batch asked for it (see the module doc). */
  async #renewSessionIfNeeded(): Promise<void> {
    if (this.#mustReset && !this.#reset) {
      this.#mustReset = false;
      const old = this.#producer;
      const fresh = this.#newProducer();
      this.#reset = (async () => {
        await old.disconnect().catch(() => {});
        await fresh.connect();
        this.#producer = fresh;
      })().finally(() => (this.#reset = undefined));
    }
    await this.#reset;
  }

  async connect(): Promise<void> {
    await this.#admin.connect();
    await this.#producer.connect();
  }

  async #partitionOf(topic: string, message: Message): Promise<number> {
    if (typeof message.partition === "number") return message.partition;
    let meta = this.#meta.get(topic);
    if (!meta) {
      // One metadata request per topic, however many sends wait for it.
      meta = this.#topicPartitions(topic);
      this.#meta.set(topic, meta);
      meta.catch(() => this.#meta.delete(topic));
    }
    return this.#partitioner({ topic, partitionMetadata: await meta, message });
  }

  /**
   * Partitions of a topic. A missing topic is created with the broker's defaults, as a plain
   * producer's metadata request would have the broker do (kafkajs' admin never auto-creates).
   */
  async #topicPartitions(topic: string): Promise<PartitionMetadata[]> {
    const fetch = async () =>
      (await this.#admin.fetchTopicMetadata({ topics: [topic] })).topics[0].partitions
        .map((p) => ({ ...p, leader: Math.max(p.leader, 0) }));
    try {
      return await fetch();
    } catch (err) {
      if (
        !/does not host this topic-partition|UNKNOWN_TOPIC/i.test(String((err as Error).message))
      ) throw err;
      await this.#admin.createTopics({ topics: [{ topic }], waitForLeaders: true }).catch((e) => {
        if (!/already exists/i.test(String(e?.message))) throw e;
      });
      return await fetch();
    }
  }

  /**
   * Queues a message; resolves with its partition and offset once its batch is acknowledged by
   * all in-sync replicas.
   */
  async send(topic: string, message: Message): Promise<SentRecord> {
    const partition = await this.#partitionOf(topic, message);
    const key = `${topic}\u0000${partition}`;
    let q = this.#queues.get(key);
    if (!q) {
      q = { topic, partition, items: [] };
      this.#queues.set(key, q);
    }
    const queue = q;
    return await new Promise<SentRecord>((resolve, reject) => {
      queue.items.push({ message: { ...message, partition }, resolve, reject });
      if (queue.draining) return;
      if (queue.items.length >= this.#batchSize) this.#kick(queue);
      else if (queue.timer === undefined) {
        queue.timer = setTimeout(() => this.#kick(queue), this.#lingerMs);
      }
    });
  }

  #kick(q: PartitionQueue): void {
    if (q.timer !== undefined) {
      clearTimeout(q.timer);
      q.timer = undefined;
    }
    if (!q.draining) {
      q.draining = this.#drain(q).finally(() => {
        q.draining = undefined;
        if (q.items.length > 0) this.#kick(q);
      });
    }
  }

  async #drain(q: PartitionQueue): Promise<void> {
    while (q.items.length > 0) {
      const batch = q.items.splice(0, this.#batchSize);
      for (let attempt = 1;; attempt++) {
        try {
          await this.#renewSessionIfNeeded();
          const [meta] = await this.#producer.sendBatch({
            acks: -1,
            timeout: this.#ackTimeoutMs,
            topicMessages: [{ topic: q.topic, messages: batch.map((p) => p.message) }],
          });
          const base = BigInt(meta?.baseOffset ?? meta?.offset ?? "-1");
          batch.forEach((p, i) =>
            p.resolve({
              topic: q.topic,
              partition: q.partition,
              offset: base >= 0n ? String(base + BigInt(i)) : "-1",
            })
          );
          break;
        } catch (err) {
          const text = `${(err as Error).message} ${
            (err as { originalError?: Error }).originalError?.message ?? ""
          }`;
          if (FATAL.test(text) || attempt >= this.#maxAttempts) {
            // Its fate is unknown: never let kafkajs reuse its sequence numbers.
            this.#mustReset = true;
            for (const p of batch) p.reject(err);
            break;
          }
          this.retries++;
          this.#onRetry?.({ topic: q.topic, partition: q.partition, attempt, error: text.trim() });
          await sleep(this.#backoffMs);
        }
      }
    }
  }

  /** Sends everything queued and waits for its acknowledgement. */
  async flush(): Promise<void> {
    for (;;) {
      const busy = [...this.#queues.values()].filter((q) => q.items.length > 0 || q.draining);
      if (busy.length === 0) return;
      for (const q of busy) if (q.items.length > 0) this.#kick(q);
      await Promise.all(busy.map((q) => q.draining));
    }
  }

  /** Flushes, then disconnects. */
  async disconnect(): Promise<void> {
    await this.flush();
    await this.#reset;
    await this.#producer.disconnect();
    await this.#admin.disconnect();
  }
}
