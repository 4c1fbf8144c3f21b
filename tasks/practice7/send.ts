/**
 * `deno task practice7:send [--topic NAME] <<EOF … EOF` — the seed's console producer step of
 * task 2: each line of stdin is one `{event, message}` JSON event for `hadoop-topic` (created
 * if missing). Lines that fail the schema are reported and not sent.
 */
import { defineTask, runMain } from "../../lib/env/mod.ts";
import { createKafka, ensureTopic, KAFKA_ENV, kafkaConfigFromEnv } from "../../lib/kafka/mod.ts";
import { HADOOP_TOPIC } from "../../lib/course/practice7/mod.ts";
import { hadoopEventCodec } from "../../lib/schemas/mod.ts";

const SPEC = defineTask({
  task: "practice7:send",
  summary:
    "The seed's console producer of task 2: each stdin line is one {event, message} JSON event for hadoop-topic; lines failing the schema are reported and not sent.",
  flags: {
    topic: {
      type: "string",
      default: "hadoop-topic",
      valueName: "NAME",
      description: "topic to send to",
    },
  },
  env: {
    ...KAFKA_ENV,
  },
  examples: ['printf \'{"event":"e1","message":"hi"}\\n\' | deno task practice7:send'],
});

await runMain(async (cli) => {
  const flags = cli;
  const topic = flags.values.topic ?? HADOOP_TOPIC.topic;
  const kafka = createKafka(kafkaConfigFromEnv({ clientId: "practice7-send" }));
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopic(admin, { ...HADOOP_TOPIC, topic }).finally(() => admin.disconnect());
  const lines = (await new Response(Deno.stdin.readable).text()).split("\n").map((l) => l.trim())
    .filter(Boolean);
  const messages = [];
  for (const line of lines) {
    try {
      messages.push({ value: Buffer.from(hadoopEventCodec.encode(JSON.parse(line))) });
    } catch (err) {
      console.error(`not sent (${(err as Error).message}): ${line}`);
    }
  }
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    if (messages.length) await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
  console.log(`sent ${messages.length} event(s) to ${topic}`);
}, SPEC);
