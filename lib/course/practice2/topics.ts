/**
 * Practice 2's topic and consumer groups — the one source of truth that the tasks, the
 * compose file and the consistency test share.
 * @module
 */
import type { TopicSpec } from "../../kafka/mod.ts";

/** The orders topic: 3 partitions, replication factor 2 (the seed's topic.txt). */
export const ORDERS_TOPIC: TopicSpec = {
  topic: "orders",
  partitions: 3,
  replicationFactor: 2,
  config: { "min.insync.replicas": "1" },
};

/** Consumer groups: the two consumers read every order independently. */
export const GROUPS = {
  single: "orders-single-consumer",
  batch: "orders-batch-consumer",
} as const;

/** Env variables of practice 2, as in the seed. */
export const PRACTICE2_ENV = {
  producer: ["SEND_MSG_INTERVAL_SECONDS", "SEND_MSG_COUNT", "KAFKA_BOOTSTRAP_SERVERS"],
  consumer: ["BATCH_SIZE", "KAFKA_BOOTSTRAP_SERVERS"],
} as const;
