/**
 * `deno task bench:produce [--records 1000000] [--record-size 512] [--naive-records 20000]
 *  [--batch-size 2000] [--keep-stack]` — producer throughput on a dedicated 1-broker stack, acks=all,
 * idempotent, in one run:
 *
 *   - Kafka's `kafka-producer-perf-test` (ProducerPerformance, same jars) — the reference;
 *   - the project's PartitionedProducer (kafkajs underneath; what practice 2's producer uses);
 *   - the naive kafkajs pattern, one awaited `send()` per record (fewer records: it is slow).
 *
 * Prints records/s, MB/s and the ratio to the Java tool; saves bench-results/produce.{json,md}.
 */
import { defineTask, flagInt, runMain } from "../../lib/env/mod.ts";
import {
  benchKafka,
  type BenchRow,
  benchTable,
  payload,
  producerPerfTest,
  saveBench,
} from "../../lib/bench/mod.ts";
import { ensureTopic, PartitionedProducer } from "../../lib/kafka/mod.ts";

const SPEC = defineTask({
  task: "bench:produce",
  summary:
    "Producer throughput on a dedicated 1-broker stack (acks=all, idempotent): Kafka's kafka-producer-perf-test, the project's PartitionedProducer and the naive one-send-per-record pattern; saves bench-results/produce.{json,md}.",
  flags: {
    records: { type: "string", default: "1000000", valueName: "N", description: "records per run" },
    "record-size": {
      type: "string",
      default: "512",
      valueName: "BYTES",
      description: "bytes per record",
    },
    "naive-records": {
      type: "string",
      default: "20000",
      valueName: "N",
      description: "records of the naive run",
    },
    "batch-size": {
      type: "string",
      default: "2000",
      valueName: "N",
      description: "records per send() of the project's producer",
    },
    "keep-stack": { type: "boolean", description: "leave the bench stack running afterwards" },
  },
  examples: ["deno task bench:produce --records 200000"],
});

await runMain(async (cli) => {
  const flags = cli;
  const records = flagInt(flags, "records", 1_000_000);
  const size = flagInt(flags, "record-size", 512);
  const naiveRecords = flagInt(flags, "naive-records", 20_000);
  const batchSize = flagInt(flags, "batch-size", 2_000);

  const { stack, bootstrap, kafka, admin } = await benchKafka("bench-produce");
  const run = Date.now().toString(36);
  const topic = async (name: string) => {
    const t = `bench-produce-${name}-${run}`;
    await ensureTopic(admin, { topic: t, partitions: 3, replicationFactor: 1 });
    return t;
  };
  const rows: BenchRow[] = [];
  const value = Buffer.from(payload(size));
  const progress = (label: string, done: number, total: number) =>
    Deno.stderr.writeSync(
      new TextEncoder().encode(`\r${label}: ${Math.floor((done / total) * 100)}%   `),
    );

  try {
    // 1. Kafka's own perf tool.
    console.error(`kafka-producer-perf-test: ${records.toLocaleString("en")} × ${size} B …`);
    const java = await producerPerfTest({
      bootstrap,
      topic: await topic("java"),
      records,
      recordSize: size,
      props: ["acks=all", "enable.idempotence=true"],
    });
    rows.push({
      name: "kafka-producer-perf-test (Java)",
      records: java.records,
      seconds: java.seconds,
      reference: true,
    });

    // 2. The project's batching producer.
    const t2 = await topic("deno");
    const producer = new PartitionedProducer(kafka, { lingerMs: 5, batchSize });
    await producer.connect();
    const window = batchSize * 6; // enough queued for every partition to fill its batches
    let t0 = performance.now();
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < records; i++) {
      pending.push(producer.send(t2, { value }));
      if (pending.length >= window) {
        await Promise.all(pending.splice(0));
        progress("project PartitionedProducer", i + 1, records);
      }
    }
    await Promise.all(pending);
    rows.push({
      name: "project PartitionedProducer (kafkajs)",
      records,
      seconds: (performance.now() - t0) / 1000,
      note: `${batchSize}/request`,
    });
    await producer.disconnect();
    console.error("");

    // 3. The naive pattern: one awaited send per record.
    const t3 = await topic("naive");
    const naive = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      retry: { retries: Number.MAX_SAFE_INTEGER },
    });
    await naive.connect();
    t0 = performance.now();
    for (let i = 0; i < naiveRecords; i++) {
      await naive.send({ topic: t3, acks: -1, messages: [{ value }] });
      if (i % 1000 === 999) progress("naive kafkajs", i + 1, naiveRecords);
    }
    rows.push({
      name: "naive kafkajs, one awaited send()",
      records: naiveRecords,
      seconds: (performance.now() - t0) / 1000,
    });
    await naive.disconnect();
    console.error("");
  } finally {
    await admin.disconnect();
    if (!flags.booleans["keep-stack"]) await stack.down();
  }
  console.log(benchTable(rows, size));
  const path = await saveBench("produce", rows, {
    recordSize: size,
    acks: "all",
    idempotent: true,
    broker: "1 local KRaft node",
    records,
  });
  console.log(`\nsaved ${path} and .json`);
}, SPEC);
