/**
 * `deno task practice3:app` — practice 3's message filter (exactly-once stream processor):
 * `messages` → `filtered_messages`, with the `blocked_users` and `forbidden_words` tables
 * restored from their changelogs first. Runs until SIGINT/SIGTERM, then finishes the open
 * transaction and leaves the group.
 *
 * Env: KAFKA_BOOTSTRAP_SERVERS, METRICS_PORT (default 0: a free port), METRICS_HOST (default
 * 127.0.0.1; 0.0.0.0 in a container), PROCESSING_GUARANTEE,
 * PRACTICE3_APP_ID, PRACTICE3_TOPIC_PREFIX (see lib/practice3/env.ts).
 */
import { defineTask, envInt, envString, runMain } from "../../lib/env/mod.ts";
import { createKafka, KAFKA_ENV, kafkaConfigFromEnv } from "../../lib/kafka/mod.ts";
import { serveMetrics } from "../../lib/monitoring/mod.ts";
import { createPractice3App } from "../../lib/course/practice3/mod.ts";
import { practice3Env } from "../../lib/course/practice3/mod.ts";

const SPEC = defineTask({
  task: "practice3:app",
  summary:
    "Practice 3 stream processor (exactly-once): drops messages of blocked senders, masks forbidden words, writes filtered_messages; serves /metrics and /healthz. Runs until Ctrl-C.",
  env: {
    ...KAFKA_ENV,
    PRACTICE3_TOPIC_PREFIX: { description: "prefix of every practice 3 topic", default: "" },
    METRICS_PORT: { description: "port of /metrics and /healthz; 0 = any free port", default: "0" },
    METRICS_HOST: { description: "address /metrics listens on", default: "127.0.0.1" },
  },
  examples: ["deno task practice3:app"],
});

await runMain(async () => {
  const cfg = practice3Env();
  const metricsPort = envInt("METRICS_PORT", { default: 0, min: 0, max: 65535 });
  const metricsHost = envString("METRICS_HOST", "127.0.0.1");
  const kafka = createKafka(kafkaConfigFromEnv({ clientId: cfg.appId }));
  const app = await createPractice3App(kafka, {
    appId: cfg.appId,
    guarantee: cfg.guarantee,
    topics: cfg.topics,
  });
  const server = serveMetrics({
    port: metricsPort,
    service: cfg.appId,
    hostname: metricsHost,
    healthy: () => app.healthy,
  });
  console.log(
    `${cfg.appId} (${cfg.guarantee}): ${cfg.topics.messages}, ${cfg.topics.blocked}, ${cfg.topics.words} → ` +
      `${cfg.topics.filtered}; metrics on http://127.0.0.1:${server.addr.port}/metrics`,
  );
  const done = Promise.withResolvers<string>();
  const onInt = () => done.resolve("SIGINT");
  const onTerm = () => done.resolve("SIGTERM");
  Deno.addSignalListener("SIGINT", onInt);
  Deno.addSignalListener("SIGTERM", onTerm);
  // A signal while starting (e.g. Kafka unreachable, kafkajs retrying) ends the process at once:
  // nothing is processed yet, so there is no transaction to finish.
  const first = await Promise.race([app.start().then(() => undefined), done.promise]);
  if (first) {
    console.log(`${first} while starting: exiting`);
    Deno.exit(first === "SIGINT" ? 130 : 143);
  }
  // A second signal while stopping does not wait for the stop either.
  done.promise.then(() => {
    const force = () => Deno.exit(1);
    Deno.addSignalListener("SIGINT", force);
    Deno.addSignalListener("SIGTERM", force);
  });
  console.log("processing");
  const report = setInterval(() => {
    const parts = [...app.stats].map(([t, s]) =>
      `${t} in=${s.in} out=${s.out} filtered=${s.filtered} dlq=${s.dlq}`
    );
    console.log(`progress: ${parts.join("; ")}`);
  }, 10_000);
  const why = await done.promise;
  clearInterval(report);
  console.log(`${why}: finishing the open transaction and leaving the group`);
  await app.stop();
  await server.shutdown();
  Deno.removeSignalListener("SIGINT", onInt);
  Deno.removeSignalListener("SIGTERM", onTerm);
  const parts = [...app.stats].map(([t, s]) =>
    `${t} in=${s.in} out=${s.out} filtered=${s.filtered} dlq=${s.dlq}`
  );
  console.log(`stopped: ${parts.join("; ")}`);
}, SPEC);
