/**
 * Counting a committed batch: per source topic `in = out + filtered + dlq` (the app's stats and
 * its Prometheus counters move together, and only after the commit), records produced per
 * topic, transactions, and fetch-to-commit latency.
 * @module
 */
import type { Message } from "kafkajs";
import type { TopicStats } from "./options.ts";
import type { StreamMetrics } from "./metrics.ts";

/** What became of one source record. */
export interface Outcome {
  kind: "out" | "filtered" | "dlq";
  messages: { topic: string; message: Message }[];
}

/** Adds a committed batch's outcomes to `stats` and the metrics. */
export function account(
  metrics: StreamMetrics,
  app: string,
  stats: TopicStats,
  topic: string,
  outcomes: Outcome[],
  latencySeconds: number,
): void {
  const labels = { app, topic };
  let out = 0, filtered = 0, dlq = 0;
  for (const o of outcomes) {
    if (o.kind === "out") out++;
    else if (o.kind === "filtered") filtered++;
    else dlq++;
  }
  stats.in += outcomes.length;
  stats.out += out;
  stats.filtered += filtered;
  stats.dlq += dlq;
  metrics.recordsIn.inc(labels, outcomes.length);
  if (out) metrics.recordsOut.inc(labels, out);
  if (filtered) metrics.recordsFiltered.inc(labels, filtered);
  if (dlq) metrics.recordsDlq.inc(labels, dlq);
  const produced = new Map<string, number>();
  for (const o of outcomes) {
    for (const m of o.messages) produced.set(m.topic, (produced.get(m.topic) ?? 0) + 1);
  }
  for (const [t, n] of produced) metrics.recordsProduced.inc({ app, topic: t }, n);
  metrics.transactions.inc({ app });
  // Every record of the batch waited from the fetch to the commit.
  for (let i = 0; i < outcomes.length; i++) metrics.latency.observe({ app }, latencySeconds);
}
