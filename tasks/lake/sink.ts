/**
 * `deno task lake:sink [--drain]` — the lake sink: Kafka topics → Parquet files on HDFS
 * (`/lake/raw/<topic>/dt=YYYY-MM-DD/hour=HH/<topic>+<partition>+<first>+<last>.parquet`),
 * exactly once, bad records to `<topic>.dlq`. Serves /metrics and /healthz.
 *
 * Env: LAKE_TOPICS (topic=schema,… default `orders=order`), LAKE_GROUP_ID (lake-sink),
 * LAKE_ROOT (/lake/raw), LAKE_ROLL_RECORDS (100000), LAKE_ROLL_BYTES (67108864),
 * LAKE_ROLL_INTERVAL_MS (60000), LAKE_PARQUET_WRITER (parquet-wasm), LAKE_METRICS_PORT
 * (9468 + STACK_PORT_OFFSET; 0 = any), WEBHDFS_URL and KAFKA_* (default: the local stack).
 * `--drain` stops once every partition is written and committed to its end.
 */
import {
  ConfigError,
  defineTask,
  envChoice,
  envInt,
  envString,
  runMain,
  SERVICE_ENV,
} from "../../lib/env/mod.ts";
import { createKafka, KAFKA_ENV, kafkaConfigFromEnv } from "../../lib/kafka/mod.ts";
import { serveMetrics } from "../../lib/monitoring/mod.ts";
import {
  type CrashPoint,
  LakeSink,
  PARQUET_WRITERS,
  parseLakeTopics,
  runSinkProcess,
  WebHdfs,
} from "../../lib/lake/mod.ts";

const SPEC = defineTask({
  task: "lake:sink",
  summary:
    "The exactly-once lake sink: topics → Parquet on HDFS under LAKE_ROOT/<topic>/dt=…/hour=…; serves /metrics. Runs until Ctrl-C (or --drain).",
  flags: {
    drain: {
      type: "boolean",
      description: "stop once every partition is written up to its current end",
    },
  },
  env: {
    ...KAFKA_ENV,
    ...SERVICE_ENV.webhdfs,
    LAKE_TOPICS: { description: "topic=schema pairs, comma-separated", default: "orders=order" },
    LAKE_GROUP_ID: { description: "consumer group", default: "lake-sink" },
    LAKE_ROOT: { description: "HDFS folder of the raw zone", default: "/lake/raw" },
    LAKE_ROLL_RECORDS: { description: "records per file at most", default: "100000" },
    LAKE_ROLL_BYTES: { description: "bytes per file at most", default: "67108864" },
    LAKE_ROLL_INTERVAL_MS: { description: "longest time a file stays open", default: "60000" },
    LAKE_PARQUET_WRITER: { description: "parquet-wasm or parquetjs", default: "parquet-wasm" },
    LAKE_METRICS_PORT: { description: "port of /metrics", default: "9468 + STACK_PORT_OFFSET" },
  },
  examples: ["deno task lake:sink --drain"],
});

await runMain(async (cli) => {
  const flags = cli;
  const topics = parseLakeTopics(envString("LAKE_TOPICS", "orders=order"));
  const crashRaw = Deno.env.get("LAKE_CRASH"); // fault injection for tests: after-rename:3
  if (crashRaw && !/^(after-temp-write|after-rename):[1-9]\d*$/.test(crashRaw)) {
    throw new ConfigError(
      `Cannot use LAKE_CRASH as it must be after-temp-write:N or after-rename:N: current value is '${crashRaw}'`,
    );
  }
  const crash = crashRaw
    ? { at: crashRaw.split(":")[0] as CrashPoint, file: Number(crashRaw.split(":")[1]) }
    : undefined;
  const offset = envInt("STACK_PORT_OFFSET", { default: 0, min: 0 });
  const sink = new LakeSink({
    kafka: createKafka(kafkaConfigFromEnv({ clientId: "lake-sink" })),
    hdfs: new WebHdfs(),
    topics,
    groupId: envString("LAKE_GROUP_ID", "lake-sink"),
    root: envString("LAKE_ROOT", "/lake/raw"),
    rollRecords: envInt("LAKE_ROLL_RECORDS", { default: 100_000, min: 1 }),
    rollBytes: envInt("LAKE_ROLL_BYTES", { default: 64 * 1024 * 1024, min: 1024 }),
    rollIntervalMs: envInt("LAKE_ROLL_INTERVAL_MS", { default: 60_000, min: 100 }),
    writer: envChoice("LAKE_PARQUET_WRITER", PARQUET_WRITERS, "parquet-wasm"),
    drain: flags.booleans.drain,
    crash,
  });
  const server = serveMetrics({
    port: envInt("LAKE_METRICS_PORT", { default: 9468 + offset, min: 0, max: 65535 }),
    service: "lake-sink",
    healthy: () => sink.healthy,
  });
  const started = performance.now();
  console.error(
    `lake sink: ${
      topics.map((t) => t.topic).join(", ")
    } → ${sink.options.hdfs.url}${sink.options.root}` +
      ` (metrics http://127.0.0.1:${server.addr.port}/metrics)`,
  );
  const report = () => {
    const s = sink.stats;
    const secs = (performance.now() - started) / 1000;
    console.error(
      `lake sink: ${s.written} written (${
        (s.written / secs).toFixed(0)
      }/s), ${s.deadLettered} to DLQ, ` +
        `${s.files} files, ${s.adopted} adopted, ${s.skipped} skipped, ${s.tempCleaned} temp files cleaned`,
    );
  };
  await runSinkProcess(sink, {
    drain: flags.booleans.drain,
    report,
    afterStop: () => server.shutdown(),
  });
}, SPEC);
