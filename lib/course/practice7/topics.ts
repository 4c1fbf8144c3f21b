/**
 * Practice 7's topics — shared by the tasks, the compose file and the tests.
 * @module
 */
import type { TopicSpec } from "../../kafka/mod.ts";

/** Task 1: users in Avro, written with the schema registry's wire format. */
export const USERS_TOPIC: TopicSpec = {
  topic: "practice7-users",
  partitions: 3,
  replicationFactor: 1,
};

/** Task 2: `{event, message}` JSON events that the HDFS consumer stores (the seed's topic). */
export const HADOOP_TOPIC: TopicSpec = {
  topic: "hadoop-topic",
  partitions: 1,
  replicationFactor: 1,
};

/** Consumer groups of practice 7. */
export const PRACTICE7_GROUPS = {
  users: "practice7-users-consumer",
  hdfs: "hadoop-consumer",
} as const;
