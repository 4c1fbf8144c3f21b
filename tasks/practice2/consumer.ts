/**
 * `deno task practice2:consumer` — the seed's consumers; BATCH_SIZE selects the kind:
 * 1 → single-message consumer (auto-commit), > 1 → batch consumer (manual commit per batch).
 * `practice2:consumer:single` sets BATCH_SIZE=1; `practice2:consumer:batch` uses BATCH_SIZE
 * (default 10). Runs until Ctrl-C; a bad record goes to `orders.dlq` and is skipped.
 *
 * Env: BATCH_SIZE, BATCH_TIMEOUT_MS (default 5000: a partial batch goes out after this wait),
 * KAFKA_BOOTSTRAP_SERVERS, METRICS_PORT (default 0: a free port).
 * Flags: --batch (refuse BATCH_SIZE=1), --max-messages N (stop after N records, for scripts),
 * --topic NAME (default orders), --group ID (default orders-single-consumer / orders-batch-consumer).
 */
import { ConfigError, defineTask, envInt, parseIntValue, runMain } from "../../lib/env/mod.ts";
import { createKafka, KAFKA_ENV, kafkaConfigFromEnv } from "../../lib/kafka/mod.ts";
import { OrderConsumer } from "../../lib/course/practice2/mod.ts";
import { serveMetrics } from "../../lib/monitoring/mod.ts";

const SPEC = defineTask({
  task: "practice2:consumer",
  summary:
    "Reads orders at least once: one by one (BATCH_SIZE=1, practice2:consumer:single) or in batches with one commit per batch (--batch, practice2:consumer:batch); prints each order.",
  flags: {
    batch: {
      type: "boolean",
      description: "consume in batches of BATCH_SIZE, committing once per batch",
    },
    "max-messages": {
      type: "string",
      default: "until Ctrl-C",
      valueName: "N",
      description: "stop after N orders",
    },
    topic: { type: "string", default: "orders", valueName: "NAME", description: "topic to read" },
    group: {
      type: "string",
      default: "orders-single-consumer or orders-batch-consumer",
      valueName: "ID",
      description: "consumer group id",
    },
  },
  env: {
    ...KAFKA_ENV,
    BATCH_SIZE: { description: "orders per batch (1 = single-message consumer)", default: "10" },
    BATCH_TIMEOUT_MS: { description: "longest wait to fill a batch", default: "5000" },
    METRICS_PORT: { description: "port of /metrics and /healthz; 0 = any free port", default: "0" },
  },
  examples: [
    "deno task practice2:consumer:batch --max-messages 20",
    "deno task practice2:consumer:single",
  ],
});

await runMain(async (cli) => {
  const flags = cli;
  const batchSize = envInt("BATCH_SIZE", { default: 10, min: 1, max: 100_000 });
  if (flags.booleans.batch && batchSize === 1) {
    throw new ConfigError(
      "Cannot run the batch consumer as BATCH_SIZE must be > 1: current value is 1",
    );
  }
  const max = flags.values["max-messages"]
    ? parseIntValue("--max-messages", flags.values["max-messages"], { min: 1 })
    : 0;
  const batchTimeoutMs = envInt("BATCH_TIMEOUT_MS", { default: 5_000, min: 1 });
  const metricsPort = envInt("METRICS_PORT", { default: 0, min: 0, max: 65535 });
  const consumer = new OrderConsumer(
    createKafka(kafkaConfigFromEnv({ clientId: "practice2-consumer" })),
    { batchSize, batchTimeoutMs, topic: flags.values.topic, groupId: flags.values.group },
  );
  const server = serveMetrics({
    port: metricsPort,
    service: `practice2-consumer-${consumer.mode}`,
  });
  console.log(
    `${consumer.mode} consumer, group ${consumer.groupId}, BATCH_SIZE=${batchSize}; metrics on http://127.0.0.1:${server.addr.port}/metrics`,
  );
  const done = Promise.withResolvers<void>();
  const onSignal = () => done.resolve();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  await consumer.start();
  const timer = max
    ? setInterval(() => consumer.stats.consumed >= max && done.resolve(), 200)
    : undefined;
  await done.promise;
  clearInterval(timer);
  await consumer.stop();
  await server.shutdown();
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
  const s = consumer.stats;
  console.log(
    `stopped: ${s.consumed} read, ${s.processed} processed, ${s.deadLettered} dead-lettered, ${s.commits} commits`,
  );
}, SPEC);
