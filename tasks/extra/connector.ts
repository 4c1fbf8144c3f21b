/**
 * `deno task extra:connector [--name postgres-source] [--batch-max-rows 100] [--batch-size 500]
 *  [--linger-ms 0] [--compression none] [--buffer-memory 33554432]` — registers the extra
 * task's source connector (customers.users → topic `postgresql-jdbc-bulk-users`, MaskField
 * `private_info` → `CENSORED`) on the Connect worker (KAFKA_CONNECT_URL, default: the stack's)
 * and waits until it runs. Connect's refusal of a bad config is printed as Connect words it.
 */
import { ConfigError, defineTask, parseIntValue, runMain, SERVICE_ENV } from "../../lib/env/mod.ts";
import { ConnectClient, ConnectError } from "../../lib/connect/mod.ts";
import { postgresUrlFromEnv, withDatabase } from "../../lib/connect/mod.ts";
import {
  EXTRA_CONNECTOR,
  EXTRA_TOPIC,
  extraSourceConfig,
  type SourceTuning,
} from "../../lib/course/extra/mod.ts";
import { CUSTOMERS_DB } from "../../lib/course/extra/mod.ts";

const COMPRESSIONS = ["none", "gzip", "snappy", "lz4", "zstd"] as const;

const SPEC = defineTask({
  task: "extra:connector",
  summary:
    "Registers the extra task's JDBC source connector (customers.users → postgresql-jdbc-bulk-users, private_info masked) and waits until it runs.",
  flags: {
    name: {
      type: "string",
      default: "postgres-source",
      valueName: "NAME",
      description: "connector name",
    },
    topic: {
      type: "string",
      default: "postgresql-jdbc-bulk-users",
      valueName: "NAME",
      description: "target topic",
    },
    "batch-max-rows": {
      type: "string",
      default: "100",
      valueName: "N",
      description: "rows per poll",
    },
    "batch-size": {
      type: "string",
      default: "500",
      valueName: "BYTES",
      description: "producer batch.size",
    },
    "linger-ms": {
      type: "string",
      default: "0",
      valueName: "MS",
      description: "producer linger.ms",
    },
    compression: {
      type: "string",
      default: "none",
      valueName: "CODEC",
      description: "none, gzip, snappy, lz4 or zstd",
    },
    "buffer-memory": {
      type: "string",
      default: "33554432",
      valueName: "BYTES",
      description: "producer buffer.memory",
    },
    password: {
      type: "string",
      default: "the POSTGRES_URL's",
      valueName: "PASSWORD",
      description: "database password",
    },
  },
  env: {
    ...SERVICE_ENV.connect,
    ...SERVICE_ENV.postgres,
  },
  examples: ["deno task extra:connector --batch-max-rows 1000 --compression lz4"],
});

await runMain(async (cli) => {
  const flags = cli;
  if (flags.positional.length) {
    throw new ConfigError(`Unexpected argument '${flags.positional[0]}'`);
  }
  const v = flags.values;
  const compression = v.compression ?? "none";
  if (!(COMPRESSIONS as readonly string[]).includes(compression)) {
    throw new ConfigError(
      `Cannot use --compression as it must be one of ${
        COMPRESSIONS.join(", ")
      }: current value is '${compression}'`,
    );
  }
  const tuning: SourceTuning = {
    batchMaxRows: parseIntValue("--batch-max-rows", v["batch-max-rows"] ?? "100", { min: 1 }),
    batchSize: parseIntValue("--batch-size", v["batch-size"] ?? "500", { min: 1 }),
    lingerMs: parseIntValue("--linger-ms", v["linger-ms"] ?? "0", { min: 0 }),
    compression: compression as SourceTuning["compression"],
    bufferMemory: parseIntValue("--buffer-memory", v["buffer-memory"] ?? "33554432", { min: 1 }),
  };
  const name = v.name ?? EXTRA_CONNECTOR;
  const url = new URL(withDatabase(postgresUrlFromEnv(), CUSTOMERS_DB));
  if (v.password !== undefined) url.password = v.password;
  const config = extraSourceConfig({
    url: url.toString(),
    topic: v.topic ?? EXTRA_TOPIC,
    ...tuning,
  });
  const connect = new ConnectClient();
  try {
    await connect.putConfig(name, config);
    const status = await connect.waitRunning(name);
    console.log(
      `Connector '${name}' ${status.connector.state} with ${status.tasks.length} task(s) on ${connect.url}; ` +
        `rows of customers.users go to '${v.topic ?? EXTRA_TOPIC}' with private_info = CENSORED`,
    );
  } catch (err) {
    if (err instanceof ConnectError) {
      console.error(`error: ${err.message}`);
      Deno.exit(1);
    }
    throw err;
  }
}, SPEC);
