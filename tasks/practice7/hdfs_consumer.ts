/**
 * `deno task practice7:hdfs-consumer [--topic NAME] [--dir /hdfs/folder]` — the seed's task 2
 * consumer: reads `{event, message}` events from `hadoop-topic` up to its current end, writes
 * each batch to HDFS as JSON Lines, reads the file back and prints what is stored.
 * Env: KAFKA_* as everywhere, WEBHDFS_URL (default: the local stack's NameNode).
 */
import { defineTask, runMain, SERVICE_ENV } from "../../lib/env/mod.ts";
import { createKafka, KAFKA_ENV, kafkaConfigFromEnv } from "../../lib/kafka/mod.ts";
import { WebHdfs } from "../../lib/lake/mod.ts";
import { HdfsEventConsumer } from "../../lib/course/practice7/mod.ts";

const SPEC = defineTask({
  task: "practice7:hdfs-consumer",
  summary:
    "Reads {event, message} events from hadoop-topic up to its end, writes each batch to HDFS as JSON Lines, reads the file back and prints it.",
  flags: {
    topic: {
      type: "string",
      default: "hadoop-topic",
      valueName: "NAME",
      description: "topic to read",
    },
    dir: {
      type: "string",
      default: "/practice7/<topic>",
      valueName: "DIR",
      description: "HDFS folder to write",
    },
  },
  env: {
    ...KAFKA_ENV,
    ...SERVICE_ENV.webhdfs,
  },
  examples: ["deno task practice7:hdfs-consumer"],
});

await runMain(async (cli) => {
  const flags = cli;
  const hdfs = new WebHdfs();
  const consumer = new HdfsEventConsumer(
    createKafka(kafkaConfigFromEnv({ clientId: "practice7-hdfs-consumer" })),
    hdfs,
    {
      topic: flags.values.topic,
      dir: flags.values.dir,
      onStored: (file) => {
        console.log(`Stored in HDFS ${file.path} (${hdfs.url.replace(/\/webhdfs\/v1$/, "")}):`);
        for (const e of file.events) console.log(`  read back: ${JSON.stringify(e)}`);
      },
    },
  );
  const files = await consumer.runUntilIdle();
  const events = files.reduce((n, f) => n + f.events.length, 0);
  console.log(
    files.length
      ? `Done: ${events} events in ${files.length} file(s) under ${consumer.dir}`
      : `No new events in ${consumer.topic}`,
  );
}, SPEC);
