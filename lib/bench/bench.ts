/**
 * Shared pieces of the `deno task bench:*` tasks: a dedicated 1-broker stack, Kafka's own Java
 * tools from the stack's jars, and throughput rows with their rates (ratio to the reference
 * row) for a report written with report.ts's `markdownTable` and `writeReport`.
 *
 * @example
 * ```ts
 * import { withRates } from "./bench.ts";
 * const rows = withRates([
 *   { name: "java", records: 1e6, seconds: 2, reference: true },
 *   { name: "deno", records: 1e6, seconds: 4 },
 * ], 512);
 * console.log(rows[1].ratio); // 0.5
 * ```
 * @module
 */
import { join } from "node:path";
import { runKafkaTool, Stack } from "../stack/mod.ts";
import { envInt, PROJECT_ROOT } from "../env/mod.ts";
import type { Admin, Kafka } from "kafkajs";
import { createKafka } from "../kafka/mod.ts";
import { markdownTable } from "./report.ts";

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
  /** Bootstrap servers, `host:port[,host:port…]`. */
  bootstrap: string;
  /** Topic to send to. */
  topic: string;
  /** Records to send. */
  records: number;
  /** Bytes of each record's value. */
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

/** A {@linkcode BenchRow} with its rates, for the report's table and JSON. */
export interface RatedRow extends BenchRow {
  /** Records per second. */
  recordsPerSec: number;
  /** Megabytes (10^6 bytes) of record values per second. */
  mbPerSec: number;
  /** Records/s ÷ the reference row's; undefined when no row is the reference. */
  ratio?: number;
}

/** Each row with its records/s, MB/s (`recordSize` bytes a record) and ratio to the reference. */
export function withRates(rows: readonly BenchRow[], recordSize: number): RatedRow[] {
  const rate = (r: BenchRow) => r.records / r.seconds;
  const ref = rows.find((r) => r.reference);
  return rows.map((r) => ({
    ...r,
    recordsPerSec: rate(r),
    mbPerSec: rate(r) * recordSize / 1e6,
    ...(ref ? { ratio: rate(r) / rate(ref) } : {}),
  }));
}

/** A bench report's table of rated rows: records/s, MB/s and the ratio to the reference row. */
export function throughputTable(rows: readonly RatedRow[]): string {
  return markdownTable(
    ["client", "records", "seconds", "records/s", "MB/s", "÷ reference"],
    rows.map((r) => [
      r.note ? `${r.name} (${r.note})` : r.name,
      r.records,
      r.seconds.toFixed(2),
      Math.round(r.recordsPerSec),
      r.mbPerSec.toFixed(1),
      r.ratio === undefined ? "" : `${r.ratio.toFixed(2)}×`,
    ]),
    ["left", "right", "right", "right", "right", "right"],
  );
}

/** A payload of `size` pseudo-random bytes (the same for every record, as the Java tools do). */
export function payload(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = 65 + ((i * 31) % 26);
  return bytes;
}
