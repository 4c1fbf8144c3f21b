/**
 * `deno task bench:lake` — events/s of the lake sink against Spark Structured Streaming
 * (pyspark from PyPI + the spark-sql-kafka jars from Maven Central), both reading the same
 * topic of order events and writing Parquet to the same HDFS, in the same run; then the
 * Parquet writers compared (encode throughput, size, and pyarrow reading each file back).
 * Saves bench-results/lake.{json,md}.
 *
 * Needs the stack with HDFS: `deno task stack up --hdfs`. Env: BENCH_EVENTS (default
 * 300000), BENCH_WRITER_ROWS (default 50000).
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, defineTask, envInt, runMain, SERVICE_ENV } from "../../lib/env/mod.ts";
import { createKafka, ensureTopic, KAFKA_ENV, kafkaConfigFromEnv } from "../../lib/kafka/mod.ts";
import {
  columnsFromSchema,
  createParquetBuffer,
  makeOrder,
  PARQUET_WRITERS,
  produceOrders,
  WebHdfs,
} from "../../lib/lake/mod.ts";
import { ORDER_SCHEMA } from "../../lib/schemas/mod.ts";
import { fetchBundle } from "../../lib/stack/mod.ts";
import { localEndpoints } from "../../lib/env/mod.ts";
import { PYTHON_PACKAGES, pythonEnv } from "../../lib/stack/mod.ts";
import { markdownTable, writeReport } from "../../lib/bench/mod.ts";
import { run } from "../../lib/stack/mod.ts";
import { PROJECT_ROOT } from "../../lib/env/mod.ts";

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));

/** The Kafka source jars Spark needs beside pyspark's own (which has Hadoop, Scala, …). */
async function sparkKafkaJars(pysparkJars: string): Promise<string[]> {
  const have = new Set<string>();
  for await (const e of Deno.readDir(pysparkJars)) {
    have.add(e.name.replace(/-[\d.]+(-\w+)?\.jar$/, ""));
  }
  const all = (await fetchBundle("spark-kafka")).filter((p) => p.endsWith(".jar"));
  return all.filter((p) => !have.has(p.split("/").pop()!.replace(/-[\d.]+(-\w+)?\.jar$/, "")));
}

const SPEC = defineTask({
  task: "bench:lake",
  summary:
    "Events/s of the lake sink beside Spark Structured Streaming into the same HDFS, then the Parquet writers compared; saves bench-results/lake.{json,md}.",
  env: {
    ...KAFKA_ENV,
    ...SERVICE_ENV.webhdfs,
    BENCH_EVENTS: { description: "order events in the topic", default: "300000" },
    BENCH_WRITER_ROWS: { description: "rows per Parquet writer test", default: "50000" },
  },
  examples: ["BENCH_EVENTS=50000 deno task bench:lake"],
});

await runMain(async () => {
  const events = envInt("BENCH_EVENTS", { default: 300_000, min: 1000 });
  const writerRows = envInt("BENCH_WRITER_ROWS", { default: 50_000, min: 1000 });
  const endpoints = localEndpoints();
  const hdfsUrl = endpoints.hdfsUrl as string | undefined;
  if (!hdfsUrl || !endpoints.kafka.main) {
    throw new ConfigError("bench:lake needs the stack with HDFS: run `deno task stack up --hdfs`");
  }
  const bootstrap = endpoints.kafka.main;
  const kafka = createKafka(kafkaConfigFromEnv({ clientId: "bench-lake", logLevel: "ERROR" }));
  const hdfs = new WebHdfs();
  const topic = `bench-lake-${Date.now().toString(36)}`;

  console.log("Preparing pyspark (pinned, cached venv) and the spark-sql-kafka jars…");
  const py = await pythonEnv("spark", [PYTHON_PACKAGES.pyspark, PYTHON_PACKAGES.pyarrow]);
  const pysparkHome = (await run(py.python, [
    "-c",
    "import pyspark, os; print(os.path.dirname(pyspark.__file__))",
  ])).trim();
  const jars = await sparkKafkaJars(join(pysparkHome, "jars"));

  const admin = kafka.admin();
  await admin.connect();
  await ensureTopic(admin, { topic, partitions: 3, replicationFactor: 1 });
  await admin.disconnect();
  console.log(`Producing ${events} order events to ${topic}…`);
  let t = performance.now();
  await produceOrders(kafka, topic, events, {
    prefix: topic,
    batch: 10_000,
    onProgress: (n) => n % 100_000 === 0 && console.log(`  ${n}/${events}`),
  });
  console.log(`  produced in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  // 1. The lake sink, as the task runs it, draining the topic.
  console.log("Lake sink (deno task lake:sink --drain)…");
  t = performance.now();
  const sink = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(PROJECT_ROOT, "tasks/lake/sink.ts"), "--drain"],
    env: {
      LAKE_TOPICS: `${topic}=order`,
      LAKE_GROUP_ID: `bench-${topic}`,
      LAKE_ROOT: "/bench/lake",
      LAKE_METRICS_PORT: "0",
      KAFKAJS_LOG_LEVEL: "ERROR",
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const sinkSeconds = (performance.now() - t) / 1000;
  const sinkLog = new TextDecoder().decode(sink.stderr);
  if (!sink.success) throw new Error(`lake sink failed:\n${sinkLog.slice(-3000)}`);
  const written = Number(sinkLog.match(/lake sink: (\d+) written/g)?.pop()?.match(/\d+/)?.[0]);
  if (written !== events) throw new Error(`lake sink wrote ${written} of ${events} events`);
  console.log(`  ${written} events in ${sinkSeconds.toFixed(1)} s`);

  // 2. Spark Structured Streaming, availableNow, same topic, same HDFS.
  console.log("Spark Structured Streaming (local[2], availableNow)…");
  t = performance.now();
  const sparkOut = await run(py.python, [
    here("../../lib/lake/spark_lake.py"),
    bootstrap,
    topic,
    hdfsUrl,
    `${hdfsUrl}/bench/spark/${topic}`,
    jars.join(","),
  ], { what: "spark_lake.py", env: { PYSPARK_PYTHON: py.python } });
  const sparkSeconds = (performance.now() - t) / 1000;
  const spark = JSON.parse(sparkOut.trim().split("\n").pop()!) as {
    rows: number;
    streaming_seconds: number;
    total_seconds: number;
  };
  if (spark.rows !== events) throw new Error(`Spark wrote ${spark.rows} of ${events} events`);
  console.log(
    `  ${spark.rows} events in ${sparkSeconds.toFixed(1)} s (streaming query ${
      spark.streaming_seconds.toFixed(1)
    } s)`,
  );

  // 3. Parquet writers on the same rows.
  console.log(`Parquet writers, ${writerRows} orders each…`);
  const columns = columnsFromSchema(ORDER_SCHEMA);
  const orders = Array.from({ length: writerRows }, (_, i) => makeOrder(i));
  const check = await pythonEnv("lake-check", [PYTHON_PACKAGES.pyarrow, PYTHON_PACKAGES.duckdb]);
  const tmp = await Deno.makeTempDir({ prefix: "bench-lake-" });
  const writers = [];
  for (const writer of PARQUET_WRITERS) {
    let best = Infinity;
    let bytes: Uint8Array = new Uint8Array();
    for (let round = 0; round < 3; round++) {
      const start = performance.now();
      const buf = await createParquetBuffer(writer, columns);
      orders.forEach((o, i) =>
        buf.append(o as unknown as Record<string, unknown>, {
          partition: 0,
          offset: BigInt(i),
          timestamp: Date.now(),
        })
      );
      bytes = await buf.encode();
      best = Math.min(best, (performance.now() - start) / 1000);
    }
    const file = join(tmp, `${writer}.parquet`);
    await Deno.writeFile(file, bytes);
    const readBack = Number(
      (await run(check.python, [
        "-c",
        `import pyarrow.parquet as pq; print(pq.read_table(${JSON.stringify(file)}).num_rows)`,
      ])).trim(),
    );
    writers.push({
      writer,
      rowsPerSec: Math.round(writerRows / best),
      bytes: bytes.length,
      pyarrowReadsAll: readBack === writerRows,
    });
    console.log(
      `  ${writer}: ${
        Math.round(writerRows / best)
      } rows/s, ${bytes.length} bytes, pyarrow reads ${readBack}`,
    );
  }
  await Deno.remove(tmp, { recursive: true });
  await hdfs.delete(`/bench/lake/${topic}`, { recursive: true }).catch(() => false);
  await hdfs.delete(`/bench/spark/${topic}`, { recursive: true }).catch(() => false);
  await hdfs.delete(`/bench/spark/${topic}_checkpoint`, { recursive: true }).catch(() => false);

  const sinkRate = events / sinkSeconds;
  const sparkRate = events / sparkSeconds;
  const sparkQueryRate = events / spark.streaming_seconds;
  const result = {
    date: new Date().toISOString(),
    events,
    lakeSink: { seconds: sinkSeconds, eventsPerSec: Math.round(sinkRate) },
    spark: {
      seconds: sparkSeconds,
      eventsPerSec: Math.round(sparkRate),
      streamingSeconds: spark.streaming_seconds,
      streamingEventsPerSec: Math.round(sparkQueryRate),
    },
    ratio: sinkRate / sparkRate,
    ratioToStreamingQuery: sinkRate / sparkQueryRate,
    writers,
    cpus: navigator.hardwareConcurrency,
  };
  const md = [
    markdownTable(
      ["writer to HDFS Parquet", "wall s (process start → done)", "events/s"],
      [
        [`lake sink (Deno, ${writers[0].writer})`, sinkSeconds.toFixed(1), Math.round(sinkRate)],
        [
          "Spark Structured Streaming, availableNow (whole run)",
          sparkSeconds.toFixed(1),
          Math.round(sparkRate),
        ],
        [
          "Spark, streaming query only (session already up)",
          spark.streaming_seconds.toFixed(1),
          Math.round(sparkQueryRate),
        ],
      ],
      ["left", "right", "right"],
    ),
    `Ratio lake sink / Spark: **${result.ratio.toFixed(2)}×** (whole run), ${
      result.ratioToStreamingQuery.toFixed(2)
    }× against the streaming query alone.`,
    markdownTable(
      ["Parquet writer", "rows/s (encode)", "file bytes", "pyarrow reads all rows"],
      writers.map((w) => [w.writer, w.rowsPerSec, w.bytes, w.pyarrowReadsAll ? "yes" : "NO"]),
      ["left", "right", "right", "left"],
    ),
  ].join("\n\n");
  const title = `bench:lake — ${events} order events, 3 partitions, ${result.cpus} CPUs`;
  const saved = await writeReport("lake", { title, markdown: md, json: result });
  console.log(`\n${md}\n\nSaved ${saved} and lake.json`);
}, SPEC);
