/**
 * `deno task practice7:consumer [--schema v1|v2] [--count N] [--group ID] [--topic NAME]` —
 * reads users in the schema registry's wire format, looks up each record's writer schema
 * by the id in its header and decodes into the reader schema (default v2, so users written
 * with v1 come with `email: null`). Stops after N users, or on Ctrl-C.
 * Env: as practice7:producer.
 */
import { ConfigError, defineTask, parseIntValue, runMain, SERVICE_ENV } from "../../lib/env/mod.ts";
import { createKafka, KAFKA_ENV, kafkaConfigFromEnv } from "../../lib/kafka/mod.ts";
import {
  AvroUserConsumer,
  createRegistry,
  registryConfigFromEnv,
} from "../../lib/course/practice7/mod.ts";
import { USER_AVRO_VERSIONS } from "../../lib/schemas/mod.ts";

const SPEC = defineTask({
  task: "practice7:consumer",
  summary:
    "Reads users in the registry wire format and decodes each into the reader schema (v2 by default, so v1 users get email: null).",
  flags: {
    schema: {
      type: "string",
      default: "v2",
      valueName: "VERSION",
      description: "reader schema version (v1 or v2)",
    },
    count: {
      type: "string",
      default: "until Ctrl-C",
      valueName: "N",
      description: "stop after N users",
    },
    group: {
      type: "string",
      default: "practice7-users-consumer",
      valueName: "ID",
      description: "consumer group id",
    },
    topic: {
      type: "string",
      default: "practice7-users",
      valueName: "NAME",
      description: "topic to read",
    },
  },
  env: {
    ...KAFKA_ENV,
    ...SERVICE_ENV.registry,
  },
  examples: ["deno task practice7:consumer --count 5"],
});

await runMain(async (cli) => {
  const flags = cli;
  const version = flags.values.schema ?? "v2";
  if (version !== "v1" && version !== "v2") {
    throw new ConfigError(
      `Cannot use --schema as it must be v1 or v2: current value is '${version}'`,
    );
  }
  const limit = flags.values.count ? parseIntValue("--count", flags.values.count, { min: 1 }) : 0;
  const kafka = createKafka(kafkaConfigFromEnv({ clientId: "practice7-consumer" }));
  let seen = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const consumer = new AvroUserConsumer(kafka, createRegistry(registryConfigFromEnv()), {
    readerSchema: USER_AVRO_VERSIONS[version],
    topic: flags.values.topic,
    groupId: flags.values.group,
    onUser: ({ user, writerSchemaId, partition, offset }) => {
      console.log(
        `received ${
          JSON.stringify(user)
        } (written with schema id ${writerSchemaId}, read as ${version}) partition ${partition} offset ${offset}`,
      );
      if (limit && ++seen >= limit) finish();
    },
  });
  Deno.addSignalListener("SIGINT", finish);
  Deno.addSignalListener("SIGTERM", finish);
  await consumer.start();
  await finished;
  await consumer.stop();
}, SPEC);
