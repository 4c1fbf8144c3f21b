/**
 * `deno task practice5:consumer [--from-beginning] [--max N] [--group practice5-consumer]
 *  [--metrics-port 0]` — the seed's `kafka-consumer`: reads Debezium's change events of
 * users and orders and prints each decoded (table, op, before, after). A message that is not
 * a change event is reported and skipped, never fatal. Serves /metrics and /healthz and
 * registers with the stack's Prometheus. Stops after `--max` events, or on Ctrl-C.
 */
import { ConfigError, parseFlags, parseIntValue, runMain } from "../../lib/env/mod.ts";
import { createKafka, kafkaConfigFromEnv } from "../../lib/kafka/mod.ts";
import { counter, serveMetrics } from "../../lib/monitoring/mod.ts";
import {
  decodeChangeEvent,
  formatChangeEvent,
  PRACTICE5_TOPICS,
} from "../../lib/course/practice5/mod.ts";
import { registerScrapeTarget } from "../../lib/stack/mod.ts";
import { defaultStackDir } from "../../lib/env/mod.ts";

await runMain(async () => {
  const flags = parseFlags(Deno.args, {
    string: ["max", "group", "metrics-port", "topics"],
    boolean: ["from-beginning", "json"],
  });
  if (flags.positional.length) {
    throw new ConfigError(`Unexpected argument '${flags.positional[0]}'`);
  }
  const max = flags.values.max ? parseIntValue("--max", flags.values.max, { min: 1 }) : Infinity;
  const port = parseIntValue("--metrics-port", flags.values["metrics-port"] ?? "0", {
    min: 0,
    max: 65535,
  });
  const topics = flags.values.topics?.split(",") ?? [...PRACTICE5_TOPICS];
  const events = counter("practice5_change_events_total", "Change events consumed", [
    "table",
    "op",
  ]);
  const bad = counter("practice5_bad_messages_total", "Messages that were not change events");
  let healthy = false;
  const server = serveMetrics({ port, service: "practice5-consumer", healthy: () => healthy });
  const target = await registerScrapeTarget(
    defaultStackDir(),
    "practice5-consumer",
    `127.0.0.1:${server.addr.port}`,
  ).catch(() => undefined);
  const kafka = createKafka(kafkaConfigFromEnv({ clientId: "practice5-consumer" }));
  const consumer = kafka.consumer({ groupId: flags.values.group ?? "practice5-consumer" });
  let seen = 0;
  let done: () => void;
  const finished = new Promise<void>((r) => (done = r));
  Deno.addSignalListener("SIGINT", () => done());
  await consumer.connect();
  for (const topic of topics) {
    await consumer.subscribe({ topic, fromBeginning: flags.booleans["from-beginning"] });
  }
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      if (seen >= max) return;
      try {
        const e = decodeChangeEvent(message.value);
        events.inc({ table: e.table, op: e.op });
        console.log(flags.booleans.json ? JSON.stringify(e) : formatChangeEvent(e));
      } catch (err) {
        bad.inc();
        console.error(`skipped ${topic}/${partition}@${message.offset}: ${(err as Error).message}`);
      }
      if (++seen >= max) done();
      await Promise.resolve();
    },
  });
  healthy = true;
  await finished;
  await consumer.disconnect();
  await server.shutdown();
  if (target) await Deno.remove(target).catch(() => {});
});
