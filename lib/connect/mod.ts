/**
 * Kafka Connect from Deno: the REST client and Connect's own metrics.
 * @module
 */
export * from "./client.ts";
export * from "./sink.ts";
export * from "./postgres.ts";
