/**
 * Prometheus metrics of stream processors, registered once in the project's registry
 * ({@linkcode ../metrics.ts}) and labelled by application id and topic, so one process can
 * host several processors and `/metrics` still tells them apart.
 *
 * `in = out + filtered + dlq` holds per application and source topic for committed work:
 * the counters move only after the transaction that holds a record's results has committed.
 *
 * @example
 * ```ts
 * import { streamMetrics } from "./metrics.ts";
 * const m = streamMetrics();
 * m.recordsIn.inc({ app: "practice3", topic: "messages" });
 * ```
 * @module
 */
import client from "prom-client";
import { counter, histogram, registry } from "../monitoring/mod.ts";

/** The metric handles of the streams runtime. */
export interface StreamMetrics {
  recordsIn: client.Counter<string>;
  recordsOut: client.Counter<string>;
  recordsFiltered: client.Counter<string>;
  recordsDlq: client.Counter<string>;
  recordsProduced: client.Counter<string>;
  transactions: client.Counter<string>;
  aborts: client.Counter<string>;
  latency: client.Histogram<string>;
  lag: client.Gauge<string>;
  tableEntries: client.Gauge<string>;
}

function gauge(name: string, help: string, labelNames: string[]): client.Gauge<string> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as client.Gauge<string>;
  return new client.Gauge({ name, help, labelNames, registers: [registry] });
}

let cached: StreamMetrics | undefined;

/** Returns the runtime's metrics (created on first use). */
export function streamMetrics(): StreamMetrics {
  if (cached) return cached;
  const l = ["app", "topic"];
  cached = {
    recordsIn: counter("streams_records_in_total", "Source records whose outcome committed", l),
    recordsOut: counter(
      "streams_records_out_total",
      "Source records that produced output or a table change",
      l,
    ),
    recordsFiltered: counter(
      "streams_records_filtered_total",
      "Source records that produced nothing (filtered out)",
      l,
    ),
    recordsDlq: counter(
      "streams_records_dlq_total",
      "Source records written to the dead-letter topic",
      l,
    ),
    recordsProduced: counter(
      "streams_records_produced_total",
      "Records written to sink, changelog and dead-letter topics (committed)",
      l,
    ),
    transactions: counter(
      "streams_transactions_total",
      "Committed transactions (exactly-once) or offset commits (at-least-once)",
      ["app"],
    ),
    aborts: counter("streams_transaction_aborts_total", "Aborted or failed transactions", ["app"]),
    latency: histogram(
      "streams_processing_latency_seconds",
      "Time from fetching a record to committing its results",
      ["app"],
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    ),
    lag: gauge(
      "streams_consumer_lag",
      "Records between the committed position and the end of a source partition",
      ["app", "topic", "partition"],
    ),
    tableEntries: gauge("streams_table_entries", "Entries in a table", ["app", "table"]),
  };
  return cached;
}
