/**
 * A Kafka cluster's health as Prometheus metrics, read through the admin API (so it works for a
 * cluster whose brokers carry no JMX exporter, and over SASL_SSL): which brokers are alive,
 * under-replicated and offline partitions, each topic's end offset (what a DLQ-growth alert
 * watches) and every consumer group's lag. Every series has a `cluster` label, so one exporter
 * process watches several clusters (the marketplace's A and B).
 *
 * A broker counts as known when the cluster lists it or a partition names it as a replica; a
 * known broker the cluster no longer lists is down (`kafka_cluster_broker_up == 0`). When the
 * cluster cannot be reached at all, `kafka_cluster_reachable` is 0 and the other series of that
 * cluster are dropped (stale), not frozen.
 *
 * @example
 * ```ts
 * import { collectClusterHealth } from "./cluster.ts";
 * const health = await collectClusterHealth(admin, "A");
 * console.log(health.brokersUp, health.underReplicated);
 * ```
 * @module
 */
import type { Admin } from "kafkajs";
import client from "prom-client";
import { registry } from "./metrics.ts";
import { type CommittedOffsets, committedOffsets, topicLister } from "./lag.ts";

function gauge(name: string, help: string, labelNames: string[]): client.Gauge<string> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as client.Gauge<string>;
  return new client.Gauge({ name, help, labelNames, registers: [registry] });
}

/** The gauges of {@linkcode collectClusterHealth} (registered once in the project's registry). */
export function clusterGauges(): {
  reachable: client.Gauge<string>;
  brokerUp: client.Gauge<string>;
  underReplicated: client.Gauge<string>;
  offline: client.Gauge<string>;
  endOffset: client.Gauge<string>;
  groupLag: client.Gauge<string>;
} {
  return {
    reachable: gauge(
      "kafka_cluster_reachable",
      "1 when the cluster answered the last metadata request, else 0",
      ["cluster"],
    ),
    brokerUp: gauge(
      "kafka_cluster_broker_up",
      "1 when a known broker (listed or named as a replica) is alive in the cluster's metadata",
      ["cluster", "broker"],
    ),
    underReplicated: gauge(
      "kafka_cluster_under_replicated_partitions",
      "Partitions whose in-sync replicas are fewer than their replicas",
      ["cluster", "topic"],
    ),
    offline: gauge(
      "kafka_cluster_offline_partitions",
      "Partitions without a live leader",
      ["cluster", "topic"],
    ),
    endOffset: gauge(
      "kafka_cluster_topic_end_offset",
      "Sum of the end offsets (high watermarks) of a topic's partitions: records ever written",
      ["cluster", "topic"],
    ),
    groupLag: gauge(
      "kafka_cluster_consumergroup_lag",
      "Records a consumer group's committed offset is behind the end of a topic (all partitions)",
      ["cluster", "group", "topic"],
    ),
  };
}

/** What one collection found (also set on the gauges). */
export interface ClusterHealth {
  cluster: string;
  reachable: boolean;
  /** Alive broker ids. */
  brokersUp: number[];
  /** Known broker ids that are not alive. */
  brokersDown: number[];
  /** Under-replicated partitions per topic (topics with none left out). */
  underReplicated: Record<string, number>;
  /** Offline partitions per topic (topics with none left out). */
  offline: Record<string, number>;
  /** End offset sum per topic. */
  endOffsets: Record<string, number>;
  /** Lag per group and topic: `lag[group][topic]`. */
  lag: Record<string, Record<string, number>>;
}

/** Longest wait for one end-offset or committed-offset request of a collection, in ms. */
const REQUEST_BUDGET_MS = 5_000;

/** Options of {@linkcode collectClusterHealth}. */
export interface CollectClusterOptions {
  /** Topics whose end offsets and lag are read (a filter); internal `__` topics never. @default all */
  topics?: (topic: string) => boolean;
}

/**
 * Label sets set per cluster and part — `meta` (brokers, partitions: one metadata read) and
 * `offsets` (end offsets, lag: a request per topic and group) — so a new collection drops the
 * series that are gone, and each part is published as soon as it is read.
 */
const seriesOf = new Map<
  string,
  { gauge: client.Gauge<string>; labels: Record<string, string> }[]
>();
type Part = "meta" | "offsets";

/** Drops the series of `cluster` (of one part, or all) from the gauges. */
function resetCluster(cluster: string, parts: Part[] = ["meta", "offsets"]): void {
  for (const part of parts) {
    for (const { gauge, labels } of seriesOf.get(`${cluster}/${part}`) ?? []) gauge.remove(labels);
    seriesOf.set(`${cluster}/${part}`, []);
  }
}

function setSeries(
  part: Part,
  g: client.Gauge<string>,
  labels: Record<string, string>,
  value: number,
): void {
  g.set(labels, value);
  seriesOf.get(`${labels.cluster}/${part}`)?.push({ gauge: g, labels });
}

/**
 * `p`'s value, or undefined once `ms` passed: kafkajs can sit in its retries for minutes on a
 * request to a broker that just died (until the controller moves its leaderships), and a
 * collection must not hang on it.
 */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) =>
    timer = setTimeout(() => resolve(undefined), ms)
  );
  try {
    return await Promise.race([p.catch(() => undefined), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads one cluster's health through `admin` and sets the gauges (see the module doc).
 * Never throws for an unreachable cluster: it reports `reachable: false`.
 */
export async function collectClusterHealth(
  admin: Admin,
  cluster: string,
  options: CollectClusterOptions = {},
): Promise<ClusterHealth> {
  const { topics: wanted = () => true } = options;
  const g = clusterGauges();
  const health: ClusterHealth = {
    cluster,
    reachable: false,
    brokersUp: [],
    brokersDown: [],
    underReplicated: {},
    offline: {},
    endOffsets: {},
    lag: {},
  };
  let described: Awaited<ReturnType<Admin["describeCluster"]>>;
  let metadata: Awaited<ReturnType<Admin["fetchTopicMetadata"]>>;
  try {
    described = await admin.describeCluster();
    const names = (await admin.listTopics()).filter((t) => !t.startsWith("__") && wanted(t));
    metadata = await admin.fetchTopicMetadata({ topics: names });
  } catch {
    resetCluster(cluster);
    g.reachable.set({ cluster }, 0);
    return health;
  }
  health.reachable = true;
  const alive = new Set(described.brokers.map((b) => b.nodeId));
  const known = new Set(alive);
  for (const t of metadata.topics) {
    let urp = 0, off = 0;
    for (const p of t.partitions) {
      for (const r of p.replicas) known.add(r);
      if (p.isr.length < p.replicas.length) urp++;
      if (p.leader < 0 || !alive.has(p.leader)) off++;
    }
    if (urp) health.underReplicated[t.name] = urp;
    if (off) health.offline[t.name] = off;
  }
  health.brokersUp = [...alive].sort((a, b) => a - b);
  health.brokersDown = [...known].filter((b) => !alive.has(b)).sort((a, b) => a - b);
  // Brokers and partitions go out at once: a dead broker must not wait on the slow part below.
  resetCluster(cluster, ["meta"]);
  g.reachable.set({ cluster }, 1);
  for (const b of health.brokersUp) {
    setSeries("meta", g.brokerUp, { cluster, broker: String(b) }, 1);
  }
  for (const b of health.brokersDown) {
    setSeries("meta", g.brokerUp, { cluster, broker: String(b) }, 0);
  }
  for (const t of metadata.topics) {
    setSeries(
      "meta",
      g.underReplicated,
      { cluster, topic: t.name },
      health.underReplicated[t.name] ?? 0,
    );
    setSeries("meta", g.offline, { cluster, topic: t.name }, health.offline[t.name] ?? 0);
  }
  // End offsets of every topic (partitions led by a dead broker may fail or hang: skip the
  // topic this round; the offline gauge says why).
  for (const t of metadata.topics) {
    const offs = await within(admin.fetchTopicOffsets(t.name), REQUEST_BUDGET_MS);
    if (offs) health.endOffsets[t.name] = offs.reduce((s, p) => s + Number(p.high), 0);
  }
  // Group lag: committed offsets against the end offsets read above.
  const perPartitionEnds: Record<string, Record<number, number>> = {};
  try {
    const { groups } = await admin.listGroups();
    const existing = topicLister(admin);
    for (const { groupId } of groups) {
      const committed: CommittedOffsets | undefined = await within(
        committedOffsets(admin, groupId, existing),
        REQUEST_BUDGET_MS,
      );
      if (!committed) continue; // e.g. its coordinator moving: next round
      for (const ct of committed) {
        if (!(ct.topic in health.endOffsets)) continue;
        if (!perPartitionEnds[ct.topic]) {
          perPartitionEnds[ct.topic] = {};
          for (
            const p of await within(admin.fetchTopicOffsets(ct.topic), REQUEST_BUDGET_MS) ?? []
          ) {
            perPartitionEnds[ct.topic][p.partition] = Number(p.high);
          }
        }
        let lag = 0, any = false;
        for (const p of ct.partitions) {
          const offset = Number(p.offset);
          const end = perPartitionEnds[ct.topic][p.partition];
          if (offset < 0 || end === undefined) continue;
          any = true;
          lag += Math.max(0, end - offset);
        }
        if (any) (health.lag[groupId] ??= {})[ct.topic] = lag;
      }
    }
  } catch { /* groups unreadable (ACLs): lag left out */ }

  resetCluster(cluster, ["offsets"]);
  for (const [topic, end] of Object.entries(health.endOffsets)) {
    setSeries("offsets", g.endOffset, { cluster, topic }, end);
  }
  for (const [group, byTopic] of Object.entries(health.lag)) {
    for (const [topic, lag] of Object.entries(byTopic)) {
      setSeries("offsets", g.groupLag, { cluster, group, topic }, lag);
    }
  }
  return health;
}
