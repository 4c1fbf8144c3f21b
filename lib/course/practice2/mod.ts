/**
 * Practice 2: the order producer and the two kinds of consumer (single, at-least-once with
 * auto-commit; batch, one manual commit per batch) on the orders topic.
 * @module
 */
export * from "./topics.ts";
export * from "./producer.ts";
export * from "./consumer.ts";
