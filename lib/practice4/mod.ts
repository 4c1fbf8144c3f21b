/**
 * Practice 4: a replicated topic, partition reassignment and a broker failure drill.
 * @module
 */
export * from "./reassign.ts";
export * from "./failover.ts";
