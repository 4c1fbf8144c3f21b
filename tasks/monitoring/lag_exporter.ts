/**
 * `deno task monitoring:lag-exporter [--port 9308] [--interval-ms 5000]` — serves consumer
 * group lag of the cluster in KAFKA_BOOTSTRAP_SERVERS on /metrics (and /healthz). The stack
 * starts it with `--monitoring`; Prometheus scrapes it.
 */
import {
  ConfigError,
  defineTask,
  parseIntValue,
  runMain,
  SERVICE_ENV,
  sleep,
  STACK_PORTS,
} from "../../lib/env/mod.ts";
import { createKafka, KAFKA_ENV, kafkaConfigFromEnv } from "../../lib/kafka/mod.ts";
import { collectLag } from "../../lib/monitoring/mod.ts";
import { counter, serveMetrics } from "../../lib/monitoring/mod.ts";

const SPEC = defineTask({
  task: "monitoring:lag-exporter",
  summary:
    "Consumer-group lag of every group on the main cluster as Prometheus metrics on /metrics; registers with the stack's Prometheus.",
  flags: {
    port: {
      type: "string",
      default: String(STACK_PORTS.lagExporter),
      valueName: "PORT",
      description: "port of /metrics",
    },
    "interval-ms": {
      type: "string",
      default: "5000",
      valueName: "MS",
      description: "how often lag is read",
    },
    "stack-dir": {
      type: "string",
      default: "STACK_DIR or .stack",
      valueName: "DIR",
      description: "stack folder whose Prometheus to register with",
    },
  },
  env: {
    ...KAFKA_ENV,
    ...SERVICE_ENV.stack,
  },
  examples: ["deno task monitoring:lag-exporter --port 9308"],
});

await runMain(async (cli) => {
  const flags = cli;
  if (flags.positional.length) throw new ConfigError(`Unexpected '${flags.positional[0]}'`);
  const port = parseIntValue("--port", flags.values.port ?? String(STACK_PORTS.lagExporter), {
    min: 0,
    max: 65535,
  });
  const interval = parseIntValue("--interval-ms", flags.values["interval-ms"] ?? "5000", {
    min: 500,
  });
  const kafka = createKafka(kafkaConfigFromEnv({ clientId: "lag-exporter", logLevel: "NOTHING" }));
  let admin = kafka.admin();
  const errors = counter("lag_exporter_errors_total", "Failed lag collections");
  const rounds = counter("lag_exporter_rounds_total", "Lag collections done, failed or not");
  let healthy = false;
  serveMetrics({ port, service: "lag-exporter", healthy: () => healthy });
  console.log(`lag exporter on http://127.0.0.1:${port}/metrics`);
  await admin.connect();
  // A round that outlasts this is given up as failed: kafkajs can sit in its retries for minutes
  // (the end offsets of a topic deleted after this round listed it), and the series would freeze.
  const roundLimitMs = Math.max(10_000, 4 * interval);
  while (true) {
    try {
      const skipped: string[] = [];
      await withinMs(
        roundLimitMs,
        collectLag(admin, { onGroupError: (g, err) => skipped.push(`${g} (${err.message})`) }),
      );
      if (skipped.length) {
        console.error(`lag of ${skipped.length} group(s) unread this round: ${skipped.join(", ")}`);
      }
      healthy = true;
    } catch (err) {
      healthy = false;
      errors.inc();
      console.error(`lag collection failed: ${(err as Error).message}`);
      // A fresh admin client for the next round: kafkajs keeps asking for the metadata of every
      // topic it was ever asked about (the end offsets read here), and once one of them is
      // deleted every refresh fails with "This server does not host this topic-partition".
      await admin.disconnect().catch(() => {});
      admin = kafka.admin();
      await admin.connect().catch(() => {});
    }
    rounds.inc();
    await sleep(interval);
  }
}, SPEC);

/** `work`, or an error once `ms` have passed (the work itself is left to fail on its own). */
async function withinMs<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the round took over ${ms / 1000} s`)), ms);
  });
  work.catch(() => {}); // a round given up may still reject later, on the old admin client
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
