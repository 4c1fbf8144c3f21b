/**
 * Practice 2's `KafkaOrderProducer`: order events validated against their JSON Schema before
 * sending, key = order id, acks=all, idempotent, with retries.
 *
 * @example
 * ```ts
 * import { OrderProducer, sampleOrder } from "./producer.ts";
 * const producer = new OrderProducer(kafka);
 * await producer.connect();
 * await producer.send(sampleOrder(1));
 * await producer.disconnect();
 * ```
 * @module
 */
import type { Kafka } from "kafkajs";
import { PartitionedProducer, type SentRecord } from "../../kafka/mod.ts";
import { type Order, orderCodec } from "../../schemas/mod.ts";
import { ORDERS_TOPIC } from "./topics.ts";

/** Options of an {@linkcode OrderProducer}. */
export interface OrderProducerOptions {
  /** Target topic. @default "orders" */
  topic?: string;
  /** Longest wait for more orders before a request goes out, ms. @default 5 */
  lingerMs?: number;
}

/** See the module doc. Throws `SerializationError` from `send` for an invalid order. */
export class OrderProducer {
  readonly topic: string;
  readonly #out: PartitionedProducer;

  constructor(kafka: Kafka, options: OrderProducerOptions = {}) {
    const { topic = ORDERS_TOPIC.topic, lingerMs = 5 } = options;
    this.topic = topic;
    // Idempotent, acks=all, one request in flight per partition, a failed batch re-sent
    // unchanged (see PartitionedProducer for why kafkajs' own retries are not enough).
    this.#out = new PartitionedProducer(kafka, { lingerMs, maxAttempts: 60 });
  }

  connect(): Promise<void> {
    return this.#out.connect();
  }

  /** Validates, serializes and sends one order; resolves when all in-sync replicas have it. */
  async send(order: Order): Promise<SentRecord> {
    const value = orderCodec.encode(order); // throws SerializationError before anything is sent
    return await this.#out.send(this.topic, {
      key: order.order_id,
      value: Buffer.from(value),
      headers: { "content-type": "application/json", "schema": "order.v1" },
    });
  }

  disconnect(): Promise<void> {
    return this.#out.disconnect();
  }
}

const PRODUCTS = ["p-100", "p-200", "p-300", "p-400", "p-500"];

/** A plausible order; `n` makes the user and items vary deterministically. */
export function sampleOrder(n: number): Order {
  const items = Array.from({ length: 1 + (n % 3) }, (_, i) => ({
    product_id: PRODUCTS[(n + i) % PRODUCTS.length],
    quantity: 1 + ((n + i) % 4),
    price: Math.round((9.99 + ((n * 7 + i * 13) % 90)) * 100) / 100,
  }));
  const total = items.reduce((s, i) => s + i.quantity * i.price, 0);
  return {
    order_id: crypto.randomUUID(),
    user_id: `user-${1 + (n % 10)}`,
    items,
    total_price: Math.round(total * 100) / 100,
    status: "created",
    created_at: new Date().toISOString(),
  };
}

/**
 * An order that cannot be serialized (its total is a BigInt, which JSON has no form for);
 * the producer demonstrates that it is refused with a clear error before sending.
 */
export function unserializableOrder(): Order {
  return { ...sampleOrder(0), total_price: 10n as unknown as number };
}
