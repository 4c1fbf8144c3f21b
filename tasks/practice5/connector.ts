/**
 * `deno task practice5:connector [--file compose/connectors/practice5-postgres.json]` —
 * registers Debezium's PostgresConnector from the JSON file (the seed's
 * `kafka-connector-init`), pointing it at the running PostgreSQL, and waits until it runs.
 * Shows `/connector-plugins` first, as the seed's check does. Connect's refusal of a bad
 * config is printed as Connect words it.
 */
import { ConfigError, defineTask, runMain, SERVICE_ENV } from "../../lib/env/mod.ts";
import { ConnectClient, ConnectError } from "../../lib/connect/mod.ts";
import { postgresUrlFromEnv, withDatabase } from "../../lib/connect/mod.ts";
import {
  CONNECTOR_FILE,
  localizeConnector,
  PRACTICE5_DB,
  readConnectorFile,
} from "../../lib/course/practice5/mod.ts";

const SPEC = defineTask({
  task: "practice5:connector",
  summary:
    "Registers Debezium's PostgresConnector from a JSON file on the Connect worker and waits until it runs.",
  flags: {
    file: {
      type: "string",
      default: "compose/connectors/practice5-postgres.json",
      valueName: "FILE",
      description: "connector config file",
    },
    name: {
      type: "string",
      default: "the file's name",
      valueName: "NAME",
      description: "connector name",
    },
  },
  env: {
    ...SERVICE_ENV.connect,
    ...SERVICE_ENV.postgres,
  },
  examples: ["deno task practice5:connector"],
});

await runMain(async (cli) => {
  const flags = cli;
  if (flags.positional.length) {
    throw new ConfigError(`Unexpected argument '${flags.positional[0]}'`);
  }
  const file = flags.values.file ?? CONNECTOR_FILE;
  const def = localizeConnector(
    await readConnectorFile(file),
    withDatabase(postgresUrlFromEnv(), PRACTICE5_DB),
  );
  const name = flags.values.name ?? def.name;
  const connect = new ConnectClient();
  try {
    const debezium = (await connect.plugins()).filter((p) => p.class.startsWith("io.debezium"));
    console.log(`Debezium plugins on ${connect.url}:`);
    for (const p of debezium) console.log(`  ${JSON.stringify(p)}`);
    await connect.putConfig(name, def.config);
    const status = await connect.waitRunning(name);
    console.log(
      `Connector '${name}' ${status.connector.state}, tasks: ${
        status.tasks.map((t) => t.state).join(", ")
      }`,
    );
    console.log(
      `Topics: ${def.config["topic.prefix"]}.public.users, ${
        def.config["topic.prefix"]
      }.public.orders`,
    );
  } catch (err) {
    if (err instanceof ConnectError) {
      console.error(`error: ${err.message}`);
      Deno.exit(1);
    }
    throw err;
  }
}, SPEC);
