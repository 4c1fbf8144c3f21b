/**
 * A producer that batches like Kafka's Java producer: messages wait up to `lingerMs` or until
 * `batchSize` are queued, then go out in one request; each `send` resolves when its batch is
 * acknowledged (acks=all). One request is in flight at a time, because kafkajs' idempotent
 * producer assigns sequence numbers per request and concurrent requests to one partition
 * would break ordering and deduplication.
 *
 * @example
 * ```ts
 * import { BatchingProducer } from "./batch_producer.ts";
 * const p = new BatchingProducer(kafka.producer({ idempotent: true }), { lingerMs: 5 });
 * await p.connect();
 * await Promise.all(orders.map((o) => p.send("orders", { key: o.id, value: JSON.stringify(o) })));
 * await p.disconnect();
 * ```
 * @module
 */
import { CompressionTypes, type Message, type Producer, type RecordMetadata } from "kafkajs";

/** Options of a {@linkcode BatchingProducer}. */
export interface BatchingProducerOptions {
  /** Longest wait for more messages before a batch goes out, in ms. @default 5 */
  lingerMs?: number;
  /** Messages per request at most. @default 10000 */
  batchSize?: number;
  /** Compression of each batch. @default CompressionTypes.None */
  compression?: CompressionTypes;
}

interface Pending {
  topic: string;
  message: Message;
  resolve: (m: RecordMetadata | undefined) => void;
  reject: (e: unknown) => void;
}

/** See the module doc. */
export class BatchingProducer {
  readonly #producer: Producer;
  readonly #lingerMs: number;
  readonly #batchSize: number;
  readonly #compression: CompressionTypes;
  #queue: Pending[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #inflight: Promise<void> | undefined;
  #idle: (() => void)[] = [];

  constructor(producer: Producer, options: BatchingProducerOptions = {}) {
    const { lingerMs = 5, batchSize = 10_000, compression = CompressionTypes.None } = options;
    if (!(lingerMs >= 0)) {
      throw new RangeError(`Cannot batch as 'lingerMs' must be >= 0: current value is ${lingerMs}`);
    }
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(
        `Cannot batch as 'batchSize' must be a positive integer: current value is ${batchSize}`,
      );
    }
    this.#producer = producer;
    this.#lingerMs = lingerMs;
    this.#batchSize = batchSize;
    this.#compression = compression;
  }

  /** The underlying kafkajs producer. */
  get producer(): Producer {
    return this.#producer;
  }

  connect(): Promise<void> {
    return this.#producer.connect();
  }

  /** Queues a message; resolves with its partition/offset metadata once acknowledged. */
  send(topic: string, message: Message): Promise<RecordMetadata | undefined> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ topic, message, resolve, reject });
      if (this.#queue.length >= this.#batchSize) this.#kick();
      else if (this.#timer === undefined && !this.#inflight) {
        this.#timer = setTimeout(() => this.#kick(), this.#lingerMs);
      }
    });
  }

  #kick(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (!this.#inflight) this.#inflight = this.#drain();
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#batchSize);
      const byTopic = new Map<string, Message[]>();
      for (const p of batch) {
        const list = byTopic.get(p.topic) ?? [];
        list.push(p.message);
        byTopic.set(p.topic, list);
      }
      try {
        const meta = await this.#producer.sendBatch({
          acks: -1,
          compression: this.#compression,
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        });
        for (const p of batch) {
          p.resolve(meta.find((m) => m.topicName === p.topic));
        }
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
    this.#inflight = undefined;
    for (const f of this.#idle.splice(0)) f();
  }

  /** Sends everything queued and waits for its acknowledgement. */
  async flush(): Promise<void> {
    if (this.#queue.length === 0 && !this.#inflight) return;
    const idle = new Promise<void>((r) => this.#idle.push(r));
    this.#kick();
    await idle;
  }

  /** Flushes, then disconnects. */
  async disconnect(): Promise<void> {
    await this.flush();
    await this.#producer.disconnect();
  }
}
