/**
 * Benchmarks as recipes: the bench stack on its own ports, Kafka's perf tools beside our code,
 * statistics, tables and saveBench for every benchmark's report.
 * @module
 */
export * from "./bench.ts";
export * from "./stats.ts";
export * from "./report.ts";
