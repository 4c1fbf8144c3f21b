/**
 * Where the SHOP API puts the products it accepts: the {@linkcode ProductSink} seam (a test of
 * the handler passes its own), and {@linkcode KafkaProductSink}, which produces each product to
 * `input-products` (key `product_id`, acks=all, idempotent, headers `request-id` and `store-id`)
 * without letting a partition's batch outgrow the topic's record limit.
 *
 * @example
 * ```ts
 * import { KafkaProductSink } from "./sink.ts";
 * const sink = new KafkaProductSink(kafka);
 * await sink.connect();
 * const sent = await sink.send(product, value, { "request-id": "r1", "store-id": "store_001" });
 * await sink.close();
 * ```
 * @module
 */
import { type Kafka, Partitioners, type PartitionMetadata } from "kafkajs";
import { Buffer } from "node:buffer";
import type { Product } from "../../schemas/mod.ts";
import { PartitionedProducer, type SentRecord } from "../../kafka/mod.ts";
import { TOPICS } from "../topology.ts";
import { MAX_PRODUCT_VALUE_BYTES } from "./body.ts";

const encoder = new TextEncoder();

/** Where accepted products go (the Kafka sink; tests of the handler may pass their own). */
export interface ProductSink {
  /** Produces one product; resolves once it is acknowledged by all in-sync replicas. */
  send(product: Product, value: Uint8Array, headers: Record<string, string>): Promise<SentRecord>;
  /** Whether the sink can take products now (`/healthz`). */
  healthy(): boolean;
}

/** Options of {@linkcode KafkaProductSink}. */
export interface KafkaProductSinkOptions {
  /** Topic to produce to. @default "input-products" */
  topic?: string;
  /**
   * Bytes of records queued or in flight per partition at most (one batch stays under the
   * topic's limit). @default MAX_PRODUCT_VALUE_BYTES
   */
  maxBatchBytes?: number;
  /** Longest wait for more products of a partition before its batch goes out, ms. @default 5 */
  lingerMs?: number;
}

/**
 * Products to Kafka through a {@linkcode PartitionedProducer} (idempotent, acks=all, one batch
 * in flight per partition). kafkajs puts everything queued for a partition into one record
 * batch, and the broker refuses a batch over the topic's `max.message.bytes` as a whole: so the
 * sink picks each product's partition itself (the default partitioner, by key) and lets no more
 * than `maxBatchBytes` of records wait or fly per partition at a time.
 */
export class KafkaProductSink implements ProductSink {
  readonly producer: PartitionedProducer;
  readonly topic: string;
  readonly #kafka: Kafka;
  readonly #maxBatchBytes: number;
  readonly #partitioner = Partitioners.DefaultPartitioner();
  #partitions?: PartitionMetadata[];
  readonly #budget = new Map<number, { bytes: number; waiting: (() => void)[] }>();
  #connected = false;

  constructor(kafka: Kafka, options: KafkaProductSinkOptions = {}) {
    const {
      topic = TOPICS.inputProducts,
      maxBatchBytes = MAX_PRODUCT_VALUE_BYTES,
      lingerMs = 5,
    } = options;
    if (!Number.isInteger(maxBatchBytes) || maxBatchBytes < 1_024) {
      throw new RangeError(
        `Cannot produce as 'maxBatchBytes' must be an integer >= 1024: current value is ${maxBatchBytes}`,
      );
    }
    this.#kafka = kafka;
    this.topic = topic;
    this.#maxBatchBytes = maxBatchBytes;
    this.producer = new PartitionedProducer(kafka, { lingerMs });
  }

  /** Connects the producer and reads the topic's partitions. */
  async connect(): Promise<void> {
    await this.producer.connect();
    const admin = this.#kafka.admin();
    await admin.connect();
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [this.topic] });
      this.#partitions = meta.topics[0].partitions;
    } finally {
      await admin.disconnect().catch(() => {});
    }
    this.#connected = true;
  }

  /** Whether the producer is connected (between {@linkcode connect} and {@linkcode close}). */
  healthy(): boolean {
    return this.#connected;
  }

  /**
   * Produces one product to its partition (by key), waiting while the partition's queued and
   * in-flight records would outgrow `maxBatchBytes`; resolves with where it was written.
   */
  async send(
    product: Product,
    value: Uint8Array,
    headers: Record<string, string>,
  ): Promise<SentRecord> {
    if (!this.#partitions) throw new Error("the product sink is not connected");
    const key = product.product_id;
    const partition = this.#partitioner({
      topic: this.topic,
      partitionMetadata: this.#partitions,
      message: { key, value: null },
    });
    // Record size in a batch: value, key, headers and a varint-encoded record header.
    const size = value.length + encoder.encode(key).length + 32 +
      Object.entries(headers).reduce((n, [k, v]) => n + k.length + v.length + 8, 0);
    let b = this.#budget.get(partition);
    if (!b) this.#budget.set(partition, b = { bytes: 0, waiting: [] });
    const budget = b;
    while (budget.bytes > 0 && budget.bytes + size > this.#maxBatchBytes) {
      await new Promise<void>((r) => budget.waiting.push(r));
    }
    budget.bytes += size;
    try {
      return await this.producer.send(this.topic, {
        key,
        // kafkajs sizes a record by its bytes but writes a non-Buffer value as a string.
        value: Buffer.from(value.buffer, value.byteOffset, value.byteLength),
        partition,
        headers,
      });
    } finally {
      budget.bytes -= size;
      for (const wake of budget.waiting.splice(0)) wake();
    }
  }

  /** Flushes and disconnects. */
  async close(): Promise<void> {
    this.#connected = false;
    await this.producer.disconnect();
  }
}
