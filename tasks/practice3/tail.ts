/**
 * `deno task practice3:tail` — prints `filtered_messages` (read_committed, so only the output
 * of committed transactions) from the beginning, one line per message, until Ctrl-C.
 *
 * Flags: --max N (stop after N messages), --idle-ms N (stop after N ms without messages),
 * --json (print the raw JSON values). Env: KAFKA_BOOTSTRAP_SERVERS, PRACTICE3_TOPIC_PREFIX.
 */
import { defineTask, parseIntValue, runMain } from "../../lib/env/mod.ts";
import { createKafka, KAFKA_ENV, kafkaConfigFromEnv } from "../../lib/kafka/mod.ts";
import { practice3Env } from "../../lib/course/practice3/mod.ts";

const SPEC = defineTask({
  task: "practice3:tail",
  summary:
    "Prints filtered_messages (read_committed) from the beginning, one line per message, until Ctrl-C.",
  flags: {
    max: {
      type: "string",
      default: "no limit",
      valueName: "N",
      description: "stop after N messages",
    },
    "idle-ms": {
      type: "string",
      default: "never",
      valueName: "N",
      description: "stop after N ms without messages",
    },
    json: { type: "boolean", description: "print the raw JSON values" },
  },
  env: {
    ...KAFKA_ENV,
    PRACTICE3_TOPIC_PREFIX: { description: "prefix of every practice 3 topic", default: "" },
  },
  examples: ["deno task practice3:tail --max 10 --idle-ms 5000"],
});

await runMain(async (cli) => {
  const flags = cli;
  const max = flags.values.max ? parseIntValue("--max", flags.values.max, { min: 1 }) : 0;
  const idleMs = flags.values["idle-ms"]
    ? parseIntValue("--idle-ms", flags.values["idle-ms"], { min: 100 })
    : 0;
  const { topics } = practice3Env();
  const kafka = createKafka(kafkaConfigFromEnv({ clientId: "practice3-tail" }));
  const consumer = kafka.consumer({
    groupId: `practice3-tail-${crypto.randomUUID()}`,
    readUncommitted: false,
    maxWaitTimeInMs: 200,
  });
  const done = Promise.withResolvers<void>();
  Deno.addSignalListener("SIGINT", () => done.resolve());
  Deno.addSignalListener("SIGTERM", () => done.resolve());
  let seen = 0;
  let last = Date.now();
  await consumer.connect();
  await consumer.subscribe({ topic: topics.filtered, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: ({ message, partition }) => {
      last = Date.now();
      const text = message.value?.toString("utf8") ?? "null";
      if (flags.booleans.json) console.log(text);
      else {
        try {
          const m = JSON.parse(text);
          console.log(
            `${m.sender} → ${m.recipient}: ${m.text}   (partition ${partition}, offset ${message.offset})`,
          );
        } catch {
          console.log(text);
        }
      }
      if (max && ++seen >= max) done.resolve();
      return Promise.resolve();
    },
  });
  const idle = idleMs
    ? setInterval(() => Date.now() - last > idleMs && done.resolve(), 100)
    : undefined;
  await done.promise;
  clearInterval(idle);
  await consumer.disconnect();
  Deno.exit(0);
}, SPEC);
