/**
 * `bench:platform`'s report: the targets (the platform's, and this bench's own where the platform sets
 * none — the table says which), one table of p50/p95/p99 per route and per hop for every step,
 * the highest offered rate each route and hop sustained (every acknowledged record seen, the
 * schedule kept, p99 under the target), the hops that missed, and the chart of p99 vs offered
 * rate (./chart.ts) linked beside it.
 *
 * @example
 * ```ts
 * import { platformReport } from "./report.ts";
 * const md = platformReport({ steps, command: "deno task bench:platform", chart: "platform.svg" });
 * ```
 * @module
 */
import { markdownTable } from "../../bench/mod.ts";
import { SHOP_ROUTE } from "./load.ts";
import { HOPS, type Measured, type PlatformStep } from "./step.ts";

/** A p99 target (ms) and where it comes from. */
export interface Target {
  p99Ms: number;
  source: "platform" | "this bench";
}

/** p99 targets by route or hop name. */
export const TARGETS: Record<string, Target> = {
  [SHOP_ROUTE]: { p99Ms: 150, source: "this bench" },
  "CLIENT API search": { p99Ms: 100, source: "platform" },
  "CLIENT API product": { p99Ms: 150, source: "this bench" },
  "CLIENT API event": { p99Ms: 150, source: "platform" },
  "CLIENT API recommendations": { p99Ms: 150, source: "platform" },
  [HOPS.products]: { p99Ms: 1_000, source: "this bench" },
  [HOPS.pg]: { p99Ms: 2_000, source: "platform" },
  [HOPS.b]: { p99Ms: 1_000, source: "platform" },
  [HOPS.lake]: { p99Ms: 15_000, source: "this bench" },
};

/** Whether a route or hop held up in a step: schedule kept, nothing missing, p99 ≤ target. */
export function sustained(m: Measured): boolean {
  const t = TARGETS[m.name];
  return m.latency.count > 0 && m.missing === 0 && m.failed === 0 &&
    (!t || m.latency.p99 <= t.p99Ms);
}

/** The highest offered rate at which `name` held up, with every lower step holding too. */
export function highestSustained(steps: PlatformStep[], name: string): number | undefined {
  let best: number | undefined;
  for (const s of steps) {
    const m = [...s.routes, ...s.hops].find((x) => x.name === name);
    if (!m || !sustained(m)) break;
    best = m.offered;
  }
  return best;
}

/** Every route and hop name, in report order. */
export function namesOf(steps: PlatformStep[]): string[] {
  return Object.keys(TARGETS).filter((n) =>
    steps.some((s) => [...s.routes, ...s.hops].some((m) => m.name === n))
  );
}

/** A step's routes and hops in report order. */
function measuredOf(s: PlatformStep): Measured[] {
  const order = Object.keys(TARGETS);
  return [...s.routes, ...s.hops].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
}

function stepTable(steps: PlatformStep[]): string {
  const ms = (x: number) => Math.round(x);
  const rows = steps.flatMap((s) =>
    measuredOf(s).map((m) => [
      `${s.shopRate} / ${s.clientRate}`,
      m.name,
      m.offered,
      Math.round(m.sentPerSec),
      m.latency.count,
      ms(m.latency.p50),
      ms(m.latency.p95),
      ms(m.latency.p99),
      m.missing + m.failed,
      sustained(m) ? "yes" : "**no**",
    ])
  );
  return markdownTable(
    [
      "step (products/s / requests/s)",
      "route or hop",
      "offered /s",
      "done /s",
      "n",
      "p50 (ms)",
      "p95 (ms)",
      "p99 (ms)",
      "missing or failed",
      "held",
    ],
    rows,
    ["left", "left", "right", "right", "right", "right", "right", "right", "right", "left"],
  );
}

function summaryTable(steps: PlatformStep[]): string {
  return markdownTable(
    ["route or hop", "p99 target (ms)", "target from", "highest offered rate held (/s)"],
    namesOf(steps).map((n) => {
      const best = highestSustained(steps, n);
      return [
        n,
        TARGETS[n].p99Ms,
        TARGETS[n].source,
        best === undefined ? "**none** (missed at the first step)" : best,
      ];
    }),
    ["left", "right", "left", "right"],
  );
}

/** What missed, named: the first step at which each route or hop did not hold, and how. */
function missed(steps: PlatformStep[]): string {
  const lines = namesOf(steps).flatMap((n) => {
    for (const s of steps) {
      const m = [...s.routes, ...s.hops].find((x) => x.name === n);
      if (!m || sustained(m)) continue;
      const why = m.missing
        ? `${m.missing} acknowledged records not seen after the drain`
        : m.failed
        ? `${m.failed} answers not 2xx`
        : `p99 ${Math.round(m.latency.p99)} ms > ${TARGETS[n].p99Ms} ms`;
      return [`- ${n}: missed at ${m.offered}/s offered (${why}).`];
    }
    return [];
  });
  return lines.length
    ? ["Where a route or hop first missed:", "", ...lines].join("\n")
    : "Every route and hop held at every step.";
}

/** The report's markdown. */
export function platformReport(
  o: { steps: PlatformStep[]; command: string; chart: string; note: string },
): string {
  return [
    `\`${o.command}\`: ${o.note}`,
    "",
    summaryTable(o.steps),
    "",
    `![p99 vs offered rate, one line per route and hop](${o.chart})`,
    "",
    missed(o.steps),
    "",
    stepTable(o.steps),
    "",
    `Load average (1 min) after each step: ${
      o.steps.map((s) => s.loadavg.toFixed(1)).join(", ")
    } on ${navigator.hardwareConcurrency} cores. The load generator's schedule ran late by at ` +
    `most (SHOP / CLIENT, ms): ${
      o.steps.map((s) => `${Math.round(s.lateMs.shop)} / ${Math.round(s.lateMs.client)}`)
        .join(", ")
    } — where that nears a step's length, the generator, not the platform, set the rate.`,
  ].join("\n");
}
