/**
 * `deno task bench:consume [--records 1000000] [--record-size 512] [--only a,b] [--keep-stack]` —
 * consumer throughput on a dedicated 1-broker stack, in one run, all reading the same 3-partition
 * topic from the start, each with a fresh group, timed from the first record to the last:
 *
 *   - `java`: Kafka's `kafka-consumer-perf-test` (ConsumerPerformance, same jars) — the reference;
 *   - `project`: the project's batch path (kafkajs eachBatch with practice 2's fetch settings and
 *     one manual commit per batch);
 *   - `kafkajs-tuned`: kafkajs eachBatch, 3 partitions concurrently, 1 MiB minBytes, 16 MiB per
 *     partition, auto-commit every second instead of an awaited commit per batch;
 *   - `platformatic`: @platformatic/kafka's consumer stream, auto-commit every second;
 *   - `kafka-ts`: kafka-ts' onBatch consumer (commits after every batch);
 *   - `message`: the per-message path (kafkajs eachMessage with auto-commit).
 *
 * The topic is filled first by the Java producer. Prints records/s, MB/s and the ratio to the
 * Java tool; saves bench-results/consume.{json,md}. `BENCH_PORT_OFFSET` moves the bench stack.
 */
import { defineTask, flagInt, runMain } from "../../lib/env/mod.ts";
import {
  benchKafka,
  type BenchRow,
  producerPerfTest,
  throughputTable,
  withRates,
  writeReport,
} from "../../lib/bench/mod.ts";
import {
  type ConsumeJob,
  kafkajsConsumer,
  kafkaTsConsumer,
  platformaticConsumer,
} from "../../lib/bench/clients/mod.ts";
import { ensureTopic } from "../../lib/kafka/mod.ts";
import { runKafkaTool } from "../../lib/stack/mod.ts";

const ALL = ["java", "project", "kafkajs-tuned", "platformatic", "kafka-ts", "message"];

const SPEC = defineTask({
  task: "bench:consume",
  summary:
    "Consumer throughput on a dedicated 1-broker stack: Kafka's kafka-consumer-perf-test, the project's batch path, kafkajs tuned, @platformatic/kafka, kafka-ts and the per-message path; saves bench-results/consume.{json,md}.",
  flags: {
    records: {
      type: "string",
      default: "1000000",
      valueName: "N",
      description: "records in the topic",
    },
    "record-size": {
      type: "string",
      default: "512",
      valueName: "BYTES",
      description: "bytes per record",
    },
    only: {
      type: "string",
      default: ALL.join(","),
      valueName: "LIST",
      description: "rows to run, comma-separated",
    },
    "keep-stack": { type: "boolean", description: "leave the bench stack running afterwards" },
  },
  env: {
    BENCH_PORT_OFFSET: { description: "port offset of the bench stack", default: "21000" },
  },
  examples: [
    "deno task bench:consume --records 200000",
    "deno task bench:consume --records 200000 --only java,kafka-ts",
  ],
});

await runMain(async (cli) => {
  const flags = cli;
  const records = flagInt(flags, "records", 1_000_000);
  const size = flagInt(flags, "record-size", 512);
  const only = new Set((flags.values.only ?? ALL.join(",")).split(",").map((s) => s.trim()));
  for (const o of only) {
    if (!ALL.includes(o)) {
      throw new Error(`Cannot run row '${o}': expected one of ${ALL.join(", ")}`);
    }
  }

  const { stack, bootstrap, admin } = await benchKafka("bench-consume");
  const topic = `bench-consume-${Date.now().toString(36)}`;
  const rows: BenchRow[] = [];
  const job: ConsumeJob = { bootstrap, topic, records, partitions: 3 };
  const measure = async (
    key: string,
    name: string,
    fn: (j: ConsumeJob) => Promise<number>,
  ) => {
    if (!only.has(key)) return;
    console.error(`${name} …`);
    try {
      rows.push({ name, records, seconds: await fn(job) });
    } catch (e) {
      console.error(`${name} failed: ${(e as Error).stack ?? e}`);
      rows.push({ name: `${name} — FAILED: ${(e as Error).message}`, records: 0, seconds: 1 });
    }
  };
  let load = "?";
  const loadOf = (text: string) => text.split(" ").slice(0, 3).join(" ");
  try {
    await ensureTopic(admin, { topic, partitions: 3, replicationFactor: 1 });
    console.error(`filling ${topic} with ${records.toLocaleString("en")} × ${size} B …`);
    await producerPerfTest({ bootstrap, topic, records, recordSize: size });
    const load0 = await Deno.readTextFile("/proc/loadavg").catch(() => "?");

    if (only.has("java")) {
      console.error("kafka-consumer-perf-test …");
      // Non-detailed summary columns: start.time, end.time, data.consumed.in.MB, MB.sec,
      // data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
      const summary = await runKafkaTool("org.apache.kafka.tools.ConsumerPerformance", [
        "--bootstrap-server",
        bootstrap,
        "--topic",
        topic,
        "--messages",
        String(records),
        "--group",
        `bench-java-${Date.now().toString(36)}`,
      ], { heapMb: 512, jit: "full", what: "kafka-consumer-perf-test" });
      const cols = summary.trim().split("\n").pop()!.split(",").map((s) => s.trim());
      const n = Number(cols[4]);
      const fetchMs = Number(cols[7]);
      if (!(n > 0 && fetchMs > 0)) {
        throw new Error(`Cannot read ConsumerPerformance's summary:\n${summary}`);
      }
      rows.push({
        name: "kafka-consumer-perf-test (Java)",
        records: n,
        seconds: fetchMs / 1000,
        reference: true,
        note: "fetch time, rebalance excluded",
      });
    }
    await measure(
      "project",
      "project batch path (kafkajs eachBatch, commit per batch)",
      (j) => kafkajsConsumer(j, { mode: "batch" }),
    );
    await measure(
      "kafkajs-tuned",
      "kafkajs tuned (eachBatch, 3 partitions concurrently, big fetches, interval commit)",
      (j) => kafkajsConsumer(j, { mode: "tuned" }),
    );
    await measure(
      "platformatic",
      "@platformatic/kafka 2.12.1 (stream, interval commit)",
      platformaticConsumer,
    );
    await measure("kafka-ts", "kafka-ts 1.5.0 (onBatch, commit per batch)", kafkaTsConsumer);
    await measure(
      "message",
      "per-message path (kafkajs eachMessage, auto-commit)",
      (j) => kafkajsConsumer(j, { mode: "message" }),
    );
    load = `${loadOf(load0)} → ${
      loadOf(await Deno.readTextFile("/proc/loadavg").catch(() => "?"))
    }`;
  } finally {
    await admin.disconnect();
    if (!flags.booleans["keep-stack"]) await stack.down();
  }
  const meta = {
    recordSize: size,
    broker: "1 local KRaft node",
    records,
    partitions: 3,
    "load average (1/5/15 min) before → after": load,
  };
  const rated = withRates(rows, size);
  const table = throughputTable(rated);
  console.log(table);
  const path = await writeReport("consume", {
    title: "bench:consume",
    markdown: `${Object.entries(meta).map(([k, v]) => `- ${k}: ${v}`).join("\n")}\n\n${table}`,
    json: { meta, rows: rated },
  });
  console.log(`\nload average (1/5/15 min) before → after: ${load}`);
  console.log(`saved ${path} and .json`);
}, SPEC);
