/**
 * `deno task practice4:failover [--records 200000] [--hard] [--topic balanced_topic]
 *  [--broker 1]` — the seed's broker failure check as one drill on the local stack
 * (`deno task stack up --brokers 3`): an idempotent producer (acks=all) and a consumer group
 * keep working on a topic with RF 3 and min.insync.replicas=2 while broker 1 is stopped
 * (`docker stop kafka-1`; --hard = SIGKILL), the ISR shrinks to 2, the broker is started
 * again (`docker start kafka-1`) and the ISR returns to 3. Prints the timeline, the topic as
 * `kafka-topics --describe` shows it, and the read-back check (lost / duplicated ids).
 * Exit 1 when a record was lost or duplicated.
 */
import { defineTask, parseIntValue, runMain, SERVICE_ENV } from "../../lib/env/mod.ts";
import {
  createKafka,
  describePartitions,
  formatDescription,
  KAFKA_ENV,
  kafkaConfigFromEnv,
  topicConfig,
} from "../../lib/kafka/mod.ts";
import { Stack } from "../../lib/stack/mod.ts";
import { BALANCED_TOPIC, runFailoverDrill } from "../../lib/course/practice4/mod.ts";

const SPEC = defineTask({
  task: "practice4:failover",
  summary:
    "The seed's broker failure check as one drill: a producer and a consumer group keep working while a broker is stopped and started again; prints the timeline and the lost/duplicated check (exit 1 on loss).",
  flags: {
    records: { type: "string", default: "200000", valueName: "N", description: "records to send" },
    hard: { type: "boolean", description: "kill the broker with SIGKILL instead of stopping it" },
    topic: {
      type: "string",
      default: "balanced_topic",
      valueName: "NAME",
      description: "topic of the drill",
    },
    broker: {
      type: "string",
      default: "1",
      valueName: "ID",
      description: "id of the broker to stop",
    },
  },
  env: {
    ...KAFKA_ENV,
    ...SERVICE_ENV.stack,
  },
  examples: ["deno task practice4:failover --records 50000 --hard"],
});

await runMain(async (cli) => {
  const flags = cli;
  const records = flags.values.records
    ? parseIntValue("--records", flags.values.records, { min: 1, max: 10_000_000 })
    : 200_000;
  const broker = flags.values.broker
    ? parseIntValue("--broker", flags.values.broker, { min: 0, max: 8 })
    : 1;
  const topic = flags.values.topic ?? BALANCED_TOPIC.topic;
  const stack = await Stack.load();
  const kafka = createKafka(
    kafkaConfigFromEnv({ clientId: "practice4-failover", logLevel: "NOTHING" }),
  );
  console.log(
    `Failover drill on ${stack.kafka.bootstrap()}: ${records} records to ${topic}, broker ${broker} ${
      flags.booleans.hard ? "killed (SIGKILL)" : "stopped"
    } and restarted`,
  );
  const report = await runFailoverDrill({
    kafka,
    cluster: stack.kafka,
    topic,
    records,
    broker,
    hard: flags.booleans.hard,
    onEvent: (e) =>
      console.log(
        `[${
          e.t.toFixed(1).padStart(6)
        }s] ${e.event} (ISR ${e.isr}, produced ${e.produced}, consumed ${e.consumed})`,
      ),
  });
  for (const snap of report.snapshots) {
    console.log(`\n${snap.label}:`);
    console.log(formatDescription(topic, snap.partitions));
  }
  console.log("\nTimeline:");
  console.table(report.timeline);
  const admin = kafka.admin();
  await admin.connect();
  console.log("\nNow:");
  console.log(
    formatDescription(
      topic,
      await describePartitions(admin, topic),
      await topicConfig(admin, topic),
    ),
  );
  await admin.disconnect();
  const v = report.verify;
  console.log(
    `\nRead back ${v.total} records: ${v.distinct} distinct ids of ${records}, ${v.lost} lost, ${v.duplicated} duplicated. ` +
      `ISR went 3 → ${report.minIsr} → ${Math.min(...report.finalIsr)}. ` +
      `The producer re-sent ${report.producerRetries} batch(es) during the failure.`,
  );
  if (v.lost || v.duplicated) Deno.exit(1);
}, SPEC);
