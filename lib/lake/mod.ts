/**
 * The data lake: Kafka → Parquet on HDFS, exactly once (see {@linkcode LakeSink}), with a
 * small WebHDFS client and the Parquet writers compared in `deno task bench:lake`.
 * @module
 */
export * from "./webhdfs.ts";
export * from "./columns.ts";
export * from "./parquet.ts";
export * from "./layout.ts";
export * from "./sink.ts";
export * from "./tables.ts";
export * from "./load.ts";
export * from "./verify.ts";
export * from "./dead_letters.ts";
export * from "./run.ts";
