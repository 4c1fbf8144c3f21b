/**
 * Benchmarks as recipes: the bench stack on its own ports, Kafka's perf tools beside our code,
 * statistics, HTTP load with `hey`, and one way to report: `markdownTable` for the tables and
 * `writeReport` for `bench-results/<name>.{md,json}`, from which `page.ts` makes BENCHMARKS.md.
 * @module
 */
export * from "./bench.ts";
export * from "./stats.ts";
export * from "./report.ts";
export * from "./page.ts";
export * from "./http_load.ts";
export * from "./open_loop.ts";
export * from "./arrivals.ts";
export * from "./running.ts";
export * from "./svg.ts";
export * from "./mirror.ts";
export * from "./mirror_report.ts";
