/**
 * `deno task bench:consume [--records 1000000] [--record-size 512] [--keep-stack]` — consumer
 * throughput on a dedicated 1-broker stack, in one run, all reading the same topic from the start:
 *
 *   - Kafka's `kafka-consumer-perf-test` (ConsumerPerformance, same jars) — the reference;
 *   - the project's batch consumption path (kafkajs eachBatch with practice 2's fetch settings and
 *     one manual commit per batch);
 *   - the per-message path (kafkajs eachMessage with auto-commit, practice 2's single consumer).
 *
 * The topic is filled first by the Java producer. Prints records/s, MB/s and the ratio to the
 * Java tool; saves bench-results/consume.{json,md}.
 */
import type { Kafka } from "kafkajs";
import { defineTask, flagInt, runMain } from "../../lib/env/mod.ts";
import {
  benchKafka,
  type BenchRow,
  benchTable,
  producerPerfTest,
  saveBench,
} from "../../lib/bench/mod.ts";
import { ensureTopic } from "../../lib/kafka/mod.ts";
import { runKafkaTool } from "../../lib/stack/mod.ts";

async function consumeAll(
  kafka: Kafka,
  topic: string,
  records: number,
  mode: "batch" | "message",
): Promise<number> {
  const consumer = kafka.consumer({
    groupId: `bench-${mode}-${Date.now().toString(36)}`,
    minBytes: 64 * 1024,
    maxWaitTimeInMs: 100,
    maxBytesPerPartition: 4 * 1024 * 1024,
    maxBytes: 16 * 1024 * 1024,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  let t0 = 0;
  const done = Promise.withResolvers<void>();
  const tick = (n: number) => {
    if (t0 === 0) t0 = performance.now();
    seen += n;
    if (seen >= records) done.resolve();
  };
  if (mode === "batch") {
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        tick(batch.messages.length);
        await consumer.commitOffsets([{
          topic,
          partition: batch.partition,
          offset: String(Number(batch.lastOffset()) + 1),
        }]);
      },
    });
  } else {
    await consumer.run({ autoCommit: true, eachMessage: () => Promise.resolve(tick(1)) });
  }
  await done.promise;
  const seconds = (performance.now() - t0) / 1000;
  await consumer.disconnect();
  return seconds;
}

const SPEC = defineTask({
  task: "bench:consume",
  summary:
    "Consumer throughput on a dedicated 1-broker stack: Kafka's kafka-consumer-perf-test, the project's batch path and the per-message path; saves bench-results/consume.{json,md}.",
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
    "keep-stack": { type: "boolean", description: "leave the bench stack running afterwards" },
  },
  examples: ["deno task bench:consume --records 200000"],
});

await runMain(async (cli) => {
  const flags = cli;
  const records = flagInt(flags, "records", 1_000_000);
  const size = flagInt(flags, "record-size", 512);

  const { stack, bootstrap, kafka, admin } = await benchKafka("bench-consume");
  const topic = `bench-consume-${Date.now().toString(36)}`;
  const rows: BenchRow[] = [];
  try {
    await ensureTopic(admin, { topic, partitions: 3, replicationFactor: 1 });
    console.error(`filling ${topic} with ${records.toLocaleString("en")} × ${size} B …`);
    await producerPerfTest({ bootstrap, topic, records, recordSize: size });

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

    console.error("project eachBatch consumer …");
    rows.push({
      name: "project batch path (kafkajs eachBatch, commit per batch)",
      records,
      seconds: await consumeAll(kafka, topic, records, "batch"),
    });
    console.error("project eachMessage consumer …");
    rows.push({
      name: "per-message path (kafkajs eachMessage, auto-commit)",
      records,
      seconds: await consumeAll(kafka, topic, records, "message"),
    });
  } finally {
    await admin.disconnect();
    if (!flags.booleans["keep-stack"]) await stack.down();
  }
  console.log(benchTable(rows, size));
  const path = await saveBench("consume", rows, {
    recordSize: size,
    broker: "1 local KRaft node",
    records,
    partitions: 3,
  });
  console.log(`\nsaved ${path} and .json`);
}, SPEC);
