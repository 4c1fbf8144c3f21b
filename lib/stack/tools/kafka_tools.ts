/**
 * Kafka's own command-line tools (main classes from the stack's pinned jars), run as a JVM
 * of their own: reassignment, leader election, the perf tests.
 *
 * @example
 * ```ts
 * import { runKafkaTool } from "./kafka_tools.ts";
 * const out = await runKafkaTool("org.apache.kafka.tools.TopicCommand", ["--bootstrap-server", "localhost:9094", "--list"]);
 * ```
 * @module
 */
import { bundleClasspath } from "../process/artifacts.ts";
import { run } from "../process/process.ts";

/** Options of {@linkcode runKafkaTool}. */
export interface KafkaToolOptions {
  /** Heap of the tool's JVM in MB. @default 256 */
  heapMb?: number;
  /** Name used in the error when the tool fails. @default the main class */
  what?: string;
  /**
   * `fast-start` (C1 only, serial GC) suits short admin commands; `full` keeps the JIT's top
   * tier for tools whose speed is measured (the perf tests). @default "fast-start"
   */
  jit?: "fast-start" | "full";
}

/** Runs one of Kafka's command-line tools; returns its stdout, throws with its output on failure. */
export async function runKafkaTool(
  mainClass: string,
  args: string[],
  options: KafkaToolOptions = {},
): Promise<string> {
  const { heapMb = 256, what = mainClass, jit = "fast-start" } = options;
  const cp = await bundleClasspath("kafka");
  const tuning = jit === "fast-start" ? ["-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"] : [];
  return await run("java", [
    `-Xmx${heapMb}m`,
    ...tuning,
    "-Dlog4j2.level=WARN",
    "-cp",
    cp,
    mainClass,
    ...args,
  ], { what });
}
