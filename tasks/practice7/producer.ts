/**
 * `deno task practice7:producer [--schema v1|v2] [--topic NAME]` — registers the chosen
 * version of the `User` Avro schema (default v2) and sends SEND_MSG_COUNT users (default 5)
 * in the schema registry's wire format (magic byte, schema id, Avro body), acks=all.
 *
 * Env: SEND_MSG_COUNT, KAFKA_BOOTSTRAP_SERVERS, KAFKA_SECURITY_PROTOCOL (SASL_SSL for a
 * managed cluster), KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD,
 * KAFKA_SSL_CA_FILE, KAFKA_SCHEMA_REGISTRY_URL, SCHEMA_REGISTRY_USERNAME,
 * SCHEMA_REGISTRY_PASSWORD, SCHEMA_REGISTRY_CA_FILE.
 */
import { ConfigError, defineTask, envInt, runMain, SERVICE_ENV } from "../../lib/env/mod.ts";
import { createKafka, ensureTopic, KAFKA_ENV, kafkaConfigFromEnv } from "../../lib/kafka/mod.ts";
import {
  AvroUserProducer,
  createRegistry,
  explainRegistryError,
  IncompatibleSchemaError,
  registryConfigFromEnv,
  USERS_TOPIC,
} from "../../lib/course/practice7/mod.ts";
import { USER_AVRO_VERSIONS } from "../../lib/schemas/mod.ts";

const SPEC = defineTask({
  task: "practice7:producer",
  summary:
    "Registers the chosen User schema version and sends SEND_MSG_COUNT users in the schema registry wire format, acks=all.",
  flags: {
    schema: {
      type: "string",
      default: "v2",
      valueName: "VERSION",
      description: "schema version to write with (v1 or v2)",
    },
    topic: {
      type: "string",
      default: "practice7-users",
      valueName: "NAME",
      description: "topic to send to",
    },
  },
  env: {
    ...KAFKA_ENV,
    ...SERVICE_ENV.registry,
    SEND_MSG_COUNT: { description: "users to send", default: "5" },
  },
  examples: ["deno task practice7:producer --schema v1"],
});

await runMain(async (cli) => {
  const flags = cli;
  const version = flags.values.schema ?? "v2";
  const schema = USER_AVRO_VERSIONS[version as keyof typeof USER_AVRO_VERSIONS];
  if (!schema) {
    throw new ConfigError(
      `Cannot use --schema as it must be v1, v2 or incompatible: current value is '${version}'`,
    );
  }
  const count = envInt("SEND_MSG_COUNT", { default: 5, min: 1, max: 1_000_000 });
  const kafka = createKafka(kafkaConfigFromEnv({ clientId: "practice7-producer" }));
  const topic = flags.values.topic ?? USERS_TOPIC.topic;
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopic(admin, { ...USERS_TOPIC, topic }).finally(() => admin.disconnect());
  const registryConfig = registryConfigFromEnv();
  const producer = new AvroUserProducer(kafka, createRegistry(registryConfig), {
    schema,
    topic,
  });
  try {
    await producer.connect();
  } catch (err) {
    const message = err instanceof IncompatibleSchemaError
      ? err.message
      : explainRegistryError(err, registryConfig);
    if (!message) throw err;
    console.error(`error: ${message}`);
    Deno.exit(1);
  }
  console.log(`Schema ${version} of ${topic}-value has id ${producer.schemaId}`);
  try {
    for (let i = 1; i <= count; i++) {
      const user = {
        name: `user-${version}-${i}`,
        favorite_number: i,
        ...(version === "v2" ? { email: `user${i}@example.com` } : {}),
      };
      const meta = await producer.send(user);
      console.log(
        `sent ${
          JSON.stringify(user)
        } (schema id ${producer.schemaId}) → ${topic} partition ${meta.partition} offset ${meta.baseOffset}`,
      );
    }
  } finally {
    await producer.disconnect();
  }
}, SPEC);
