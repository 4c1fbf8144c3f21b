/**
 * Practice 2's `KafkaOrderConsumer`, in the seed's two kinds, selected by `batchSize`:
 *
 * - **single** (`batchSize` 1): one message at a time, offsets auto-committed;
 * - **batch** (`batchSize` > 1): each fetch waits for at least `batchSize` messages' worth of
 *   bytes (fetch.min.bytes / fetch.max.wait), messages are gathered until `batchSize` are at
 *   hand, the batch is processed, then the offsets are committed once, manually. Like a fetch
 *   that returns what it has when fetch.max.wait passes, a partial batch goes out once its
 *   oldest message has waited `batchTimeoutMs`, so the tail of a stream is not held forever.
 *
 * Both are at-least-once. A record that fails to decode or validate is logged, written to
 * `<topic>.dlq` with the reason in headers, and skipped; the consumer keeps running.
 *
 * @example
 * ```ts
 * import { OrderConsumer } from "./consumer.ts";
 * const consumer = new OrderConsumer(kafka, { batchSize: 10, onOrders: (batch) => console.log(batch.length) });
 * await consumer.start();
 * // … later
 * await consumer.stop();
 * ```
 * @module
 */
import type {
  Consumer,
  EachBatchPayload,
  EachMessagePayload,
  Kafka,
  KafkaMessage,
  Producer,
} from "kafkajs";
import { DeadLetters, dlqTopic } from "../../kafka/mod.ts";
import { DeserializationError } from "../../schemas/mod.ts";
import { type Order, orderCodec } from "../../schemas/mod.ts";
import { counter } from "../../monitoring/mod.ts";
import { GROUPS, ORDERS_TOPIC } from "./topics.ts";

/** An order with where it came from. */
export interface ConsumedOrder {
  order: Order;
  partition: number;
  offset: string;
}

/** Options of an {@linkcode OrderConsumer}. */
export interface OrderConsumerOptions {
  /** 1 selects the single-message consumer, more the batch consumer. @default 10 */
  batchSize?: number;
  /** Topic to read. @default "orders" */
  topic?: string;
  /** Consumer group. @default "orders-single-consumer" or "orders-batch-consumer" */
  groupId?: string;
  /** Processing of each batch (single mode: batches of one). @default logs each order */
  onOrders?: (batch: ConsumedOrder[]) => void | Promise<void>;
  /** Where log lines go. @default console.log */
  log?: (line: string) => void;
  /** Longest wait of a fetch for `batchSize` messages' worth of bytes, ms. @default 1000 */
  fetchMaxWaitMs?: number;
  /** Batch mode: longest time a partial batch waits for more messages, ms. @default 5000 */
  batchTimeoutMs?: number;
}

/** Counts since start, for tests and the demo. */
export interface ConsumerStats {
  consumed: number;
  processed: number;
  deadLettered: number;
  batches: number;
  commits: number;
}

/** Typical size of an order event, used to turn `batchSize` into fetch.min.bytes. */
const ORDER_BYTES_ESTIMATE = 250;

const metrics = {
  consumed: () => counter("practicum_messages_consumed_total", "Records read", ["topic", "group"]),
  processed: () =>
    counter("practicum_messages_processed_total", "Records processed", ["topic", "group"]),
  dlq: () =>
    counter("practicum_messages_dlq_total", "Records sent to the dead-letter topic", [
      "topic",
      "group",
    ]),
  batches: () =>
    counter("practicum_batches_total", "Batches processed and committed", ["topic", "group"]),
};

/** See the module doc. */
export class OrderConsumer {
  readonly mode: "single" | "batch";
  readonly batchSize: number;
  readonly topic: string;
  readonly groupId: string;
  readonly stats: ConsumerStats = {
    consumed: 0,
    processed: 0,
    deadLettered: 0,
    batches: 0,
    commits: 0,
  };
  readonly #consumer: Consumer;
  readonly #dlqProducer: Producer;
  readonly #dlq: DeadLetters;
  readonly #onOrders: (batch: ConsumedOrder[]) => void | Promise<void>;
  readonly #log: (line: string) => void;
  #buffer: { item?: ConsumedOrder; partition: number; offset: string }[] = [];
  #batchTimer: ReturnType<typeof setTimeout> | undefined;
  #flushing: Promise<void> = Promise.resolve();
  readonly #batchTimeoutMs: number;
  #running = false;
  #current: Promise<void> = Promise.resolve();

  constructor(kafka: Kafka, options: OrderConsumerOptions = {}) {
    const {
      batchSize = 10,
      topic = ORDERS_TOPIC.topic,
      log = console.log,
      fetchMaxWaitMs = 1000,
      batchTimeoutMs = 5000,
    } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(
        `Cannot consume as 'batchSize' must be a positive integer: current value is ${batchSize}`,
      );
    }
    if (!(batchTimeoutMs > 0)) {
      throw new RangeError(
        `Cannot consume as 'batchTimeoutMs' must be > 0: current value is ${batchTimeoutMs}`,
      );
    }
    this.#batchTimeoutMs = batchTimeoutMs;
    this.mode = batchSize === 1 ? "single" : "batch";
    this.batchSize = batchSize;
    this.topic = topic;
    this.groupId = options.groupId ?? GROUPS[this.mode];
    this.#log = log;
    this.#onOrders = options.onOrders ?? ((batch) => {
      for (const { order, partition, offset } of batch) {
        this.#log(
          `[${this.mode}] order ${order.order_id} user=${order.user_id} items=${order.items.length} ` +
            `total=${order.total_price} (partition ${partition}, offset ${offset})`,
        );
      }
    });
    this.#consumer = kafka.consumer({
      groupId: this.groupId,
      minBytes: this.mode === "batch" ? batchSize * ORDER_BYTES_ESTIMATE : 1,
      maxWaitTimeInMs: fetchMaxWaitMs,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
      allowAutoTopicCreation: false,
    });
    this.#dlqProducer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 5_000 },
    });
    this.#dlq = new DeadLetters(this.#dlqProducer);
  }

  /** Connects, subscribes from the earliest offset for a new group, and starts consuming. */
  async start(): Promise<void> {
    await this.#dlqProducer.connect();
    await this.#consumer.connect();
    await this.#consumer.subscribe({ topic: this.topic, fromBeginning: true });
    this.#running = true;
    if (this.mode === "single") {
      await this.#consumer.run({
        autoCommit: true,
        autoCommitInterval: 1_000,
        eachMessage: (p) => (this.#current = this.#eachMessage(p)),
      });
    } else {
      await this.#consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: (p) => (this.#current = this.#eachBatch(p)),
      });
    }
  }

  /** Decodes one record; a bad one goes to the DLQ and yields undefined. */
  async #decode(partition: number, message: KafkaMessage): Promise<ConsumedOrder | undefined> {
    this.stats.consumed++;
    metrics.consumed().inc({ topic: this.topic, group: this.groupId });
    try {
      return { order: orderCodec.decode(message.value), partition, offset: message.offset };
    } catch (err) {
      if (!(err instanceof DeserializationError)) throw err;
      await this.#dlq.publish({ topic: this.topic, partition, ...message }, err.message, err.stage);
      this.stats.deadLettered++;
      metrics.dlq().inc({ topic: this.topic, group: this.groupId });
      this.#log(
        `[${this.mode}] skipped partition ${partition} offset ${message.offset}: ${err.message} → ${
          dlqTopic(this.topic)
        }`,
      );
      return undefined;
    }
  }

  async #process(items: ConsumedOrder[]): Promise<void> {
    if (items.length > 0) await this.#onOrders(items);
    this.stats.processed += items.length;
    metrics.processed().inc({ topic: this.topic, group: this.groupId }, items.length);
  }

  async #eachMessage({ partition, message }: EachMessagePayload): Promise<void> {
    const item = await this.#decode(partition, message);
    if (item) await this.#process([item]);
  }

  async #eachBatch(
    { batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload,
  ): Promise<void> {
    for (const message of batch.messages) {
      if (!this.#running || !isRunning() || isStale()) break;
      const item = await this.#decode(batch.partition, message);
      this.#buffer.push({ item, partition: batch.partition, offset: message.offset });
      resolveOffset(message.offset);
      if (this.#buffer.length >= this.batchSize) await this.#flushBatch();
      else {this.#batchTimer ??= setTimeout(
          () => this.#flushBatch().catch((e) => this.#log(`[batch] processing failed: ${e}`)),
          this.#batchTimeoutMs,
        );}
    }
    if (this.#buffer.length > 0) this.#logHeld();
    await heartbeat();
  }

  /** Says which records wait, read but neither processed nor committed, for a full batch. */
  #logHeld(): void {
    const held = this.#buffer.map((b) => `p${b.partition}@${b.offset}`).join(" ");
    this.#log(
      `[batch] holding ${this.#buffer.length} of ${this.batchSize} (not committed): ${held}; ` +
        `processed when the batch is full or after ${this.#batchTimeoutMs} ms`,
    );
  }

  /** Processes the gathered batch, then commits its offsets in one request (one flush at a time). */
  #flushBatch(): Promise<void> {
    clearTimeout(this.#batchTimer);
    this.#batchTimer = undefined;
    this.#flushing = this.#flushing.catch(() => {}).then(() => this.#flushNow());
    return this.#flushing;
  }

  async #flushNow(): Promise<void> {
    const batch = this.#buffer.splice(0);
    if (batch.length === 0) return;
    const items = batch.flatMap((b) => (b.item ? [b.item] : []));
    await this.#process(items);
    const next = new Map<number, bigint>();
    for (const b of batch) {
      const o = BigInt(b.offset) + 1n;
      if ((next.get(b.partition) ?? -1n) < o) next.set(b.partition, o);
    }
    const offsets = [...next].map(([partition, offset]) => ({
      topic: this.topic,
      partition,
      offset: String(offset),
    }));
    try {
      await this.#consumer.commitOffsets(offsets);
      this.stats.commits++;
    } catch (err) {
      // A rebalance moved the partitions: the new owner re-reads them (at-least-once).
      this.#log(`[batch] commit failed, the batch will be re-delivered: ${(err as Error).message}`);
    }
    this.stats.batches++;
    metrics.batches().inc({ topic: this.topic, group: this.groupId });
    this.#log(
      `[batch] processed ${items.length} orders (${
        batch.length - items.length
      } dead-lettered), committed ${offsets.map((o) => `p${o.partition}@${o.offset}`).join(" ")}`,
    );
  }

  /**
   * Stops consuming. The batch consumer processes and commits what it has gathered first,
   * so a graceful stop leaves nothing half-done.
   */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#consumer.pause([{ topic: this.topic }]);
    await this.#current.catch(() => {});
    if (this.mode === "batch") await this.#flushBatch();
    await this.#consumer.stop();
    await this.#consumer.disconnect();
    await this.#dlqProducer.disconnect();
  }
}
