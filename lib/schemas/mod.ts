/**
 * One schema per event type, with validators and TypeScript types.
 * @module
 */
export * from "./validator.ts";
export * from "./order.ts";
export * from "./hadoop_event.ts";
export * from "./user_avro.ts";
export * from "./chat.ts";
export * from "./product.ts";
export * from "./user_activity.ts";
export * from "./debezium.ts";
