/**
 * `deno task practice4:topic [--topic balanced_topic]` — creates `balanced_topic` with 8
 * partitions and replication factor 3 (as the seed's `kafka-init`), describes it like
 * `kafka-topics.sh --describe` and prints replicas and leaders per broker.
 */
import { defineTask, runMain } from "../../lib/env/mod.ts";
import {
  createKafka,
  describePartitions,
  ensureTopic,
  formatDescription,
  KAFKA_ENV,
  kafkaConfigFromEnv,
  topicConfig,
} from "../../lib/kafka/mod.ts";
import { BALANCED_TOPIC, brokerLoad } from "../../lib/course/practice4/mod.ts";

const SPEC = defineTask({
  task: "practice4:topic",
  summary:
    "Creates balanced_topic (8 partitions, replication factor 3), describes it and prints replicas and leaders per broker.",
  flags: {
    topic: {
      type: "string",
      default: "balanced_topic",
      valueName: "NAME",
      description: "topic to create",
    },
  },
  env: {
    ...KAFKA_ENV,
  },
  examples: ["deno task practice4:topic"],
});

await runMain(async (cli) => {
  const flags = cli;
  const spec = { ...BALANCED_TOPIC, topic: flags.values.topic ?? BALANCED_TOPIC.topic };
  const admin = createKafka(kafkaConfigFromEnv({ clientId: "practice4-topic" })).admin();
  await admin.connect();
  try {
    const { brokers } = await admin.describeCluster();
    if (brokers.length < spec.replicationFactor) {
      throw new Error(
        `The cluster has ${brokers.length} broker(s) but '${spec.topic}' needs replication factor ` +
          `${spec.replicationFactor}: start the stack with \`deno task stack up --brokers 3\``,
      );
    }
    const created = await ensureTopic(admin, spec);
    console.log(created ? `Created topic ${spec.topic}` : `Topic ${spec.topic} already exists`);
    const parts = await describePartitions(admin, spec.topic);
    console.log(formatDescription(spec.topic, parts, await topicConfig(admin, spec.topic)));
    console.log("\nReplicas and leaders per broker:");
    console.table(brokerLoad(parts, brokers.map((b) => b.nodeId)));
  } finally {
    await admin.disconnect();
  }
}, SPEC);
