/**
 * The local stack: every service of the platform as a local process, no Docker: Kafka (KRaft,
 * plaintext and secure), PostgreSQL, Kafka Connect with Debezium, the schema registry, HDFS,
 * Prometheus and Alertmanager, the Deno services, and Kafka's own tools from the pinned release.
 *
 * @example
 * ```ts
 * import { Stack } from "./mod.ts";
 * await new Stack({ brokers: 3 }).up();
 * ```
 * @module
 */
export * from "./stack.ts";
export * from "./service.ts";
export * from "./shape.ts";
export * from "./process.ts";
export * from "./artifacts.ts";
export * from "./bundles.ts";
export * from "./kafka.ts";
export * from "./secure_kafka.ts";
export * from "./kafka_tools.ts";
export * from "./console_reader.ts";
export * from "./faults.ts";
export * from "./reassign.ts";
export * from "./postgres.ts";
export * from "./connect.ts";
export * from "./mirror.ts";
export * from "./mirror_maker.ts";
export * from "./registry.ts";
export * from "./hdfs.ts";
export * from "./prometheus.ts";
export * from "./jmx.ts";
export * from "./deno_service.ts";
export * from "./python.ts";
export * from "./test_stack.ts";
