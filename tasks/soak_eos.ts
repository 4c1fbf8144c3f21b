/**
 * `deno task soak:eos [--client platformatic] [--records 100000] [--kills 6] [--seed N]` — the
 * kill -9 exactly-once drill for a candidate Kafka client, as the project's own processors pass
 * it (practice 3's and the lake's tests): a consume-transform-produce copier
 * (tasks/soak_eos_copier.ts, on the candidate's transactions) copies an input topic to an
 * output topic while it is SIGKILLed `--kills` times at seeded random moments and started
 * again (it pauses `--crash-window-ms` inside each transaction, so kills land in open ones);
 * then it runs until its group has consumed everything. Kafka's console consumer (a
 * client other than the candidate) then reads the output read_committed: every input record
 * must be there exactly once, per partition in input order. It also reads the output
 * read_uncommitted, so the report shows how many aborted copies the kills left (proof they hit
 * open transactions). Exit 1 when the check fails. Runs on a 1-node cluster of its own (a temp
 * folder, ports offset by `--port-offset`).
 */
import {
  ConfigError,
  defineTask,
  flagInt,
  pollUntil,
  retry,
  runMain,
  sleep,
} from "../lib/env/mod.ts";
import { consoleRecords, Stack } from "../lib/stack/mod.ts";
import { createKafka, ensureTopic } from "../lib/kafka/mod.ts";
import { Producer, stringSerializers } from "@platformatic/kafka";
import { mulberry32 } from "../lib/marketplace/mod.ts";

const SPEC = defineTask({
  task: "soak:eos",
  summary:
    "Kill -9 exactly-once drill of a candidate client's transactions: a copier SIGKILLed again and again must leave every input record in the output exactly once (read_committed, by Kafka's console consumer).",
  flags: {
    client: {
      type: "string",
      default: "platformatic",
      valueName: "NAME",
      description: "client whose transactions are drilled (platformatic)",
    },
    records: { type: "string", default: "100000", valueName: "N", description: "input records" },
    kills: { type: "string", default: "6", valueName: "N", description: "SIGKILLs of the copier" },
    seed: {
      type: "string",
      valueName: "N",
      description: "seed of the kill moments (default: random, printed)",
    },
    "crash-window-ms": {
      type: "string",
      default: "300",
      valueName: "MS",
      description: "the copier's pause between a transaction's writes and its commit",
    },
    "port-offset": {
      type: "string",
      default: "23500",
      valueName: "N",
      description: "port offset of the drill's own cluster",
    },
  },
  examples: ["deno task soak:eos", "deno task soak:eos --records 200000 --kills 12 --seed 3"],
});

const COPIER = new URL("./soak_eos_copier.ts", import.meta.url).pathname;

await runMain(async (cli) => {
  const client = cli.values.client ?? "platformatic";
  if (client !== "platformatic") {
    throw new ConfigError(
      `--client '${client}' is not known: expected platformatic (the project's own processors ` +
        `are drilled by practice 3's and the lake's tests)`,
    );
  }
  const records = flagInt(cli, "records", 100_000, { min: 100, max: 10_000_000 });
  const kills = flagInt(cli, "kills", 6, { min: 1, max: 1000 });
  const seed = flagInt(cli, "seed", Math.floor(Math.random() * 1e9), { min: 0 });
  const portOffset = flagInt(cli, "port-offset", 23_500, { min: 0, max: 50_000 });
  const crashWindowMs = flagInt(cli, "crash-window-ms", 300, { min: 0, max: 60_000 });
  const random = mulberry32(seed);
  const dir = await Deno.makeTempDir({ prefix: "soak-eos-" });
  const stack = new Stack({ dir, portOffset, brokers: 1, postgres: false, jmx: false });
  const [input, output, group] = ["eos-in", "eos-out", "eos-copier"];
  console.log(`soak:eos: ${client}, ${records} records, ${kills} kills, seed ${seed}, in ${dir}`);
  let ok = false;
  let copier: Deno.ChildProcess | undefined;
  try {
    await stack.up();
    const bootstrap = stack.kafka.bootstrap();
    const admin = createKafka({ ...stack.kafka.clientConfig(), logLevel: "NOTHING" }).admin();
    await admin.connect();
    for (const topic of [input, output]) {
      await ensureTopic(admin, { topic, partitions: 3, replicationFactor: 1 });
    }
    await produceInput(bootstrap, input, records);
    // The group's committed offsets, summed (the offsets topic loads at first use: retried).
    const consumed = () =>
      retry(async () => {
        const [committed] = await admin.fetchOffsets({ groupId: group, topics: [input] });
        return committed.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
      }, { attempts: 10, retryIf: (e) => /coordinator/i.test(String(e)) });
    const start = () =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          COPIER,
          ...[bootstrap, input, output, group, "eos-copier", String(crashWindowMs)],
        ],
        stdout: "inherit",
        stderr: "inherit",
      }).spawn();
    let restartsAfterFailure = 0;
    for (let k = 1; k <= kills; k++) {
      const before = await consumed();
      if (before >= records) {
        throw new Error(`the input ran out after ${k - 1} kills: give more --records`);
      }
      copier = start();
      // Killed 0.2–2 s after its first commit (joining the group takes seconds, more when the
      // killed member's session has to expire first), so that the kill lands among commits.
      await pollUntil(`copier ${k}'s first commit`, async () => (await consumed()) > before, {
        timeoutMs: 120_000,
        intervalMs: 100,
      });
      const at = 200 + Math.floor(random() * 1_800);
      const ended = await Promise.race([copier.status, sleep(at).then(() => undefined)]);
      if (ended) {
        restartsAfterFailure++;
      } else {
        copier.kill("SIGKILL");
        await copier.status;
      }
      console.log(
        `kill ${k}: ${at} ms after its first commit; ${await consumed()} of ${records} consumed`,
      );
    }
    copier = start();
    await pollUntil(`the copier's group to consume all ${records} records`, async () => {
      const status = await Promise.race([copier!.status, sleep(0).then(() => undefined)]);
      if (status) {
        restartsAfterFailure++;
        copier = start();
      }
      return (await consumed()) >= records;
    }, { timeoutMs: 300_000, intervalMs: 1_000 });
    copier.kill("SIGTERM");
    await copier.status;
    copier = undefined;
    await admin.disconnect();

    const kafka = { ...stack.kafka.clientConfig(), clientId: "soak-eos-reader" };
    const committed = await consoleRecords(output, { kafka, readCommitted: true });
    const all = await consoleRecords(output, { kafka });
    const counts = new Map<string, number>();
    for (const r of committed) counts.set(r.value!, (counts.get(r.value!) ?? 0) + 1);
    const missing = Array.from({ length: records }, (_, i) => `in:${i}`)
      .filter((v) => !counts.has(v));
    const duplicated = [...counts].filter(([, n]) => n > 1).map(([v]) => v);
    const reordered = [0, 1, 2].filter((p) => {
      const seq = committed.filter((r) => r.partition === p).map((r) => Number(r.value!.slice(3)));
      return seq.some((n, i) => i > 0 && n < seq[i - 1]);
    });
    ok = missing.length + duplicated.length + reordered.length === 0;
    console.log(
      `soak:eos ${ok ? "OK" : "FAILED"}: ${records} in, ${committed.length} committed out ` +
        `(${
          all.length - committed.length
        } aborted copies in the log), ${missing.length} missing, ` +
        `${duplicated.length} duplicated, ${reordered.length} partitions out of order; ` +
        `${kills} kills, ${restartsAfterFailure} restarts after the copier failed by itself`,
    );
    if (!ok) {
      console.log(`  missing: ${missing.slice(0, 10).join(" ")}`);
      console.log(`  duplicated: ${duplicated.slice(0, 10).join(" ")}`);
    }
  } finally {
    if (copier) {
      copier.kill("SIGKILL");
      await copier.status;
    }
    await stack.down();
    if (ok) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  if (!ok) {
    console.log(
      `logs in ${dir}; again with: deno task soak:eos --records ${records} --kills ${kills} ` +
        `--crash-window-ms ${crashWindowMs} --seed ${seed}`,
    );
    Deno.exit(1);
  }
}, SPEC);

/** The input: values `in:0` … in order, keys over 12 values, acks=all and idempotent. */
async function produceInput(bootstrap: string, topic: string, n: number): Promise<void> {
  const producer = new Producer({
    clientId: "soak-eos-input",
    bootstrapBrokers: bootstrap.split(","),
    idempotent: true,
    serializers: stringSerializers,
  });
  try {
    for (let from = 0; from < n; from += 1_000) {
      const messages = [];
      for (let i = from; i < Math.min(n, from + 1_000); i++) {
        messages.push({ topic, key: `k${i % 12}`, value: `in:${i}` });
      }
      await producer.send({ messages });
    }
  } finally {
    await producer.close();
  }
}
