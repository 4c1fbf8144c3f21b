/**
 * The `bench:mirror` report: one row per offered rate (sent/s, copied/s, A's acknowledgement
 * and A → B latency percentiles, records missing), the reference row of
 * `kafka-producer-perf-test` on cluster A, the ratio of MirrorMaker's best copy rate to it,
 * and the verdict on the platform's target (A → B p99 ≤ 1 s at 5,000 records/s), naming the hop.
 *
 * @example
 * ```ts
 * import { mirrorReport } from "./mirror_report.ts";
 * const md = mirrorReport({ steps, reference, seconds: 20, recordBytes: 200 });
 * ```
 * @module
 */
import { markdownTable } from "./report.ts";
import type { MirrorStep } from "./mirror.ts";

/** The target: A → B p99 at most this many ms … */
export const MIRROR_TARGET_P99_MS = 1_000;
/** … at this offered rate (records/s). */
export const MIRROR_TARGET_RATE = 5_000;

/** What {@linkcode mirrorReport} needs. */
export interface MirrorReportInput {
  steps: MirrorStep[];
  reference: { records: number; recordsPerSec: number; seconds: number };
  seconds: number;
  recordBytes: number;
}

function stepTable(steps: MirrorStep[]): string {
  const ms = (x: number) => Math.round(x);
  return markdownTable(
    [
      "offered /s",
      "sent /s",
      "copied to B /s",
      "A ack p50 / p99 (ms)",
      "send → B p50 (ms)",
      "p95 (ms)",
      "p99 (ms)",
      "max (ms)",
      "A ack → B p50 / p99 (ms)",
      "missing",
    ],
    steps.map((s) => [
      s.rate,
      Math.round(s.sentPerSec),
      Math.round(s.copyPerSec),
      `${ms(s.ack.p50)} / ${ms(s.ack.p99)}`,
      ms(s.latency.p50),
      ms(s.latency.p95),
      ms(s.latency.p99),
      ms(s.latency.max),
      `${ms(s.fromAck.p50)} / ${ms(s.fromAck.p99)}`,
      s.missing,
    ]),
    ["right", "right", "right", "right", "right", "right", "right", "right", "right", "right"],
  );
}

/** The target's verdict, naming the hop and what the run shows. */
export function mirrorVerdict(steps: MirrorStep[]): string {
  const at = steps.find((s) => s.rate === MIRROR_TARGET_RATE);
  if (!at) {
    return `Target (A → B p99 ≤ ${MIRROR_TARGET_P99_MS} ms at ${
      MIRROR_TARGET_RATE.toLocaleString("en")
    } records/s): not measured — this run had no step at ${
      MIRROR_TARGET_RATE.toLocaleString("en")
    } records/s.`;
  }
  const met = at.missing === 0 && at.latency.p99 <= MIRROR_TARGET_P99_MS;
  const behind = at.sentPerSec < at.rate * 0.95
    ? ` The client sent only ${
      Math.round(at.sentPerSec)
    }/s of the ${at.rate} offered (worst lateness ${
      Math.round(at.lateMs)
    } ms), so this step measured less than its offered rate.`
    : "";
  return `Target (A → B p99 ≤ ${MIRROR_TARGET_P99_MS} ms at ${
    MIRROR_TARGET_RATE.toLocaleString("en")
  } records/s): **${met ? "met" : "not met"}** — hop MirrorMaker 2 (A → B): p99 ${
    Math.round(at.latency.p99)
  } ms, ${at.missing} records missing after the drain.${behind}`;
}

/** The report's markdown. */
export function mirrorReport(i: MirrorReportInput): string {
  const best = Math.max(...i.steps.map((s) => s.copyPerSec));
  const ref = i.reference.recordsPerSec;
  return [
    `\`deno task bench:mirror --rates ${
      i.steps.map((s) => s.rate).join(",")
    } --seconds ${i.seconds}\`: ` +
    "user events of the run's own (about " + i.recordBytes + " B) produced to `user-events` on " +
    "cluster A (kafkajs, acks=all) on an open-loop schedule, each stamped with its send time; a " +
    "read_committed kafkajs reader on cluster B (not MirrorMaker; it sees a record once MirrorMaker's " +
    "exactly-once transaction holding it commits) notes its arrival. Latency = arrival on B − send " +
    "(and − A's acknowledgement: MirrorMaker's part); copied /s = records on B ÷ (first → last arrival).",
    "",
    stepTable(i.steps),
    "",
    `Reference in the same run: \`kafka-producer-perf-test\` on cluster A (acks=all, ${
      i.reference.records.toLocaleString("en")
    } records of ${i.recordBytes} B, 3 partitions, SASL_SSL): ` +
    `**${
      Math.round(ref).toLocaleString("en")
    } records/s**. MirrorMaker 2's best copy rate here ÷ that: **${
      (best / ref).toFixed(2)
    }×** (the copy rate is bounded by the offered rate; a step whose copy rate falls below its offered rate is where MM2 or the client saturated).`,
    "",
    mirrorVerdict(i.steps),
    "",
    `Load average (1 min) at the end: ${
      Deno.loadavg()[0].toFixed(1)
    } on ${navigator.hardwareConcurrency} cores.`,
  ].join("\n");
}
