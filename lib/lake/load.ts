/**
 * Test and benchmark load for the lake: many order events (lib/schemas/order.ts) produced
 * fast, with an optional share of records that fail the schema (for the DLQ path).
 *
 * @example
 * ```ts
 * import { produceOrders } from "./load.ts";
 * await produceOrders(kafka, "orders", 100_000, { invalidEvery: 1000 });
 * ```
 * @module
 */
import type { Kafka, Message } from "kafkajs";
import type { Order } from "../schemas/mod.ts";

/** Options of {@linkcode produceOrders}. */
export interface ProduceOrdersOptions {
  /** Every n-th record (n > 0) is made invalid: a negative total price. @default 0 (none) */
  invalidEvery?: number;
  /** Records per produce request. @default 5000 */
  batch?: number;
  /** Called after each request with the records sent so far. */
  onProgress?: (sent: number) => void;
  /** Order id prefix, so runs do not collide. @default "o" */
  prefix?: string;
}

/** The `i`-th order of a load run (deterministic). */
export function makeOrder(i: number, prefix = "o"): Order {
  const qty = 1 + (i % 5);
  const price = Math.round((10 + (i % 97) * 1.25) * 100) / 100;
  return {
    order_id: `${prefix}-${i}`,
    user_id: `user-${i % 1000}`,
    items: [{ product_id: `p-${i % 300}`, quantity: qty, price }],
    total_price: Math.round(qty * price * 100) / 100,
    status: (["created", "paid", "shipped", "cancelled"] as const)[i % 4],
    created_at: new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString(),
  };
}

/**
 * Produces `count` orders keyed by order id (acks=all); returns how many were made invalid.
 */
export async function produceOrders(
  kafka: Kafka,
  topic: string,
  count: number,
  options: ProduceOrdersOptions = {},
): Promise<{ invalid: number }> {
  const { invalidEvery = 0, batch = 5000, onProgress, prefix = "o" } = options;
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  let invalid = 0;
  try {
    for (let start = 0; start < count; start += batch) {
      const messages: Message[] = [];
      for (let i = start; i < Math.min(count, start + batch); i++) {
        const o = makeOrder(i, prefix) as unknown as Record<string, unknown>;
        if (invalidEvery > 0 && i % invalidEvery === invalidEvery - 1) {
          o.total_price = -1;
          invalid++;
        }
        messages.push({ key: o.order_id as string, value: JSON.stringify(o) });
      }
      await producer.send({ topic, acks: -1, messages });
      onProgress?.(Math.min(count, start + batch));
    }
  } finally {
    await producer.disconnect();
  }
  return { invalid };
}
