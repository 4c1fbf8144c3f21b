/**
 * `deno task practice6:consumer` — as the user `consumer` over SASL_SSL, reads topic-1 and
 * tries topic-2. The ACLs allow only topic-1, so for topic-2 it reports, like the seed:
 *   Error: User 'consumer' is not allowed to read topic 'topic-2' in group … (TOPIC_AUTHORIZATION_FAILED) …
 * Exit code 0 when exactly that happens; 1 when topic-1 cannot be read or topic-2 can.
 */
import { defineTask, envInt, runMain } from "../../lib/env/mod.ts";
import { createKafka, KAFKA_ENV, secureKafkaConfigFromEnv } from "../../lib/kafka/mod.ts";
import { CONSUMER_GROUP, tryRead } from "../../lib/course/practice6/mod.ts";

const SPEC = defineTask({
  task: "practice6:consumer",
  summary:
    "As user consumer over SASL_SSL, reads topic-1 and tries topic-2, which the ACLs refuse (exit 0 when exactly that happens).",
  env: {
    ...KAFKA_ENV,
    CONSUME_TIMEOUT_MS: {
      description: "how long to wait for topic-1's messages",
      default: "20000",
    },
  },
  examples: ["deno task practice6:consumer"],
});

await runMain(async () => {
  const timeoutMs = envInt("CONSUME_TIMEOUT_MS", { default: 20_000, min: 1_000 });
  const group = Deno.env.get("CONSUMER_GROUP") || CONSUMER_GROUP;
  const options = secureKafkaConfigFromEnv("consumer", { clientId: "practice6-consumer" });
  const kafka = createKafka(options);
  console.log(
    `Consuming as '${options.username}' (${options.securityProtocol}, ${options.saslMechanism}), group ${group}`,
  );
  const one = await tryRead(kafka, options, "topic-1", { group, timeoutMs, min: 0 });
  if (one.allowed) {
    console.log(`OK: ${one.detail} (new since the group's last run)`);
    for (const v of one.values!.slice(0, 5)) console.log(`  ${v}`);
  } else console.log(`Error: ${one.error.message}`);
  const two = await tryRead(kafka, options, "topic-2", { group, timeoutMs, min: 0 });
  if (two.allowed) console.log(`Unexpected: ${two.detail} — the ACLs should forbid it`);
  else console.log(`Error: ${two.error.message}`);
  const asExpected = one.allowed && !two.allowed && two.error.kind === "authorization";
  if (!asExpected) Deno.exit(1);
}, SPEC);
