/**
 * `deno task practice5:consumer [--from-beginning] [--max N] [--group practice5-consumer]
 *  [--metrics-port 0] [--topics a,b] [--json]` — the seed's `kafka-consumer`: reads Debezium's
 * change events of users and orders and prints each decoded (table, op, before, after). A
 * record that is not a change event goes to `<topic>.dlq` with the reason and is reported on
 * stderr, never fatal. Serves /metrics and /healthz and registers with the stack's Prometheus.
 * Stops after `--max` events, or on Ctrl-C.
 */
import {
  ConfigError,
  defaultStackDir,
  defineTask,
  parseIntValue,
  runMain,
} from "../../lib/env/mod.ts";
import { createKafka, KAFKA_ENV, kafkaConfigFromEnv } from "../../lib/kafka/mod.ts";
import { serveMetrics } from "../../lib/monitoring/mod.ts";
import {
  ChangeEventConsumer,
  formatChangeEvent,
  PRACTICE5_TOPICS,
} from "../../lib/course/practice5/mod.ts";
import { registerScrapeTarget } from "../../lib/stack/mod.ts";

const SPEC = defineTask({
  task: "practice5:consumer",
  summary:
    "Reads Debezium's change events of users and orders and prints each decoded; malformed records go to <topic>.dlq. Serves /metrics.",
  flags: {
    "from-beginning": { type: "boolean", description: "read from the earliest offset" },
    max: {
      type: "string",
      default: "until Ctrl-C",
      valueName: "N",
      description: "stop after N events",
    },
    group: {
      type: "string",
      default: "practice5-consumer",
      valueName: "ID",
      description: "consumer group id",
    },
    "metrics-port": {
      type: "string",
      default: "0",
      valueName: "PORT",
      description: "port of /metrics and /healthz; 0 = any free port",
    },
    topics: {
      type: "string",
      default: "the users and orders change topics",
      valueName: "A,B",
      description: "topics to read, comma-separated",
    },
    json: { type: "boolean", description: "print events as JSON" },
  },
  env: {
    ...KAFKA_ENV,
  },
  examples: ["deno task practice5:consumer --from-beginning --max 10"],
});

await runMain(async (cli) => {
  const flags = cli;
  if (flags.positional.length) {
    throw new ConfigError(`Unexpected argument '${flags.positional[0]}'`);
  }
  const max = flags.values.max ? parseIntValue("--max", flags.values.max, { min: 1 }) : Infinity;
  const port = parseIntValue("--metrics-port", flags.values["metrics-port"] ?? "0", {
    min: 0,
    max: 65535,
  });
  const topics = flags.values.topics?.split(",").filter(Boolean) ?? [...PRACTICE5_TOPICS];
  if (topics.length === 0) throw new ConfigError("Flag --topics names no topic");
  let healthy = false;
  const server = serveMetrics({ port, service: "practice5-consumer", healthy: () => healthy });
  const target = await registerScrapeTarget(
    defaultStackDir(),
    "practice5-consumer",
    `127.0.0.1:${server.addr.port}`,
  ).catch(() => undefined);
  let seen = 0;
  let done: () => void;
  const finished = new Promise<void>((r) => (done = r));
  Deno.addSignalListener("SIGINT", () => done());
  const consumer = new ChangeEventConsumer({
    kafka: createKafka(kafkaConfigFromEnv({ clientId: "practice5-consumer" })),
    topics,
    group: flags.values.group,
    fromBeginning: flags.booleans["from-beginning"],
    onEvent: (e) => {
      if (seen >= max) return;
      console.log(flags.booleans.json ? JSON.stringify(e) : formatChangeEvent(e));
      if (++seen >= max) done();
    },
    onDeadLetter: (reason, w) =>
      console.error(`dead-lettered ${w.topic}/${w.partition}@${w.offset}: ${reason}`),
  });
  await consumer.start();
  healthy = true;
  await finished;
  await consumer.stop();
  await server.shutdown();
  if (target) await Deno.remove(target).catch(() => {});
}, SPEC);
