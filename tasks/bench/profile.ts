/**
 * `deno task`-less: `deno run -A tasks/bench/profile.ts [--side produce|consume] [--client NAME]
 *  [--records 200000] [--out bench-results/profile-SIDE-CLIENT.cpuprofile]` — a CPU profile of one
 * bench client path under Deno (V8's sampling profiler through `node:inspector`; Deno 2.9 has no
 * `--cpu-prof`), on the bench stack (`BENCH_PORT_OFFSET`, left running). Prints the top frames by
 * self time and self time by owner (kafkajs, the project, other npm packages, runtime, GC, idle);
 * the `.cpuprofile` opens in Chrome DevTools or speedscope.
 *
 * Clients: produce — project, kafkajs-1, kafkajs-5, platformatic, kafka-ts; consume — project,
 * kafkajs-tuned, platformatic, kafka-ts, message.
 */
import { join } from "node:path";
import { defineTask, flagInt, PROJECT_ROOT, runMain } from "../../lib/env/mod.ts";
import { benchKafka, payload, producerPerfTest } from "../../lib/bench/mod.ts";
import {
  type ConsumeJob,
  kafkajsConsumer,
  kafkajsPipelined,
  kafkaTsConsumer,
  kafkaTsProducer,
  platformaticConsumer,
  platformaticProducer,
  type ProduceJob,
  profiled,
  projectProducer,
  summarize,
} from "../../lib/bench/clients/mod.ts";
import { ensureTopic } from "../../lib/kafka/mod.ts";

const PRODUCE: Record<string, (j: ProduceJob) => Promise<number>> = {
  project: (j) => projectProducer(j, 2000),
  "kafkajs-1": (j) => kafkajsPipelined(j, { batch: 2000, inFlight: 1 }),
  "kafkajs-5": (j) => kafkajsPipelined(j, { batch: 2000, inFlight: 5 }),
  platformatic: (j) => platformaticProducer(j, { perPartition: 1000, outstanding: 4 }),
  "kafka-ts": (j) => kafkaTsProducer(j, { perCall: 1000, outstanding: 8, maxBatchSize: 2000 }),
};
const CONSUME: Record<string, (j: ConsumeJob) => Promise<number>> = {
  project: (j) => kafkajsConsumer(j, { mode: "batch" }),
  "kafkajs-tuned": (j) => kafkajsConsumer(j, { mode: "tuned" }),
  platformatic: platformaticConsumer,
  "kafka-ts": kafkaTsConsumer,
  message: (j) => kafkajsConsumer(j, { mode: "message" }),
};

const SPEC = defineTask({
  task: "bench:profile",
  summary:
    "CPU profile of one bench client path under Deno (node:inspector), top frames and self time by owner.",
  flags: {
    side: {
      type: "string",
      default: "produce",
      valueName: "SIDE",
      description: "produce or consume",
    },
    client: { type: "string", default: "project", valueName: "NAME", description: "which path" },
    records: { type: "string", default: "200000", valueName: "N", description: "records" },
    top: { type: "string", default: "25", valueName: "N", description: "frames listed" },
    out: { type: "string", valueName: "FILE", description: "where the .cpuprofile goes" },
  },
  examples: ["deno task bench:profile --side consume --client project"],
});

await runMain(async (cli) => {
  const side = cli.values.side ?? "produce";
  const client = cli.values.client ?? "project";
  const records = flagInt(cli, "records", 200_000);
  const table = side === "produce" ? PRODUCE : side === "consume" ? CONSUME : undefined;
  if (!table) throw new Error(`Cannot profile side '${side}': expected produce or consume`);
  if (!table[client]) {
    throw new Error(`Cannot profile '${client}': expected one of ${Object.keys(table).join(", ")}`);
  }
  const { bootstrap, admin } = await benchKafka("bench-profile");
  const topic = `bench-profile-${side}-${client}-${Date.now().toString(36)}`;
  await ensureTopic(admin, { topic, partitions: 3, replicationFactor: 1 });
  await admin.disconnect();
  if (side === "consume") await producerPerfTest({ bootstrap, topic, records, recordSize: 512 });
  const load0 = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
  const { result: seconds, profile } = await profiled(() =>
    side === "produce"
      ? PRODUCE[client]({
        bootstrap,
        topic,
        records,
        value: Buffer.from(payload(512)),
        partitions: 3,
        progress: () => {},
      })
      : CONSUME[client]({ bootstrap, topic, records, partitions: 3 })
  );
  const out = cli.values.out ??
    join(PROJECT_ROOT, "bench-results", `profile-${side}-${client}.cpuprofile`);
  await Deno.mkdir(join(out, ".."), { recursive: true });
  await Deno.writeTextFile(out, JSON.stringify(profile));
  console.log(
    `# ${side} ${client}: ${records.toLocaleString("en")} × 512 B in ${seconds.toFixed(2)} s (${
      Math.round(records / seconds).toLocaleString("en")
    } records/s), load ${load0}\n`,
  );
  console.log(summarize(profile, flagInt(cli, "top", 25)));
  console.log(`\nsaved ${out}`);
  Deno.exit(0);
}, SPEC);
