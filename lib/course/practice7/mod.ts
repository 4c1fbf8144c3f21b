/**
 * Practice 7: Avro through the schema registry (task 1) and Kafka → HDFS (task 2).
 * @module
 */
export * from "./topics.ts";
export * from "../../registry/mod.ts";
export * from "./avro.ts";
export * from "./hdfs_consumer.ts";
