/**
 * Kafka: client factory, topic helpers, dead letters and a batching producer.
 * @module
 */
export * from "./client.ts";
export * from "./topics.ts";
export * from "./dlq.ts";
export * from "./batch_producer.ts";
export * from "./errors.ts";
export * from "./secure_config.ts";
export * from "./partition_producer.ts";
