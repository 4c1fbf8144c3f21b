/**
 * Kafka: client factory, topic helpers, dead letters, an exactly-once-safe batching producer, error explanations, secure client settings.
 * @module
 */
export * from "./client.ts";
export * from "./topics.ts";
export * from "./dlq.ts";
export * from "./errors.ts";
export * from "./secure_config.ts";
export * from "./partition_producer.ts";
export * from "./acl.ts";
export * from "./probes.ts";
export * from "./read_committed.ts";
export * from "./topic_range.ts";
