/**
 * `deno task bench:mirror [--rates 1000,2000,5000,10000] [--seconds 20]` — MirrorMaker 2's
 * A → B latency and copy rate at fixed offered rates (open loop; lib/bench/mirror.ts), beside
 * the rate Kafka's own producer (`kafka-producer-perf-test`) reaches on cluster A in the same
 * run. Each step produces user events of the run's own to `user-events` on A (a topic MM2
 * mirrors), stamped with their send time; a read_committed kafkajs reader on B notes each
 * one's arrival. The platform's target: A → B p99 ≤ 1 s at 5,000 records/s.
 *
 * Needs the platform's stack running (secure cluster A, cluster B, MirrorMaker 2):
 * `deno task demo` (or `deno task stack up --secure --mirror` and `deno task final:setup`).
 * Env: STACK_DIR, STACK_PORT_OFFSET.
 */
import {
  ConfigError,
  defaultStackDir,
  defineTask,
  flagInt,
  pollUntil,
  runMain,
} from "../../lib/env/mod.ts";
import { Stack } from "../../lib/stack/mod.ts";
import { createKafka, kafkaConfigFromEnv, secureKafkaConfigFromEnv } from "../../lib/kafka/mod.ts";
import {
  mirrorReport,
  type MirrorStep,
  mirrorStep,
  parseRates,
  producerPerfTest,
  requireRunning,
  writeReport,
} from "../../lib/bench/mod.ts";

const SPEC = defineTask({
  task: "bench:mirror",
  summary:
    "MirrorMaker 2 at fixed offered rates (open loop): A → B latency p50/p95/p99 and copy rate per step, read on B by a reader that is not MM2, beside kafka-producer-perf-test on cluster A. Needs the platform's stack running (deno task demo).",
  flags: {
    rates: {
      type: "string",
      default: "1000,2000,5000,10000",
      description: "offered records/s, ascending, comma-separated",
    },
    seconds: { type: "string", default: "20", description: "seconds of load per rate" },
    drain: {
      type: "string",
      default: "30",
      description: "longest wait per step for the last records to reach B (s)",
    },
    "perf-records": {
      type: "string",
      default: "300000",
      description: "records kafka-producer-perf-test sends (the reference)",
    },
  },
  env: {
    STACK_DIR: { description: "the stack's data folder", default: ".stack" },
    STACK_PORT_OFFSET: { description: "added to every port", default: "0" },
  },
  examples: [
    "deno task bench:mirror",
    "deno task bench:mirror --rates 200,500 --seconds 5 --perf-records 20000",
  ],
});

/** Bytes of a bench user event (the reference producer sends records of this size). */
const RECORD_BYTES = 200;

/** kafka-producer-perf-test on A into a topic of the run's own (3 partitions, as user-events). */
async function referenceRate(stack: Stack, run: string, records: number) {
  const cluster = stack.secureKafka!;
  const topic = `bench-mirror-perf-${run}`;
  const admin = createKafka(secureKafkaConfigFromEnv("admin", { logLevel: "NOTHING" })).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: false });
    await pollUntil(`${topic}'s leaders`, async () => {
      const meta = await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
      return meta?.topics[0]?.partitions.length === 3 &&
        meta.topics[0].partitions.every((p) => p.leader >= 0);
    }, { timeoutMs: 60_000, intervalMs: 500 });
    console.log(`kafka-producer-perf-test: ${records} records of ${RECORD_BYTES} B into ${topic}…`);
    return await producerPerfTest({
      bootstrap: cluster.bootstrap(),
      topic,
      records,
      recordSize: RECORD_BYTES,
      configFile: cluster.secrets().javaClientProperties.admin,
    });
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  }
}

await runMain(async (cli) => {
  let rates: number[];
  try {
    rates = parseRates(cli.values.rates ?? "1000,2000,5000,10000", 100_000);
  } catch (err) {
    throw new ConfigError(`Cannot bench as '--rates' ${(err as Error).message}`);
  }
  const seconds = flagInt(cli, "seconds", 20, { min: 1, max: 600 });
  const drainSeconds = flagInt(cli, "drain", 30, { min: 1, max: 600 });
  const perfRecords = flagInt(cli, "perf-records", 300_000, { min: 1_000, max: 50_000_000 });
  const stack = await Stack.load(defaultStackDir());
  await requireRunning(stack, ["kafka-secure", "kafka-mirror", "mirror-maker"], "deno task demo");
  const run = Date.now().toString(36);
  const kafkaA = createKafka(
    secureKafkaConfigFromEnv("admin", { clientId: "bench-mirror", logLevel: "NOTHING" }),
  );
  const bootstrapB = stack.mirrorKafka!.bootstrap();
  const kafkaB = createKafka(kafkaConfigFromEnv({ clientId: "bench-mirror", logLevel: "NOTHING" }, {
    get: (n) => n === "KAFKA_BOOTSTRAP_SERVERS" ? bootstrapB : undefined,
  }));
  const steps: MirrorStep[] = [];
  for (const rate of rates) {
    console.log(`${rate} records/s offered for ${seconds} s…`);
    const s = await mirrorStep({ kafkaA, kafkaB, run, rate, seconds, drainSeconds });
    console.log(
      `  A → B p50 ${s.latency.p50} ms, p99 ${s.latency.p99} ms; copied ${
        Math.round(s.copyPerSec)
      }/s; missing ${s.missing}`,
    );
    steps.push(s);
  }
  const reference = await referenceRate(stack, run, perfRecords);
  const markdown = mirrorReport({ steps, reference, seconds, recordBytes: RECORD_BYTES });
  const saved = await writeReport("mirror", {
    title: "bench:mirror",
    markdown,
    json: { rates, seconds, drainSeconds, steps, reference, loadavg: Deno.loadavg() },
  });
  console.log(`\n${markdown}\n\nSaved ${saved} and mirror.json`);
}, SPEC);
