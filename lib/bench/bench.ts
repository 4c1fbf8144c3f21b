/**
 * Shared pieces of the `deno task bench:*` tasks: a dedicated 1-broker stack, Kafka's own Java
 * tools from the stack's jars, result tables (ratio to the reference row) saved as JSON and
 * markdown under `bench-results/`.
 *
 * @example
 * ```ts
 * import { benchTable, saveBench } from "./bench.ts";
 * const rows = [{ name: "java", records: 1e6, seconds: 2, reference: true }, { name: "deno", records: 1e6, seconds: 4 }];
 * console.log(benchTable(rows, 512));
 * await saveBench("produce", rows, { recordSize: 512 });
 * ```
 * @module
 */
import { join } from "node:path";
import { runKafkaTool } from "../stack/mod.ts";
import { envInt, PROJECT_ROOT } from "../env/mod.ts";
import { Stack } from "../stack/mod.ts";
import type { Admin, Kafka } from "kafkajs";
import { createKafka } from "../kafka/mod.ts";

/** One measured row. */
export interface BenchRow {
  /** What ran. */
  name: string;
  /** Records handled. */
  records: number;
  /** Wall-clock seconds. */
  seconds: number;
  /** The row the others are compared with (Kafka's own tool). */
  reference?: boolean;
  /** A remark shown in the table. */
  note?: string;
}

/**
 * Default port offset of the benchmark stack: apart from the user's (0) and the tests' (20000),
 * including the test stack's secure cluster (11092 + 20000: an offset of 22000 would put the
 * bench broker on its ports), and below the ephemeral range client sockets take (32768+).
 */
export const BENCH_PORT_OFFSET = 21_000;

/** The bench stack's port offset: `$BENCH_PORT_OFFSET`, or {@linkcode BENCH_PORT_OFFSET}. */
export function benchPortOffset(): number {
  return envInt("BENCH_PORT_OFFSET", { default: BENCH_PORT_OFFSET, min: 0, max: 50_000 });
}

/** The dedicated 1-broker stack benchmarks run on (no PostgreSQL), brought up if needed. */
export async function benchStack(): Promise<Stack> {
  const stack = new Stack({
    dir: join(PROJECT_ROOT, ".stack-bench"),
    brokers: 1,
    postgres: false,
    portOffset: benchPortOffset(),
  });
  await stack.up();
  return stack;
}

/** The benchmark stack with a client and a connected admin on it. */
export async function benchKafka(
  clientId: string,
): Promise<{ stack: Stack; bootstrap: string; kafka: Kafka; admin: Admin }> {
  const stack = await benchStack();
  const bootstrap = stack.kafka.bootstrap();
  const kafka = createKafka({ brokers: bootstrap.split(","), clientId, logLevel: "ERROR" });
  const admin = kafka.admin();
  await admin.connect();
  return { stack, bootstrap, kafka, admin };
}

/** Options of {@linkcode producerPerfTest}. */
export interface ProducerPerfOptions {
  bootstrap: string;
  topic: string;
  records: number;
  recordSize: number;
  /** Extra producer properties, `key=value`. @default ["acks=all"] */
  props?: string[];
  /** A producer properties file (security settings). */
  configFile?: string;
}

/**
 * Runs Kafka's `kafka-producer-perf-test` (ProducerPerformance) with full JIT and returns what
 * it reports of itself (its own clock, JVM start-up excluded).
 */
export async function producerPerfTest(
  options: ProducerPerfOptions,
): Promise<{ records: number; recordsPerSec: number; seconds: number }> {
  const { bootstrap, topic, records, recordSize, props = ["acks=all"], configFile } = options;
  const out = await runKafkaTool("org.apache.kafka.tools.ProducerPerformance", [
    "--topic",
    topic,
    "--num-records",
    String(records),
    "--record-size",
    String(recordSize),
    "--throughput",
    "-1",
    ...(configFile ? ["--producer.config", configFile] : []),
    "--producer-props",
    `bootstrap.servers=${bootstrap}`,
    ...props,
  ], { heapMb: 512, jit: "full", what: "kafka-producer-perf-test" });
  const last = out.trim().split("\n").filter((l) => /records sent/.test(l)).at(-1) ?? "";
  const m = last.match(/^(\d+) records sent, ([\d.]+) records\/sec/);
  if (!m) throw new Error(`Cannot read kafka-producer-perf-test's summary:\n${out}`);
  const recordsPerSec = Number(m[2]);
  return { records: Number(m[1]), recordsPerSec, seconds: Number(m[1]) / recordsPerSec };
}

const rate = (r: BenchRow) => r.records / r.seconds;

/** A markdown table: records/s, MB/s and the ratio to the reference row. */
export function benchTable(rows: BenchRow[], recordSize: number): string {
  const ref = rows.find((r) => r.reference);
  const lines = [
    "| client | records | seconds | records/s | MB/s | ÷ reference |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of rows) {
    const ratio = ref ? (rate(r) / rate(ref)).toFixed(2) + "×" : "";
    lines.push(
      `| ${r.name}${r.note ? ` (${r.note})` : ""} | ${r.records.toLocaleString("en")} | ${
        r.seconds.toFixed(2)
      } | ${Math.round(rate(r)).toLocaleString("en")} | ${
        (rate(r) * recordSize / 1e6).toFixed(1)
      } | ${ratio} |`,
    );
  }
  return lines.join("\n");
}

/** Saves rows as `bench-results/<name>.json` and `.md`; returns the markdown path. */
export async function saveBench(
  name: string,
  rows: BenchRow[],
  meta: Record<string, unknown> & { recordSize: number },
): Promise<string> {
  const dir = join(PROJECT_ROOT, "bench-results");
  await Deno.mkdir(dir, { recursive: true });
  const when = new Date().toISOString();
  const withRates = rows.map((r) => ({
    ...r,
    recordsPerSec: rate(r),
    mbPerSec: rate(r) * meta.recordSize / 1e6,
  }));
  await Deno.writeTextFile(
    join(dir, `${name}.json`),
    JSON.stringify({ name, when, meta, rows: withRates }, null, 2),
  );
  const md = `# bench:${name} (${when})\n\n${
    Object.entries(meta).map(([k, v]) => `- ${k}: ${v}`).join("\n")
  }\n\n${benchTable(rows, meta.recordSize)}\n`;
  const path = join(dir, `${name}.md`);
  await Deno.writeTextFile(path, md);
  return path;
}

/** A payload of `size` pseudo-random bytes (the same for every record, as the Java tools do). */
export function payload(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = 65 + ((i * 31) % 26);
  return bytes;
}
