/**
 * Observability of every Deno service: the shared prom-client registry, /metrics and /healthz
 * serving, and the consumer-lag exporter.
 * @module
 */
export * from "./metrics.ts";
export * from "./lag.ts";
export * from "./cluster.ts";
export * from "./job_status.ts";
