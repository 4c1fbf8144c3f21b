/**
 * `deno task practice6:producer` — as the user `producer` over SASL_SSL, sends
 * SEND_MSG_COUNT (default 10) messages to topic-1 and to topic-2; both are allowed by ACL.
 * Exit code 1 when a write is refused.
 */
import { defineTask, envInt, runMain } from "../../lib/env/mod.ts";
import { createKafka, KAFKA_ENV, secureKafkaConfigFromEnv } from "../../lib/kafka/mod.ts";
import { tryWrite } from "../../lib/course/practice6/mod.ts";

const SPEC = defineTask({
  task: "practice6:producer",
  summary:
    "As user producer over SASL_SSL, sends SEND_MSG_COUNT messages to topic-1 and topic-2 (exit 1 when a write is refused).",
  env: {
    ...KAFKA_ENV,
    SEND_MSG_COUNT: { description: "messages per topic", default: "10" },
  },
  examples: ["deno task practice6:producer"],
});

await runMain(async () => {
  const count = envInt("SEND_MSG_COUNT", { default: 10, min: 1, max: 1_000_000 });
  const options = secureKafkaConfigFromEnv("producer", { clientId: "practice6-producer" });
  const kafka = createKafka(options);
  console.log(
    `Producing as '${options.username}' (${options.securityProtocol}, ${options.saslMechanism}) to ${
      options.brokers.join(",")
    }`,
  );
  let failed = 0;
  for (const topic of ["topic-1", "topic-2"]) {
    const res = await tryWrite(kafka, options, topic, count, `${topic}-${Date.now()}`);
    if (res.allowed) console.log(`OK: ${res.detail}`);
    else {
      failed++;
      console.log(`Error: ${res.error.message}`);
    }
  }
  if (failed) Deno.exit(1);
}, SPEC);
