/**
 * Stream processing on kafkajs: {@linkcode StreamApp} (source topics → a function → sink
 * topics, exactly-once or at-least-once, dead letters, metrics) and changelog-backed tables.
 *
 * @example
 * ```ts
 * import { StreamApp } from "./mod.ts";
 * const app = new StreamApp(kafka, { appId: "my-filter", sources: [...], sinks: [...] });
 * await app.start();
 * ```
 * @module
 */
export * from "./options.ts";
export * from "./app.ts";
export * from "./table.ts";
export * from "./metrics.ts";
