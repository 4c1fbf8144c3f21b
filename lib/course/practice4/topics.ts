/**
 * Practice 4's topic.
 * @module
 */
import type { TopicSpec } from "../../kafka/mod.ts";

/** The seed's topic: 8 partitions, replication factor 3 (min ISR 2 for the failover drill). */
export const BALANCED_TOPIC: TopicSpec = {
  topic: "balanced_topic",
  partitions: 8,
  replicationFactor: 3,
  config: { "min.insync.replicas": "2" },
};
