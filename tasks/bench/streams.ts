/**
 * `deno task bench:streams` — practice 3's filter, messages/s, side by side in one run on the
 * same cluster and the same input topic:
 *
 * 1. Kafka Streams (Java, `processing.guarantee=exactly_once_v2`, 1 stream thread), the
 *    program in tasks/bench/java/StreamsFilterBench.java, compiled here against the stack's
 *    Kafka bundle into the cache;
 * 2. the project's runtime, exactly-once (practice 3's app, in process);
 * 3. the project's runtime, at-least-once.
 *
 * All do the same work per message: parse JSON, drop it when the recipient blocked the sender,
 * mask forbidden words, write JSON. Throughput = messages committed after the first 10% ÷ the
 * time they took (start-up and warm-up excluded; wall time with start-up is reported too). Prints the
 * ratio to Kafka Streams and saves bench-results/streams.{json,md}.
 *
 * Needs a running stack (`deno task stack up --brokers 3`) or KAFKA_BOOTSTRAP_SERVERS.
 * Flags: --messages N (default 200000), --partitions N (default 3), --rounds N (default 2;
 * even rounds run the processors in reverse order), --out DIR.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { type Admin, type Kafka, Partitioners } from "kafkajs";
import { defineTask, parseIntValue, runMain, sleep } from "../../lib/env/mod.ts";
import { createKafka, ensureTopic, KAFKA_ENV, kafkaConfigFromEnv } from "../../lib/kafka/mod.ts";
import { bundleClasspath } from "../../lib/stack/mod.ts";
import { cacheDir, PROJECT_ROOT } from "../../lib/env/mod.ts";
import { createPractice3App } from "../../lib/course/practice3/mod.ts";
import { blockKey } from "../../lib/course/practice3/mod.ts";
import { changelogTopic } from "../../lib/streams/mod.ts";
import type { Guarantee } from "../../lib/streams/mod.ts";
import { markdownTable, writeReport } from "../../lib/bench/mod.ts";

const JAVA_SRC = join(PROJECT_ROOT, "tasks/bench/java/StreamsFilterBench.java");
const WORD = "плохоеслово";
const BLOCK = { user: "r0", blocked: "u1" };

interface Row {
  name: string;
  guarantee: string;
  messagesPerSec: number;
  wallSec: number;
}

async function committed(admin: Admin, group: string, topic: string): Promise<number> {
  const o = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return o[0].partitions.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
}

/** Polls the group's committed offsets until all `total` are committed. */
async function measure(
  admin: Admin,
  group: string,
  topic: string,
  total: number,
  started: number,
  label: string,
): Promise<{ rate: number; wall: number }> {
  let first: { t: number; c: number } | undefined;
  let lastPrint = 0;
  const deadline = Date.now() + 15 * 60_000;
  while (Date.now() < deadline) {
    const c = await committed(admin, group, topic).catch(() => 0);
    const t = performance.now();
    // Start the clock once 10% is committed: start-up, group join and JIT warm-up excluded.
    if (c >= total * 0.1 && c < total && !first) first = { t, c };
    if (t - lastPrint > 5_000) {
      console.log(`  ${label}: ${c}/${total} committed`);
      lastPrint = t;
    }
    if (c >= total) {
      const wall = (t - started) / 1000;
      const span = first && t > first.t ? (t - first.t) / 1000 : wall;
      const rate = first && t > first.t ? (total - first.c) / span : total / wall;
      return { rate, wall };
    }
    await sleep(100);
  }
  throw new Error(`${label} did not finish within 15 minutes`);
}

async function compileJava(): Promise<string> {
  const cp = await bundleClasspath("kafka");
  const src = await Deno.readTextFile(JAVA_SRC);
  const digest = createHash("sha256").update(src).update(cp).digest("hex").slice(0, 12);
  const dir = join(cacheDir(), "bench", `streams-filter-${digest}`);
  try {
    await Deno.stat(join(dir, "StreamsFilterBench.class"));
  } catch {
    console.log("compiling the Kafka Streams program (javac)…");
    await Deno.mkdir(dir, { recursive: true });
    const r = await new Deno.Command("javac", { args: ["-cp", cp, "-d", dir, JAVA_SRC] }).output();
    if (r.code !== 0) throw new Error(`javac failed:\n${new TextDecoder().decode(r.stderr)}`);
  }
  return `${dir}:${cp}`;
}

async function runKafkaStreams(
  admin: Admin,
  bootstrap: string,
  run: string,
  input: string,
  total: number,
): Promise<Row> {
  const cp = await compileJava();
  const appId = `${run}-kstreams`;
  const stateDir = await Deno.makeTempDir({ prefix: "bench-streams-state-" });
  const started = performance.now();
  const child = new Deno.Command("java", {
    args: [
      "-Xms256m",
      "-Xmx384m",
      "-cp",
      cp,
      "StreamsFilterBench",
      bootstrap,
      appId,
      input,
      `${run}-out-kstreams`,
      "exactly_once_v2",
      stateDir,
      `${BLOCK.user}>${BLOCK.blocked}`,
      WORD,
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  try {
    const m = await measure(admin, appId, input, total, started, "Kafka Streams");
    return {
      name: "Kafka Streams 4.1.1 (Java, 1 thread)",
      guarantee: "exactly_once_v2",
      messagesPerSec: m.rate,
      wallSec: m.wall,
    };
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  }
}

async function runProject(
  kafka: Kafka,
  admin: Admin,
  run: string,
  input: string,
  total: number,
  guarantee: Guarantee,
  rf: number,
): Promise<Row> {
  const appId = `${run}-${guarantee === "exactly_once" ? "eos" : "alos"}`;
  // Seed the tables the way the app itself would have written them: the changelogs.
  const seed = kafka.producer({
    idempotent: true,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await seed.connect();
  for (
    const [name, key, value] of [
      ["forbidden_words", WORD, { word: WORD }],
      ["blocked_users", blockKey(BLOCK.user, BLOCK.blocked), BLOCK],
    ] as const
  ) {
    const topic = changelogTopic(appId, { name });
    await ensureTopic(admin, {
      topic,
      partitions: 1,
      replicationFactor: rf,
      config: { "cleanup.policy": "compact", "min.insync.replicas": String(Math.min(2, rf)) },
    });
    await seed.send({ topic, acks: -1, messages: [{ key, value: JSON.stringify(value) }] });
  }
  await seed.disconnect();
  const started = performance.now();
  const app = await createPractice3App(kafka, {
    appId,
    guarantee,
    replicationFactor: rf,
    topics: {
      messages: input,
      filtered: `${run}-out-${guarantee}`,
      blocked: `${run}-blocked_users`,
      words: `${run}-forbidden_words`,
    },
    streams: { log: () => {} },
  });
  await app.start();
  try {
    const m = await measure(admin, appId, input, total, started, `project ${guarantee}`);
    return {
      name: "project lib/streams (Deno, kafkajs)",
      guarantee,
      messagesPerSec: m.rate,
      wallSec: m.wall,
    };
  } finally {
    await app.stop();
  }
}

const SPEC = defineTask({
  task: "bench:streams",
  summary:
    "Practice 3's filter, messages/s: Kafka Streams (exactly_once_v2) beside the project's runtime (exactly-once and at-least-once) on the same input; saves bench-results/streams.{json,md}.",
  flags: {
    messages: { type: "string", default: "200000", valueName: "N", description: "input messages" },
    partitions: { type: "string", default: "3", valueName: "N", description: "input partitions" },
    rounds: {
      type: "string",
      default: "2",
      valueName: "N",
      description: "rounds (even rounds reverse the order)",
    },
    out: {
      type: "string",
      default: "bench-results",
      valueName: "DIR",
      description: "output folder",
    },
  },
  env: {
    ...KAFKA_ENV,
  },
  examples: ["deno task bench:streams --messages 50000 --rounds 1"],
});

await runMain(async (cli) => {
  const flags = cli;
  const rounds = flags.values.rounds
    ? parseIntValue("--rounds", flags.values.rounds, { min: 1, max: 10 })
    : 2;
  const total = flags.values.messages
    ? parseIntValue("--messages", flags.values.messages, { min: 1_000 })
    : 200_000;
  const partitions = flags.values.partitions
    ? parseIntValue("--partitions", flags.values.partitions, { min: 1, max: 64 })
    : 3;
  const outDir = flags.values.out ?? join(PROJECT_ROOT, "bench-results");
  const cfg = kafkaConfigFromEnv({ clientId: "bench-streams", logLevel: "ERROR" });
  const kafka = createKafka(cfg);
  const admin = kafka.admin();
  await admin.connect();
  const brokers = (await admin.describeCluster()).brokers.length;
  const rf = Math.min(3, brokers);
  const run = `bench-streams-${Date.now().toString(36)}`;
  const input = `${run}-messages`;
  console.log(
    `bench:streams — ${total} messages, ${partitions} partitions, ${brokers} broker(s) at ${
      cfg.brokers.join(",")
    }`,
  );
  await ensureTopic(admin, {
    topic: input,
    partitions,
    replicationFactor: rf,
    config: { "min.insync.replicas": String(Math.min(2, rf)) },
  });
  const producer = kafka.producer({
    idempotent: true,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  let expected = 0;
  for (let start = 0; start < total; start += 5_000) {
    const messages = [];
    for (let i = start; i < Math.min(total, start + 5_000); i++) {
      const m = {
        sender: `u${i % 50}`,
        recipient: `r${i % 7}`,
        text: i % 3 === 0 ? `#${i} вот и ${WORD}, bye` : `#${i} hello there, how are you?`,
      };
      if (!(m.recipient === BLOCK.user && m.sender === BLOCK.blocked)) expected++;
      // Keyed by message, so records spread evenly over the partitions (7 recipients would not).
      messages.push({ key: `m${i}`, value: JSON.stringify(m) });
    }
    await producer.send({ topic: input, acks: -1, messages });
    if ((start + 5_000) % 50_000 === 0) console.log(`  loaded ${start + 5_000}/${total}`);
  }
  await producer.disconnect();
  console.log(`input ready (${expected} messages pass the filter)`);

  const bootstrap = cfg.brokers.join(",");
  // Each round runs the three processors; even rounds in reverse order, so that none of them
  // always gets the cooler (or hotter) machine. Each row reports the mean over the rounds.
  const samples: Row[][] = [[], [], []];
  const steps = [
    (r: string) => runKafkaStreams(admin, bootstrap, r, input, total),
    (r: string) => runProject(kafka, admin, r, input, total, "exactly_once", rf),
    (r: string) => runProject(kafka, admin, r, input, total, "at_least_once", rf),
  ];
  const labels = [
    "Kafka Streams, exactly_once_v2",
    "project, exactly_once",
    "project, at_least_once",
  ];
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 === 1 ? [0, 1, 2] : [2, 1, 0];
    for (const i of order) {
      console.log(`round ${round}/${rounds}: ${labels[i]}`);
      samples[i].push(await steps[i](`${run}-r${round}`));
    }
  }
  await admin.disconnect();
  const rows: (Row & { samples: number[] })[] = samples.map((list) => ({
    ...list[0],
    messagesPerSec: list.reduce((a, r) => a + r.messagesPerSec, 0) / list.length,
    wallSec: list.reduce((a, r) => a + r.wallSec, 0) / list.length,
    samples: list.map((r) => Math.round(r.messagesPerSec)),
  }));

  const ref = rows[0].messagesPerSec;
  const ratio = rows[1].messagesPerSec / ref;
  const result = {
    bench: "streams",
    date: new Date().toISOString(),
    messages: total,
    partitions,
    rounds,
    brokers,
    rows: rows.map((r) => ({ ...r, ratioToKafkaStreams: r.messagesPerSec / ref })),
    ratio,
  };
  const title =
    `bench:streams — ${total} messages, ${partitions} partitions, ${brokers} brokers, ${rounds} round(s)`;
  const md = markdownTable(
    [
      "processor",
      "guarantee",
      "messages/s (mean)",
      "per round",
      "wall s (with start-up)",
      "× Kafka Streams",
    ],
    result.rows.map((r) => [
      r.name,
      r.guarantee,
      Math.round(r.messagesPerSec),
      r.samples.join(", "),
      r.wallSec.toFixed(1),
      r.ratioToKafkaStreams.toFixed(2),
    ]),
    ["left", "left", "right", "left", "right", "right"],
  );
  const saved = await writeReport("streams", { title, markdown: md, json: result }, outDir);
  console.log("\n" + md);
  console.log(
    `ratio: project exactly-once ÷ Kafka Streams exactly_once_v2 = ${ratio.toFixed(2)}×`,
  );
  console.log(`saved ${saved} and streams.json`);
  Deno.exit(0);
}, SPEC);
