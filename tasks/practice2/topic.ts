/**
 * `deno task practice2:topic` — creates the `orders` topic (3 partitions, replication
 * factor 2) and describes it, like the seed's topic.txt:
 *   kafka-topics.sh --create --topic orders --partitions 3 --replication-factor 2
 *   kafka-topics.sh --describe --topic orders
 */
import { defineTask, runMain } from "../../lib/env/mod.ts";
import {
  createKafka,
  describePartitions,
  ensureTopic,
  formatDescription,
  KAFKA_ENV,
  kafkaConfigFromEnv,
  requireBrokers,
  topicConfig,
} from "../../lib/kafka/mod.ts";
import { ORDERS_TOPIC } from "../../lib/course/practice2/mod.ts";

const SPEC = defineTask({
  task: "practice2:topic",
  summary: "Creates the orders topic (3 partitions, replication factor 2) and describes it.",
  env: KAFKA_ENV,
  examples: ["deno task practice2:topic"],
});

await runMain(async () => {
  const admin = createKafka(kafkaConfigFromEnv({ clientId: "practice2-topic" })).admin();
  await admin.connect();
  try {
    await requireBrokers(admin, ORDERS_TOPIC);
    const created = await ensureTopic(admin, ORDERS_TOPIC);
    console.log(
      created
        ? `Created topic ${ORDERS_TOPIC.topic}`
        : `Topic ${ORDERS_TOPIC.topic} already exists`,
    );
    const parts = await describePartitions(admin, ORDERS_TOPIC.topic);
    console.log(
      formatDescription(ORDERS_TOPIC.topic, parts, await topicConfig(admin, ORDERS_TOPIC.topic)),
    );
  } finally {
    await admin.disconnect();
  }
}, SPEC);
