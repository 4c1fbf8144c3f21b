/**
 * `bench:platform`'s chart: p99 latency (log scale) against the step's offered rates, one line
 * per route and hop, each with its p99 target dashed (lib/bench/svg.ts, hand-written SVG). The
 * x axis is the step, labelled `<products/s> / <requests/s>` (the SHOP API's and the CLIENT
 * API's offered rates step up together).
 *
 * @example
 * ```ts
 * import { platformChart } from "./chart.ts";
 * await Deno.writeTextFile("bench-results/platform.svg", platformChart(steps));
 * ```
 * @module
 */
import { lineChartSvg } from "../../bench/mod.ts";
import { namesOf, TARGETS } from "./report.ts";
import type { PlatformStep } from "./step.ts";

/** The chart as an SVG document. */
export function platformChart(steps: PlatformStep[]): string {
  const series = namesOf(steps).map((name) => ({
    name,
    target: TARGETS[name]?.p99Ms,
    points: steps.flatMap((s, i) => {
      const m = [...s.routes, ...s.hops].find((x) => x.name === name);
      return m && m.latency.count ? [{ x: i + 1, y: m.latency.p99 }] : [];
    }),
  }));
  return lineChartSvg({
    title: "bench:platform — p99 latency vs offered rate (dashed: targets)",
    xLabel: "offered rate: SHOP API products/s / CLIENT API requests/s",
    yLabel: "p99 (ms, log scale)",
    series,
    width: 900,
    height: 460,
    xTickLabel: (x) => `${steps[x - 1].shopRate} / ${steps[x - 1].clientRate}`,
  });
}
