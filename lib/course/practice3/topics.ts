/**
 * Practice 3's topics and application id — the one source of truth shared by the tasks, the
 * compose file's consistency test and the integration tests.
 * @module
 */
import type { TopicSpec } from "../../kafka/mod.ts";

/** Default application id: consumer group, transactional-id and changelog prefix. */
export const PRACTICE3_APP_ID = "practice3-filter";

/** Topic names, as in the seed. */
export const TOPICS = {
  messages: "messages",
  filtered: "filtered_messages",
  blocked: "blocked_users",
  words: "forbidden_words",
} as const;

/** Input topics accept records up to 2 MiB so that oversized texts reach the app (and its DLQ). */
const INPUT_CONFIG = { "max.message.bytes": String(2 * 1024 * 1024) };

/** Specs of practice 3's topics for a cluster whose topics get `rf` replicas. */
export function practice3Topics(rf: number): TopicSpec[] {
  const isr = { "min.insync.replicas": String(Math.min(2, rf)) };
  return [
    {
      topic: TOPICS.messages,
      partitions: 3,
      replicationFactor: rf,
      config: { ...INPUT_CONFIG, ...isr },
    },
    {
      topic: TOPICS.blocked,
      partitions: 1,
      replicationFactor: rf,
      config: { ...INPUT_CONFIG, ...isr },
    },
    {
      topic: TOPICS.words,
      partitions: 1,
      replicationFactor: rf,
      config: { ...INPUT_CONFIG, ...isr },
    },
    { topic: TOPICS.filtered, partitions: 3, replicationFactor: rf, config: isr },
  ];
}
