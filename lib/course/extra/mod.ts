/**
 * The extra task: a masked JDBC-style source connector over customers.users and its throughput
 * experiments.
 * @module
 */
export * from "./users.ts";
export * from "./connector.ts";
export * from "./experiments.ts";
export * from "./run.ts";
