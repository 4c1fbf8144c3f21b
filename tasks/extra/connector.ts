/**
 * `deno task extra:connector [--name postgres-source] [--batch-max-rows 100] [--batch-size 500]
 *  [--linger-ms 0] [--compression none] [--buffer-memory 33554432]` — registers the extra
 * task's source connector (customers.users → topic `postgresql-jdbc-bulk-users`, MaskField
 * `private_info` → `CENSORED`) on the Connect worker (KAFKA_CONNECT_URL, default: the stack's)
 * and waits until it runs. Connect's refusal of a bad config is printed as Connect words it.
 */
import { ConfigError, parseFlags, parseIntValue, runMain } from "../../lib/env/mod.ts";
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

await runMain(async () => {
  const flags = parseFlags(Deno.args, {
    string: [
      "name",
      "topic",
      "batch-max-rows",
      "batch-size",
      "linger-ms",
      "compression",
      "buffer-memory",
      "password",
    ],
  });
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
});
