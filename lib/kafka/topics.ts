/**
 * Topic specs and admin helpers: create a topic idempotently and describe its partitions.
 *
 * @example
 * ```ts
 * import { ensureTopic } from "./topics.ts";
 * await ensureTopic(admin, { topic: "orders", partitions: 3, replicationFactor: 2 });
 * ```
 * @module
 */
import type { Admin } from "kafkajs";
import { pollUntil } from "../env/mod.ts";

/** A topic as the project declares it. */
export interface TopicSpec {
  topic: string;
  partitions: number;
  replicationFactor: number;
  /** Topic-level configs, e.g. `{ "min.insync.replicas": "2" }`. @default {} */
  config?: Record<string, string>;
}

/** One partition as `kafka-topics --describe` shows it. */
export interface PartitionInfo {
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
}

/**
 * Creates the topic when missing; when it exists with other settings than the spec, fails
 * with a message naming the difference (partitions can only grow, RF cannot change here).
 * Returns whether it was created.
 */
export async function ensureTopic(admin: Admin, spec: TopicSpec): Promise<boolean> {
  const { topic, partitions, replicationFactor, config = {} } = spec;
  const existing = await admin.listTopics();
  if (existing.includes(topic)) {
    const parts = await describePartitions(admin, topic);
    const rf = parts[0]?.replicas.length ?? 0;
    if (parts.length !== partitions || rf !== replicationFactor) {
      throw new Error(
        `Topic '${topic}' exists with ${parts.length} partitions and replication factor ${rf}, ` +
          `but ${partitions} and ${replicationFactor} are expected; delete it or use another name`,
      );
    }
    return false;
  }
  try {
    return await admin.createTopics({
      waitForLeaders: true,
      topics: [{
        topic,
        numPartitions: partitions,
        replicationFactor,
        configEntries: Object.entries(config).map(([name, value]) => ({ name, value })),
      }],
    });
  } catch (err) {
    // kafkajs' wait for leaders gives up when the broker it asks has not learnt of the new
    // topic yet (UNKNOWN_TOPIC_OR_PARTITION, common on a fresh cluster); wait here instead.
    if (!/does not host this topic-partition/.test(String(err))) throw err;
    await pollUntil(`every partition of '${topic}' to have a leader`, async () => {
      const parts = await describePartitions(admin, topic).catch(() => []);
      return parts.length === partitions && parts.every((p) => p.leader >= 0);
    }).catch(() => {
      throw err;
    });
    return true;
  }
}

/** Partitions of a topic with leader, replicas and ISR, sorted by partition. */
export async function describePartitions(admin: Admin, topic: string): Promise<PartitionInfo[]> {
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  const t = meta.topics.find((x) => x.name === topic);
  if (!t) throw new Error(`Topic '${topic}' does not exist`);
  return t.partitions
    .map((p) => ({
      partition: p.partitionId,
      leader: p.leader,
      replicas: [...p.replicas],
      isr: [...p.isr],
    }))
    .sort((a, b) => a.partition - b.partition);
}

/** Topic-level configs that differ from the broker defaults. */
export async function topicConfig(admin: Admin, topic: string): Promise<Record<string, string>> {
  const res = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: 2, /* TOPIC */ name: topic }],
  });
  const out: Record<string, string> = {};
  for (const e of res.resources[0]?.configEntries ?? []) {
    if (!e.isDefault && e.configValue !== null) out[e.configName] = e.configValue;
  }
  return out;
}

/** Renders a topic description like `kafka-topics --describe`. */
export function formatDescription(
  topic: string,
  parts: PartitionInfo[],
  config: Record<string, string> = {},
): string {
  const cfg = Object.entries(config).map(([k, v]) => `${k}=${v}`).join(",");
  const head = `Topic: ${topic}\tPartitionCount: ${parts.length}\tReplicationFactor: ${
    parts[0]?.replicas.length ?? 0
  }\tConfigs: ${cfg}`;
  const rows = parts.map((p) =>
    `\tTopic: ${topic}\tPartition: ${p.partition}\tLeader: ${p.leader}\tReplicas: ${
      p.replicas.join(",")
    }\tIsr: ${p.isr.join(",")}`
  );
  return [head, ...rows].join("\n");
}

/** Fails with a message that says what to run when `topic` does not exist. */
export async function requireTopic(admin: Admin, topic: string, hint: string): Promise<void> {
  const topics = await admin.listTopics();
  if (!topics.includes(topic)) throw new Error(`Topic '${topic}' does not exist: ${hint}`);
}

/** Fails with what to run when the cluster has fewer brokers than the topic's replication factor. */
export async function requireBrokers(admin: Admin, spec: TopicSpec): Promise<void> {
  const { brokers } = await admin.describeCluster();
  if (brokers.length < spec.replicationFactor) {
    throw new Error(
      `The cluster has ${brokers.length} broker(s) but '${spec.topic}' needs replication factor ` +
        `${spec.replicationFactor}: start the stack with \`deno task stack up --brokers 3\``,
    );
  }
}
