/**
 * `deno task practice6:setup` — as the seed's `kafka-init`: creates topic-1 and topic-2 on the
 * secure cluster (as the super user `admin`) and the ACLs — producer writes both topics,
 * consumer reads topic-1 only, with its group — then prints the ACLs.
 * Needs `deno task stack up --secure` (or KAFKA_* env pointing at a secured cluster).
 */
import { defineTask, runMain } from "../../lib/env/mod.ts";
import {
  createKafka,
  explainKafkaError,
  KAFKA_ENV,
  secureKafkaConfigFromEnv,
} from "../../lib/kafka/mod.ts";
import { PRACTICE6_TOPICS, setupPractice6 } from "../../lib/course/practice6/mod.ts";

const SPEC = defineTask({
  task: "practice6:setup",
  summary:
    "Creates topic-1 and topic-2 on the secure cluster (as admin) and the ACLs: producer writes both, consumer reads topic-1 only; prints the ACLs.",
  env: {
    ...KAFKA_ENV,
  },
  examples: ["deno task practice6:setup"],
});

await runMain(async () => {
  const options = secureKafkaConfigFromEnv("admin", { clientId: "practice6-setup" });
  const admin = createKafka(options).admin();
  try {
    await admin.connect();
    const acls = await setupPractice6(admin);
    console.log(`Topics ready: ${PRACTICE6_TOPICS.map((t) => t.topic).join(", ")}`);
    console.log("ACLs:");
    console.table(acls.map((a) => ({
      principal: a.principal,
      resource: `${a.resourceType}:${a.resourceName}${a.pattern === "prefixed" ? "*" : ""}`,
      operation: a.operation,
      permission: "ALLOW",
    })));
  } catch (err) {
    throw explainKafkaError(err, options, "set up topics and ACLs");
  } finally {
    await admin.disconnect().catch(() => {});
  }
}, SPEC);
