/**
 * `deno task bench:final-ingest` — the final project's product filter, products/s, beside the
 * same filter topology in Kafka Streams, in one run on the secure cluster A (SASL_SSL, as
 * admin), on topics of the run's own (`bench-fi-<run>-…`) so the platform's topics stay clean:
 *
 * 1. Kafka Streams (Java, exactly_once_v2, 1 stream thread): tasks/bench/java/
 *    ProductFilterBench.java — parse, GlobalKTable lookup of the forbidden table, branch to
 *    allowed / blocked / dlq;
 * 2. the project's filter (lib/marketplace/filter.ts, exactly-once, in process) — the same
 *    lookup, plus full JSON-Schema validation and the second (Connect envelope) output.
 *
 * Throughput = records committed after the first 10% ÷ the time they took (start-up and
 * warm-up excluded). 1% of the products are forbidden. Prints the ratio.
 *
 * Flags: --products N (default 50000).
 */
import { join } from "node:path";
import { createHash } from "node:crypto";
import type { Admin } from "kafkajs";
import { cacheDir, defineTask, PROJECT_ROOT, runMain, sleep } from "../../lib/env/mod.ts";
import {
  createKafka,
  ensureTopic,
  KAFKA_ENV,
  localSecureCluster,
  secureKafkaConfigFromEnv,
} from "../../lib/kafka/mod.ts";
import { bundleClasspath } from "../../lib/stack/mod.ts";
import { createProductFilter, generateProducts } from "../../lib/marketplace/mod.ts";

const JAVA_SRC = join(PROJECT_ROOT, "tasks/bench/java/ProductFilterBench.java");

async function committed(admin: Admin, group: string, topic: string): Promise<number> {
  const o = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return o[0].partitions.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
}

async function measure(admin: Admin, group: string, topic: string, total: number, label: string) {
  const started = performance.now();
  let first: { t: number; c: number } | undefined;
  let lastPrint = 0;
  const deadline = Date.now() + 15 * 60_000;
  while (Date.now() < deadline) {
    const c = await committed(admin, group, topic).catch(() => 0);
    const t = performance.now();
    if (c >= total * 0.1 && c < total && !first) first = { t, c };
    if (t - lastPrint > 5_000) {
      console.log(`  ${label}: ${c}/${total} committed`);
      lastPrint = t;
    }
    if (c >= total) {
      const wall = (t - started) / 1000;
      const rate = first && t > first.t ? (total - first.c) / ((t - first.t) / 1000) : total / wall;
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
  const dir = join(cacheDir(), "bench", `product-filter-${digest}`);
  try {
    await Deno.stat(join(dir, "ProductFilterBench.class"));
  } catch {
    console.log("compiling the Kafka Streams program (javac)…");
    await Deno.mkdir(dir, { recursive: true });
    const r = await new Deno.Command("javac", { args: ["-cp", cp, "-d", dir, JAVA_SRC] }).output();
    if (r.code !== 0) throw new Error(`javac failed:\n${new TextDecoder().decode(r.stderr)}`);
  }
  return `${dir}:${cp}`;
}

const SPEC = defineTask({
  task: "bench:final-ingest",
  summary:
    "The final project's product filter, products/s, beside the same topology in Kafka Streams, on the secure cluster A.",
  flags: {
    products: {
      type: "string",
      default: "50000",
      valueName: "N",
      description: "products per run (>= 1000)",
    },
  },
  env: {
    ...KAFKA_ENV,
  },
  examples: ["deno task bench:final-ingest --products 20000"],
});

await runMain(async (cli) => {
  const flags = cli;
  const n = Number(flags.values.products ?? 50_000);
  if (!Number.isInteger(n) || n < 1_000) {
    throw new RangeError(
      `--products must be an integer >= 1000: current value is '${flags.values.products}'`,
    );
  }
  const secure = localSecureCluster();
  if (!secure) throw new Error("No secure cluster: start it with `deno task stack up --secure`");
  const kafka = createKafka(
    secureKafkaConfigFromEnv("admin", { clientId: "bench-final", logLevel: "ERROR" }),
  );
  const admin = kafka.admin();
  await admin.connect();
  const run = `bench-fi-${Date.now().toString(36)}`;
  const t = {
    inputProducts: `${run}-input`,
    products: `${run}-products`,
    productsConnect: `${run}-products-connect`,
    productsBlocked: `${run}-blocked`,
    forbiddenProducts: `${run}-forbidden`,
  };
  try {
    await ensureTopic(admin, { topic: t.inputProducts, partitions: 3, replicationFactor: 3 });
    await ensureTopic(admin, {
      topic: t.forbiddenProducts,
      partitions: 1,
      replicationFactor: 3,
      config: { "cleanup.policy": "compact" },
    });
    for (const o of ["ks-products", "ks-blocked", "ks-dlq"]) {
      await ensureTopic(admin, { topic: `${run}-${o}`, partitions: 3, replicationFactor: 3 });
    }
    console.log(`producing ${n} products (1% forbidden) into ${t.inputProducts}…`);
    const products = generateProducts(n, { idPrefix: `${run}-`, seed: 3 });
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    await producer.send({
      topic: t.forbiddenProducts,
      acks: -1,
      messages: products.filter((_, i) => i % 100 === 7).map((p) => ({
        key: p.product_id,
        value: JSON.stringify({
          product_id: p.product_id,
          reason: "bench",
          created_at: new Date().toISOString(),
        }),
      })),
    });
    for (let i = 0; i < n; i += 2_000) {
      await producer.send({
        topic: t.inputProducts,
        acks: -1,
        messages: products.slice(i, i + 2_000).map((p) => ({
          key: p.product_id,
          value: JSON.stringify(p),
        })),
      });
    }
    await producer.disconnect();

    // 1. Kafka Streams
    const cp = await compileJava();
    const stateDir = await Deno.makeTempDir({ prefix: "bench-final-state-" });
    const props = secure.secretsFile.replace(/secrets\.json$/, "client-admin.properties");
    const ksApp = `${run}-kstreams`;
    const child = new Deno.Command("java", {
      args: [
        "-Xms256m",
        "-Xmx384m",
        "-cp",
        cp,
        "ProductFilterBench",
        props,
        secure.bootstrap,
        ksApp,
        t.inputProducts,
        `${run}-ks-products`,
        `${run}-ks-blocked`,
        `${run}-ks-dlq`,
        t.forbiddenProducts,
        stateDir,
      ],
      stdout: "inherit",
      stderr: "null",
    }).spawn();
    let ks;
    try {
      ks = await measure(admin, ksApp, t.inputProducts, n, "Kafka Streams");
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await Deno.remove(stateDir, { recursive: true }).catch(() => {});
    }

    // 2. the project's filter
    const appId = `${run}-filter`;
    const app = createProductFilter(kafka, { appId, topics: t, streams: { log: () => {} } });
    await app.start();
    let ours;
    try {
      ours = await measure(admin, appId, t.inputProducts, n, "project filter");
    } finally {
      await app.stop();
    }
    const rows = [
      ["Kafka Streams 4.x (Java, 1 thread, exactly_once_v2)", ks.rate, ks.wall],
      ["project filter (lib/streams, exactly-once)", ours.rate, ours.wall],
    ] as const;
    console.log(`\n${n} products, secure cluster (SASL_SSL), 3 partitions:`);
    console.log("| processor | products/s | wall s (with start-up) |\n|---|---:|---:|");
    for (const [name, rate, wall] of rows) {
      console.log(`| ${name} | ${Math.round(rate)} | ${wall.toFixed(1)} |`);
    }
    console.log(`\nproject / Kafka Streams = ${(ours.rate / ks.rate).toFixed(2)}×`);
  } finally {
    const mine = (await admin.listTopics()).filter((x) => x.startsWith(run));
    await admin.deleteTopics({ topics: mine }).catch(() => {});
    await admin.disconnect();
  }
}, SPEC);
