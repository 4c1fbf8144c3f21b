/**
 * The local stack: every service of the platform as a local process, no Docker: Kafka (KRaft,
 * plaintext and secure), PostgreSQL, Kafka Connect with Debezium, the schema registry, HDFS,
 * a standalone Spark master and worker, Prometheus and Alertmanager, the Deno services, and
 * Kafka's own tools from the pinned release.
 *
 * Grouped by job behind this one front door:
 * - `process/` — the process supervisor: detached processes and their pid files, the service
 *   contract and the shape of a service's data, pinned downloads (`bundles.ts`,
 *   `artifacts.ts` with `artifacts.lock.json`), download progress, pinned Python tools;
 * - `services/` — one definition per service: Kafka (plaintext, secure, the mirror cluster),
 *   MirrorMaker 2, PostgreSQL, Kafka Connect, the schema registry, HDFS, the standalone
 *   Spark cluster, Prometheus and Alertmanager, the JMX exporter, the Deno services;
 * - `tools/` — Kafka operations through Kafka's own tools: the tool runner, the console
 *   reader, partition reassignment, broker faults under load;
 * - here — the stack of one data folder (`stack.ts`) and the test suite's stack
 *   (`test_stack.ts`).
 *
 * @example
 * ```ts
 * import { Stack } from "./mod.ts";
 * await new Stack({ brokers: 3 }).up();
 * ```
 * @module
 */
export * from "./stack.ts";
export * from "./test_stack.ts";

export * from "./process/service.ts";
export * from "./process/shape.ts";
export * from "./process/process.ts";
export * from "./process/artifacts.ts";
export * from "./process/bundles.ts";
export * from "./process/python.ts";

export * from "./services/kafka.ts";
export * from "./services/secure_kafka.ts";
export * from "./services/mirror.ts";
export * from "./services/mirror_maker.ts";
export * from "./services/mirror_watchdog.ts";
export * from "./services/postgres.ts";
export * from "./services/connect.ts";
export * from "./services/registry.ts";
export * from "./services/hdfs.ts";
export * from "./services/spark.ts";
export * from "./services/prometheus.ts";
export * from "./services/jmx.ts";
export * from "./services/deno_service.ts";

export * from "./tools/kafka_tools.ts";
export * from "./tools/console_reader.ts";
export * from "./tools/reassign.ts";
export * from "./tools/faults.ts";
