/**
 * Per-client runners of `bench:produce` and `bench:consume`: kafkajs (the project's paths and
 * tuned), @platformatic/kafka and kafka-ts.
 *
 * @module
 */
export * from "./types.ts";
export * from "./kafkajs.ts";
export * from "./platformatic.ts";
export * from "./kafka_ts.ts";
export * from "./cpu_profile.ts";
