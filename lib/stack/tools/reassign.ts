/**
 * Partition reassignment (used by practice 4): the seed's `kafka-reassign-partitions.sh --generate |
 * --execute | --verify` flow, run through Kafka's own `ReassignPartitionsCommand` from the
 * stack's jars (kafkajs has no partition-reassignment API), followed by a preferred leader
 * election (`LeaderElectionCommand`) so that each partition's leader is the first replica of
 * the plan and leaders are balanced across brokers.
 *
 * @example
 * ```ts
 * import { generatePlan, executePlan, waitReassignment } from "./reassign.ts";
 * const { proposed } = await generatePlan({ bootstrap: "localhost:9094", topic: "balanced_topic", brokers: [0, 1, 2], workDir: "/tmp/p4" });
 * await executePlan({ bootstrap: "localhost:9094", planFile: "/tmp/p4/reassignment.json" });
 * await waitReassignment({ bootstrap: "localhost:9094", planFile: "/tmp/p4/reassignment.json" });
 * ```
 * @module
 */
import { join } from "node:path";
import { runKafkaTool } from "./kafka_tools.ts";
import type { PartitionInfo } from "../../kafka/mod.ts";
import { sleep } from "../../env/mod.ts";

/** One partition of a reassignment JSON (`kafka-reassign-partitions` format). */
export interface PlannedPartition {
  topic: string;
  partition: number;
  replicas: number[];
  log_dirs?: string[];
}

/** A reassignment JSON: `{"version":1,"partitions":[…]}`. */
export interface ReassignmentPlan {
  version: 1;
  partitions: PlannedPartition[];
}

/** Replicas and leaders per broker. */
export interface BrokerLoad {
  broker: number;
  replicas: number;
  leaders: number;
  /** Partitions whose first (preferred) replica is this broker. */
  preferred: number;
}

/** Counts replicas, leaders and preferred leaders per broker (every broker in `brokers` listed). */
export function brokerLoad(parts: PartitionInfo[], brokers: number[]): BrokerLoad[] {
  const ids = [...new Set([...brokers, ...parts.flatMap((p) => p.replicas)])].sort((a, b) => a - b);
  return ids.map((broker) => ({
    broker,
    replicas: parts.filter((p) => p.replicas.includes(broker)).length,
    leaders: parts.filter((p) => p.leader === broker).length,
    preferred: parts.filter((p) => p.replicas[0] === broker).length,
  }));
}

/** max − min of leaders per broker (0 or 1 is balanced). */
export function leaderSpread(load: BrokerLoad[]): number {
  const counts = load.map((l) => l.leaders);
  return Math.max(...counts) - Math.min(...counts);
}

/** Rows for `console.table` of a plan. */
export function planRows(plan: ReassignmentPlan, current?: PartitionInfo[]) {
  return plan.partitions.map((p) => {
    const now = current?.find((c) => c.partition === p.partition);
    return {
      topic: p.topic,
      partition: p.partition,
      ...(now ? { current: now.replicas.join(",") } : {}),
      planned: p.replicas.join(","),
      "preferred leader": p.replicas[0],
      ...(now ? { moves: now.replicas.join(",") === p.replicas.join(",") ? "" : "yes" } : {}),
    };
  });
}

/** Partitions whose replica list differs from the plan (empty = the cluster matches it). */
export function planDifferences(plan: ReassignmentPlan, parts: PartitionInfo[]): string[] {
  const out: string[] = [];
  for (const p of plan.partitions) {
    const now = parts.find((x) => x.partition === p.partition);
    if (!now) out.push(`${p.topic}-${p.partition}: missing`);
    else if (now.replicas.join(",") !== p.replicas.join(",")) {
      out.push(
        `${p.topic}-${p.partition}: replicas ${now.replicas.join(",")}, planned ${
          p.replicas.join(",")
        }`,
      );
    }
  }
  return out;
}

/** Options shared by the tool runs. */
export interface ToolOptions {
  /** Bootstrap servers of the cluster. */
  bootstrap: string;
  /** Heap of the tool's JVM in MB. @default 256 */
  heapMb?: number;
}

const REASSIGN = "org.apache.kafka.tools.reassign.ReassignPartitionsCommand";
const ELECT = "org.apache.kafka.tools.LeaderElectionCommand";

function jsonAfter(text: string, heading: string): ReassignmentPlan {
  const at = text.indexOf(heading);
  if (at < 0) throw new Error(`Unexpected output of ${REASSIGN} (no '${heading}'):\n${text}`);
  const line = text.slice(at + heading.length).split("\n").find((l) => l.trim().startsWith("{"));
  if (!line) throw new Error(`Unexpected output of ${REASSIGN} (no JSON after '${heading}')`);
  return JSON.parse(line);
}

/** Options of {@linkcode generatePlan}. */
export interface GenerateOptions extends ToolOptions {
  /** Topic to move. */
  topic: string;
  /** Target brokers. */
  brokers: number[];
  /** Folder for `rebalance_topic.json`, `reassignment.json` and `rollback.json`. */
  workDir: string;
}

/**
 * `--generate`: writes the seed's `rebalance_topic.json`, asks the tool for a plan over
 * `brokers`, saves it as `reassignment.json` (and the current assignment as `rollback.json`).
 */
export async function generatePlan(options: GenerateOptions): Promise<{
  current: ReassignmentPlan;
  proposed: ReassignmentPlan;
  planFile: string;
}> {
  const { bootstrap, topic, brokers, workDir, heapMb } = options;
  if (brokers.length === 0 || brokers.some((b) => !Number.isInteger(b) || b < 0)) {
    throw new RangeError(
      `Cannot generate a plan as 'brokers' must be broker ids: current value is ${brokers}`,
    );
  }
  await Deno.mkdir(workDir, { recursive: true });
  const topicsFile = join(workDir, "rebalance_topic.json");
  await Deno.writeTextFile(topicsFile, JSON.stringify({ version: 1, topics: [{ topic }] }) + "\n");
  const out = await runKafkaTool(REASSIGN, [
    "--bootstrap-server",
    bootstrap,
    "--broker-list",
    brokers.join(","),
    "--topics-to-move-json-file",
    topicsFile,
    "--generate",
  ], { heapMb, what: "kafka-reassign-partitions --generate" });
  const current = jsonAfter(out, "Current partition replica assignment");
  const proposed = jsonAfter(out, "Proposed partition reassignment configuration");
  proposed.partitions.sort((a, b) => a.partition - b.partition);
  current.partitions.sort((a, b) => a.partition - b.partition);
  const planFile = join(workDir, "reassignment.json");
  await Deno.writeTextFile(planFile, JSON.stringify(proposed, null, 2) + "\n");
  await Deno.writeTextFile(join(workDir, "rollback.json"), JSON.stringify(current, null, 2) + "\n");
  return { current, proposed, planFile };
}

/** Reads and checks a reassignment JSON. */
export async function readPlan(planFile: string): Promise<ReassignmentPlan> {
  let plan: ReassignmentPlan;
  try {
    plan = JSON.parse(await Deno.readTextFile(planFile));
  } catch (err) {
    throw new Error(
      `Cannot read the reassignment plan '${planFile}': ${
        (err as Error).message
      }; run --generate first`,
    );
  }
  if (!Array.isArray(plan.partitions) || plan.partitions.length === 0) {
    throw new Error(`The reassignment plan '${planFile}' has no partitions`);
  }
  return plan;
}

/** `--execute`: starts the reassignment of `planFile`; returns the tool's output. */
export async function executePlan(
  options: ToolOptions & { planFile: string },
): Promise<string> {
  return await runKafkaTool(REASSIGN, [
    "--bootstrap-server",
    options.bootstrap,
    "--reassignment-json-file",
    options.planFile,
    "--execute",
  ], { heapMb: options.heapMb, what: "kafka-reassign-partitions --execute" });
}

/** State of each partition of a plan as `--verify` reports it. */
export interface VerifyResult {
  complete: boolean;
  lines: string[];
}

/** `--verify` once. */
export async function verifyPlan(
  options: ToolOptions & { planFile: string },
): Promise<VerifyResult> {
  const out = await runKafkaTool(REASSIGN, [
    "--bootstrap-server",
    options.bootstrap,
    "--reassignment-json-file",
    options.planFile,
    "--verify",
  ], { heapMb: options.heapMb, what: "kafka-reassign-partitions --verify" });
  const lines = out.split("\n").filter((l) => /Reassignment of partition/.test(l));
  const complete = lines.length > 0 && lines.every((l) => /is completed/.test(l));
  return { complete, lines };
}

/** Runs `--verify` until every partition is complete, or fails after `timeoutMs`. */
export async function waitReassignment(
  options: ToolOptions & {
    planFile: string;
    timeoutMs?: number;
    onPoll?: (r: VerifyResult) => void;
  },
): Promise<VerifyResult> {
  const { timeoutMs = 120_000 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await verifyPlan(options);
    options.onPoll?.(res);
    if (res.complete) return res;
    if (Date.now() > deadline) {
      throw new Error(
        `Reassignment not complete after ${timeoutMs} ms:\n${res.lines.join("\n")}`,
      );
    }
    await sleep(1_000);
  }
}

/**
 * Preferred leader election for the partitions of a plan (`kafka-leader-election
 * --election-type preferred`), so each leader is the first replica of the plan.
 */
export async function electPreferredLeaders(
  options: ToolOptions & { plan: ReassignmentPlan; workDir: string },
): Promise<string> {
  const file = join(options.workDir, "election.json");
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      partitions: options.plan.partitions.map((p) => ({ topic: p.topic, partition: p.partition })),
    }) + "\n",
  );
  return await runKafkaTool(ELECT, [
    "--bootstrap-server",
    options.bootstrap,
    "--election-type",
    "preferred",
    "--path-to-json-file",
    file,
  ], { heapMb: options.heapMb, what: "kafka-leader-election --election-type preferred" });
}
