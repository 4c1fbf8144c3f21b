/**
 * `deno task bench:produce [--records 1000000] [--record-size 512] [--naive-records 20000]
 *  [--batch-size 2000] [--only a,b] [--keep-stack]` — producer throughput on a dedicated 1-broker
 * stack, 3 partitions, acks=all, idempotent, in one run:
 *
 *   - `java`: Kafka's `kafka-producer-perf-test` (ProducerPerformance, same jars) — the reference;
 *   - `project`: the project's PartitionedProducer (kafkajs underneath; practice 2's producer);
 *   - `kafkajs-1`: bare kafkajs, one sendBatch in flight per partition (the PartitionedProducer's
 *     order-safe pattern) but the three partitions' requests overlapping on the connection;
 *   - `kafkajs-5`: bare kafkajs, 5 in flight per partition (the protocol's idempotent limit) —
 *     happy path only: kafkajs 2.2.4 rewinds a partition's sequence on a failed request while
 *     later ones are in flight, so order and exactly-once do not survive a failure;
 *   - `platformatic`: @platformatic/kafka, idempotent;
 *   - `kafka-ts`: kafka-ts (always idempotent);
 *   - `naive`: kafkajs, one awaited `send()` per record (fewer records: it is slow).
 *
 * Prints records/s, MB/s and the ratio to the Java tool; saves bench-results/produce.{json,md}.
 * `BENCH_PORT_OFFSET` moves the bench stack (default 21000).
 */
import { defineTask, flagInt, runMain } from "../../lib/env/mod.ts";
import {
  benchKafka,
  type BenchRow,
  payload,
  producerPerfTest,
  throughputTable,
  withRates,
  writeReport,
} from "../../lib/bench/mod.ts";
import {
  kafkajsPipelined,
  kafkaTsProducer,
  platformaticProducer,
  type ProduceJob,
  projectProducer,
} from "../../lib/bench/clients/mod.ts";
import { ensureTopic } from "../../lib/kafka/mod.ts";

const ALL = ["java", "project", "kafkajs-1", "kafkajs-5", "platformatic", "kafka-ts", "naive"];

const SPEC = defineTask({
  task: "bench:produce",
  summary:
    "Producer throughput on a dedicated 1-broker stack (acks=all, idempotent, 3 partitions): Kafka's kafka-producer-perf-test, the project's PartitionedProducer, kafkajs tuned, @platformatic/kafka, kafka-ts and the naive one-send-per-record pattern; saves bench-results/produce.{json,md}.",
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
      description: "records per request of the kafkajs rows (1 MiB message.max.bytes caps it)",
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
    "deno task bench:produce --records 200000",
    "deno task bench:produce --records 200000 --only java,platformatic",
  ],
});

await runMain(async (cli) => {
  const flags = cli;
  const records = flagInt(flags, "records", 1_000_000);
  const size = flagInt(flags, "record-size", 512);
  const naiveRecords = flagInt(flags, "naive-records", 20_000);
  const batchSize = flagInt(flags, "batch-size", 2_000);
  const only = new Set((flags.values.only ?? ALL.join(",")).split(",").map((s) => s.trim()));
  for (const o of only) {
    if (!ALL.includes(o)) {
      throw new Error(`Cannot run row '${o}': expected one of ${ALL.join(", ")}`);
    }
  }

  const { stack, bootstrap, kafka, admin } = await benchKafka("bench-produce");
  const run = Date.now().toString(36);
  const topic = async (name: string) => {
    const t = `bench-produce-${name}-${run}`;
    await ensureTopic(admin, { topic: t, partitions: 3, replicationFactor: 1 });
    return t;
  };
  const rows: BenchRow[] = [];
  const value = Buffer.from(payload(size));
  const progress = (label: string, total: number) => {
    let last = -1;
    return (done: number) => {
      const pct = Math.floor((done / total) * 100);
      if (pct === last) return;
      last = pct;
      Deno.stderr.writeSync(new TextEncoder().encode(`\r${label}: ${pct}%   `));
    };
  };
  const job = async (name: string, label: string, n = records): Promise<ProduceJob> => ({
    bootstrap,
    topic: await topic(name),
    records: n,
    value,
    partitions: 3,
    progress: progress(label, n),
  });
  const measure = async (
    key: string,
    name: string,
    note: string | undefined,
    fn: (j: ProduceJob) => Promise<number>,
    n = records,
  ) => {
    if (!only.has(key)) return;
    try {
      rows.push({ name, records: n, seconds: await fn(await job(key, name, n)), note });
    } catch (e) {
      console.error(`\n${name} failed: ${(e as Error).stack ?? e}`);
      rows.push({ name: `${name} — FAILED: ${(e as Error).message}`, records: 0, seconds: 1 });
    }
    console.error("");
  };

  let load = "?";
  const loadOf = (text: string) => text.split(" ").slice(0, 3).join(" ");
  try {
    const load0 = await Deno.readTextFile("/proc/loadavg").catch(() => "?");
    if (only.has("java")) {
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
        note: "16 KiB batches, linger 5 ms, 5 in flight",
      });
    }
    await measure(
      "project",
      "project PartitionedProducer (kafkajs)",
      `${batchSize}/request, 1 request in flight per connection`,
      (j) => projectProducer(j, batchSize),
    );
    await measure(
      "kafkajs-1",
      "kafkajs tuned, 1 in flight per partition",
      `${batchSize}/request, 3 partitions overlapping; order-safe`,
      (j) => kafkajsPipelined(j, { batch: batchSize, inFlight: 1 }),
    );
    await measure(
      "kafkajs-5",
      "kafkajs tuned, 5 in flight per partition",
      `${batchSize}/request; NOT failure-safe in kafkajs 2.2.4`,
      (j) => kafkajsPipelined(j, { batch: batchSize, inFlight: 5 }),
    );
    await measure(
      "platformatic",
      "@platformatic/kafka 2.12.1",
      "3×1000/send(), 4 send()s outstanding",
      (j) => platformaticProducer(j, { perPartition: 1000, outstanding: 4 }),
    );
    await measure(
      "kafka-ts",
      "kafka-ts 1.5.0",
      "1000/send(), 8 outstanding, ≤ 2000/request",
      (j) => kafkaTsProducer(j, { perCall: 1000, outstanding: 8, maxBatchSize: 2000 }),
    );
    await measure("naive", "naive kafkajs, one awaited send()", undefined, async (j) => {
      const naive = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        retry: { retries: Number.MAX_SAFE_INTEGER },
      });
      await naive.connect();
      const t0 = performance.now();
      for (let i = 0; i < j.records; i++) {
        await naive.send({ topic: j.topic, acks: -1, messages: [{ value }] });
        if (i % 1000 === 999) j.progress(i + 1);
      }
      const seconds = (performance.now() - t0) / 1000;
      await naive.disconnect();
      return seconds;
    }, naiveRecords);
    load = `${loadOf(load0)} → ${
      loadOf(await Deno.readTextFile("/proc/loadavg").catch(() => "?"))
    }`;
  } finally {
    await admin.disconnect();
    if (!flags.booleans["keep-stack"]) await stack.down();
  }
  const meta = {
    recordSize: size,
    acks: "all",
    idempotent: true,
    broker: "1 local KRaft node",
    partitions: 3,
    records,
    "load average (1/5/15 min) before → after": load,
  };
  const rated = withRates(rows, size);
  const table = throughputTable(rated);
  console.log(table);
  const path = await writeReport("produce", {
    title: "bench:produce",
    markdown: `${Object.entries(meta).map(([k, v]) => `- ${k}: ${v}`).join("\n")}\n\n${table}`,
    json: { meta, rows: rated },
  });
  console.log(`\nload average (1/5/15 min) before → after: ${load}`);
  console.log(`saved ${path} and .json`);
}, SPEC);
