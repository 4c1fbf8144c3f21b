/**
 * `deno task practice7:schema register v1|v2|incompatible | versions` — registers a version
 * of the `User` Avro schema under `<topic>-value` in the schema registry, or lists the
 * subject's versions. An incompatible version is refused by the registry: the task says so
 * and exits with code 1.
 *
 * Flags: --topic NAME (default practice7-users). Env: KAFKA_SCHEMA_REGISTRY_URL,
 * SCHEMA_REGISTRY_USERNAME / SCHEMA_REGISTRY_PASSWORD, SCHEMA_REGISTRY_CA_FILE.
 */
import { ConfigError, defineTask, runMain, SERVICE_ENV } from "../../lib/env/mod.ts";
import {
  createRegistry,
  explainRegistryError,
  IncompatibleSchemaError,
  registerSchema,
  registryConfigFromEnv,
  subjectVersions,
  USERS_TOPIC,
  valueSubject,
} from "../../lib/course/practice7/mod.ts";
import { USER_AVRO_VERSIONS } from "../../lib/schemas/mod.ts";

const USAGE =
  "usage: deno task practice7:schema register v1|v2|incompatible | versions [--topic NAME]";

const SPEC = defineTask({
  task: "practice7:schema",
  summary:
    "Registers a version of the User Avro schema under <topic>-value, or lists the subject's versions; an incompatible version is refused (exit 1).",
  flags: {
    topic: {
      type: "string",
      default: "practice7-users",
      valueName: "NAME",
      description: "topic whose value subject is used",
    },
  },
  env: {
    ...SERVICE_ENV.registry,
  },
  positionals: [
    {
      name: "COMMAND",
      description: "register a version, or list versions",
      required: true,
      choices: ["register", "versions"],
    },
    { name: "VERSION", description: "register: v1, v2 or incompatible" },
  ],
  examples: ["deno task practice7:schema register v1", "deno task practice7:schema versions"],
});

await runMain(async (cli) => {
  const flags = cli;
  const [command, version] = flags.positional;
  const config = registryConfigFromEnv();
  const subject = valueSubject(flags.values.topic ?? USERS_TOPIC.topic);
  if (command === "versions") {
    console.log(
      `${subject} at ${config.url}: versions ${
        JSON.stringify(await subjectVersions(config, subject))
      }`,
    );
    return;
  }
  if (command !== "register") throw new ConfigError(USAGE);
  const schema = USER_AVRO_VERSIONS[version as keyof typeof USER_AVRO_VERSIONS];
  if (!schema) {
    throw new ConfigError(`Unknown schema version '${version}' (v1, v2, incompatible). ${USAGE}`);
  }
  try {
    const id = await registerSchema(createRegistry(config), subject, schema);
    console.log(`Registered ${version} of ${subject} at ${config.url}: schema id ${id}`);
  } catch (err) {
    const message = err instanceof IncompatibleSchemaError
      ? err.message
      : explainRegistryError(err, config);
    if (!message) throw err;
    console.error(`error: ${message}`);
    Deno.exit(1);
  }
}, SPEC);
