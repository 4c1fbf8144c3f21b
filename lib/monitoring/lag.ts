/**
 * Consumer-group lag as Prometheus metrics: a small Deno exporter that asks the cluster for
 * every group's committed offsets and every partition's end offset, and serves
 * `kafka_consumergroup_lag{group,topic,partition}` on `/metrics` (the brokers do not expose
 * lag over JMX). The stack starts it with `--monitoring`; the consumer-lag alert reads it.
 *
 * @example
 * ```ts
 * import { groupLag } from "./lag.ts";
 * groupLag([{ topic: "t", partitions: [{ partition: 0, offset: "5" }] }], { t: { 0: 12 } });
 * // [{ topic: "t", partition: 0, lag: 7 }]
 * ```
 * @module
 */
import type { Admin } from "kafkajs";
import client from "prom-client";
import { registry } from "./metrics.ts";

/** Lag of one partition of a group. */
export interface PartitionLag {
  topic: string;
  partition: number;
  lag: number;
}

/**
 * Lag per partition from a group's committed offsets and the partitions' end offsets.
 * Partitions without a committed offset (`-1`) are left out; lag is never negative.
 */
export function groupLag(
  committed: { topic: string; partitions: { partition: number; offset: string }[] }[],
  ends: Record<string, Record<number, number>>,
): PartitionLag[] {
  const out: PartitionLag[] = [];
  for (const t of committed) {
    for (const p of t.partitions) {
      const offset = Number(p.offset);
      const end = ends[t.topic]?.[p.partition];
      if (offset < 0 || end === undefined) continue;
      out.push({ topic: t.topic, partition: p.partition, lag: Math.max(0, end - offset) });
    }
  }
  return out;
}

/** The lag gauge (registered once in the project's registry). */
export const lagGauge: client.Gauge<string> =
  (registry.getSingleMetric("kafka_consumergroup_lag") as client.Gauge<string>) ??
    new client.Gauge({
      name: "kafka_consumergroup_lag",
      help: "Messages a consumer group is behind the end of a partition",
      labelNames: ["group", "topic", "partition"],
      registers: [registry],
    });

/** A group's committed offsets, as kafkajs' `fetchOffsets` returns them. */
export type CommittedOffsets = Awaited<ReturnType<Admin["fetchOffsets"]>>;

/**
 * A group's committed offsets on the topics that exist. Asked for all its topics, the broker
 * answers an error per partition for offsets it cannot serve (e.g. UNKNOWN_TOPIC_OR_PARTITION
 * for a topic deleted while the group's coordinator missed the clean-up), and kafkajs then
 * throws for the whole group. So on an error the group is asked again for the topics that exist
 * (`existing`, listed once per collection by the caller); partitions it never committed on come
 * back at -1 and are left out by {@linkcode groupLag}. (The lag exporters' failure that stayed
 * for good had another cause — see `tasks/monitoring/lag_exporter.ts` — this one is defence.)
 */
export async function committedOffsets(
  admin: Admin,
  groupId: string,
  existing: () => Promise<string[]>,
): Promise<CommittedOffsets> {
  try {
    return await admin.fetchOffsets({ groupId });
  } catch {
    // kafkajs may wrap the broker's error after its retries: ask again whatever it was; if the
    // cause is elsewhere (the coordinator away), the second request throws it.
    const topics = await existing();
    if (topics.length === 0) return [];
    return (await admin.fetchOffsets({ groupId, topics }))
      .filter((t) => t.partitions.some((p) => Number(p.offset) >= 0));
  }
}

/** Lists the cluster's topics at most once per call of the returned function's owner. */
export function topicLister(admin: Admin): () => Promise<string[]> {
  let listed: Promise<string[]> | undefined;
  return () => (listed ??= admin.listTopics());
}

/**
 * Reads every group's lag once and sets {@linkcode lagGauge}; returns the rows it set. A group
 * whose offsets cannot be read is left out and passed to `onGroupError`.
 */
export async function collectLag(
  admin: Admin,
  options: { onGroupError?: (group: string, err: Error) => void } = {},
): Promise<(PartitionLag & { group: string })[]> {
  const { groups } = await admin.listGroups();
  const rows: (PartitionLag & { group: string })[] = [];
  const ends: Record<string, Record<number, number>> = {};
  const existing = topicLister(admin);
  for (const { groupId } of groups) {
    // One group whose offsets cannot be read (even asked for the existing topics) is left out
    // of this round, not the end of every group's lag.
    let committed: CommittedOffsets;
    try {
      committed = await committedOffsets(admin, groupId, existing);
    } catch (err) {
      options.onGroupError?.(groupId, err as Error);
      continue;
    }
    for (const t of committed) {
      if (ends[t.topic]) continue;
      ends[t.topic] = {};
      // A group may still hold offsets of a deleted topic: asking for its end offsets makes
      // kafkajs retry the topic's metadata for its whole retry budget, which stalls the round.
      if (!(await existing()).includes(t.topic)) continue;
      try {
        for (const p of await admin.fetchTopicOffsets(t.topic)) {
          ends[t.topic][p.partition] = Number(p.high);
        }
      } catch { /* topic deleted since the commit */ }
    }
    for (const row of groupLag(committed, ends)) rows.push({ group: groupId, ...row });
  }
  lagGauge.reset();
  for (const r of rows) {
    lagGauge.set({ group: r.group, topic: r.topic, partition: String(r.partition) }, r.lag);
  }
  return rows;
}
