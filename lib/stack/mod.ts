/**
 * The local stack: real Apache Kafka (KRaft) and PostgreSQL as local processes, no Docker.
 *
 * @example
 * ```ts
 * import { Stack } from "./mod.ts";
 * await new Stack({ brokers: 3 }).up();
 * ```
 * @module
 */
export * from "./stack.ts";
export * from "./kafka.ts";
export * from "./secure_kafka.ts";
export * from "./postgres.ts";
export * from "./service.ts";
export * from "./endpoints.ts";
export { bundleClasspath, fetchBundle } from "./artifacts.ts";
export { defaultStackDir, PROJECT_ROOT } from "./paths.ts";
export { type KafkaToolOptions, runKafkaTool } from "./kafka_tools.ts";
