/**
 * `deno task final:lake [--drain]` — the lake of mirrored events: cluster B's copies of
 * `products`, `user-events`, `user-requests`, `user-responses` → Parquet on HDFS
 * (`/lake/raw/<topic>/dt=YYYY-MM-DD/hour=HH/<topic>+<partition>+<first>+<last>.parquet`),
 * exactly once; records failing their schema go to `<topic>.dlq` on cluster B. Products are
 * flattened (`price_amount`, `currency`, `stock_available`, …). Serves /metrics and /healthz.
 *
 * Env: LAKE_BOOTSTRAP_SERVERS (cluster B; default: the stack's mirror cluster, else its main
 * cluster), LAKE_TOPICS (comma-separated subset, default all four), LAKE_TOPIC_PREFIX (put
 * before each topic name, e.g. `A.` under MM2's default replication policy), LAKE_GROUP_ID
 * (final-lake), LAKE_ROOT (/lake/raw), LAKE_ROLL_RECORDS (100000), LAKE_ROLL_INTERVAL_MS
 * (60000), LAKE_METRICS_PORT (the `lake-sink` port of the topology; 0 = any), LAKE_METRICS_HOST
 * (address /metrics listens on; default 127.0.0.1, 0.0.0.0 in a container), WEBHDFS_URL and
 * KAFKA_* (security settings of cluster B). `--drain` stops once everything is written.
 */
import {
  defineTask,
  envInt,
  envString,
  KAFKA_CLIENT_PORTS,
  localEndpoints,
  runMain,
  SERVICE_ENV,
} from "../../lib/env/mod.ts";
import { createKafka, KAFKA_ENV, kafkaConfigFromEnv } from "../../lib/kafka/mod.ts";
import { serveMetrics } from "../../lib/monitoring/mod.ts";
import { LakeSink, runSinkProcess, WebHdfs } from "../../lib/lake/mod.ts";
import { finalLakeTopics, servicePort } from "../../lib/marketplace/mod.ts";
import { applyPlatformConfig } from "../../lib/marketplace/mod.ts";

const SPEC = defineTask({
  task: "final:lake",
  summary:
    "The final project's lake sink from cluster B: topics → Parquet on HDFS (exactly-once); serves /metrics. Runs until Ctrl-C (or --drain).",
  flags: {
    drain: {
      type: "boolean",
      description: "stop once every partition is written up to its current end",
    },
  },
  env: {
    ...KAFKA_ENV,
    ...SERVICE_ENV.webhdfs,
    LAKE_TOPICS: { description: "topics to sink, comma-separated", default: "the platform's" },
    LAKE_TOPIC_PREFIX: { description: "prefix of the topic names", default: "" },
    LAKE_GROUP_ID: { description: "consumer group", default: "final-lake" },
    LAKE_ROOT: { description: "HDFS folder of the raw zone", default: "/lake/raw" },
    LAKE_ROLL_RECORDS: { description: "records per file at most", default: "100000" },
    LAKE_ROLL_INTERVAL_MS: { description: "longest time a file stays open", default: "60000" },
    LAKE_METRICS_PORT: {
      description: "port of /metrics",
      default: "the topology's port + STACK_PORT_OFFSET",
    },
    LAKE_METRICS_HOST: {
      description: "address /metrics listens on (0.0.0.0 in a container)",
      default: "127.0.0.1",
    },
  },
  examples: ["deno task final:lake --drain"],
});

await runMain(async (cli) => {
  applyPlatformConfig("lake-sink");
  const flags = cli;
  const topics = finalLakeTopics(
    envString("LAKE_TOPICS", ""),
    envString("LAKE_TOPIC_PREFIX", ""),
  );
  const endpoints = localEndpoints();
  const bootstrap = envString(
    "LAKE_BOOTSTRAP_SERVERS",
    endpoints.kafka.mirror ?? endpoints.kafka.main ?? `localhost:${KAFKA_CLIENT_PORTS.main}`,
  );
  const kafka = createKafka(kafkaConfigFromEnv({ clientId: "final-lake" }, {
    get: (name) => name === "KAFKA_BOOTSTRAP_SERVERS" ? bootstrap : Deno.env.get(name),
  }));
  const sink = new LakeSink({
    kafka,
    hdfs: new WebHdfs(),
    topics,
    groupId: envString("LAKE_GROUP_ID", "final-lake"),
    root: envString("LAKE_ROOT", "/lake/raw"),
    rollRecords: envInt("LAKE_ROLL_RECORDS", { default: 100_000, min: 1 }),
    rollIntervalMs: envInt("LAKE_ROLL_INTERVAL_MS", { default: 60_000, min: 100 }),
    drain: flags.booleans.drain,
  });
  const metricsHost = envString("LAKE_METRICS_HOST", "127.0.0.1");
  const server = serveMetrics({
    port: envInt("LAKE_METRICS_PORT", { default: servicePort("lake-sink"), min: 0, max: 65535 }),
    hostname: metricsHost,
    service: "final-lake",
    healthy: () => sink.healthy,
  });
  console.error(
    `final lake: ${topics.map((t) => t.topic).join(", ")} on ${bootstrap} → ` +
      `${sink.options.hdfs.url}${sink.options.root} (metrics http://${metricsHost}:${server.addr.port}/metrics)`,
  );
  const report = () => {
    const s = sink.stats;
    console.error(
      `final lake: ${s.written} written, ${s.deadLettered} to DLQ, ${s.files} files, ` +
        `${s.adopted} adopted, ${s.skipped} skipped`,
    );
  };
  await runSinkProcess(sink, {
    drain: flags.booleans.drain,
    report,
    afterStop: () => server.shutdown(),
  });
}, SPEC);
