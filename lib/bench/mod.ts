/**
 * Benchmarks as recipes: the bench stack on its own ports, Kafka's perf tools beside our code,
 * statistics, and one way to report: `markdownTable` for the tables and `writeReport` for
 * `bench-results/<name>.{md,json}`.
 * @module
 */
export * from "./bench.ts";
export * from "./stats.ts";
export * from "./report.ts";
