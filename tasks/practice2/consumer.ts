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
import { ConfigError, envInt, parseFlags, parseIntValue, runMain } from "../../lib/env/mod.ts";
import { createKafka, kafkaConfigFromEnv } from "../../lib/kafka/mod.ts";
import { OrderConsumer } from "../../lib/course/practice2/mod.ts";
import { serveMetrics } from "../../lib/monitoring/mod.ts";

await runMain(async () => {
  const flags = parseFlags(Deno.args, {
    string: ["max-messages", "topic", "group"],
    boolean: ["batch"],
  });
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
});
