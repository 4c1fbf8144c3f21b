/**
 * The practice 2 order event (topic `orders`): JSON Schema, TypeScript type and codec.
 * @module
 */
import { jsonCodec } from "./validator.ts";

/** One line of an order. */
export interface OrderItem {
  product_id: string;
  quantity: number;
  price: number;
}

/** An order event. `order_id` is also the message key. */
export interface Order {
  order_id: string;
  user_id: string;
  items: OrderItem[];
  total_price: number;
  status: "created" | "paid" | "shipped" | "cancelled";
  created_at: string;
}

/** JSON Schema of {@linkcode Order}. */
export const ORDER_SCHEMA = {
  $id: "order.v1",
  type: "object",
  additionalProperties: false,
  required: ["order_id", "user_id", "items", "total_price", "status", "created_at"],
  properties: {
    order_id: { type: "string", minLength: 1, maxLength: 64 },
    user_id: { type: "string", minLength: 1, maxLength: 64 },
    items: {
      type: "array",
      minItems: 1,
      maxItems: 100,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["product_id", "quantity", "price"],
        properties: {
          product_id: { type: "string", minLength: 1 },
          quantity: { type: "integer", minimum: 1 },
          price: { type: "number", minimum: 0 },
        },
      },
    },
    total_price: { type: "number", minimum: 0 },
    status: { enum: ["created", "paid", "shipped", "cancelled"] },
    created_at: { type: "string", format: "date-time" },
  },
} as const;

/** Codec of order events: validated JSON. */
export const orderCodec = jsonCodec<Order>("order", ORDER_SCHEMA);
