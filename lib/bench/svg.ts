/**
 * A line chart as hand-written SVG (no library): one line per series over shared x values,
 * log-scaled y (latencies span milliseconds to seconds), axes with ticks, a legend, and an
 * optional dashed target line per series. Used by `bench:platform` for latency p99 vs offered
 * rate, one line per hop.
 *
 * @example
 * ```ts
 * import { lineChartSvg } from "./svg.ts";
 * const svg = lineChartSvg({
 *   title: "p99 vs offered rate",
 *   xLabel: "offered rate (/s)",
 *   yLabel: "p99 (ms)",
 *   series: [{ name: "ack", points: [{ x: 100, y: 12 }, { x: 200, y: 30 }], target: 100 }],
 * });
 * await Deno.writeTextFile("chart.svg", svg);
 * ```
 * @module
 */

/** One line of the chart. */
export interface ChartSeries {
  name: string;
  points: { x: number; y: number }[];
  /** A dashed horizontal line at this y, in the series' colour. */
  target?: number;
}

/** What {@linkcode lineChartSvg} draws. */
export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: ChartSeries[];
  /** The text under an x value. @default the value with thousands separators */
  xTickLabel?: (x: number) => string;
  width?: number;
  height?: number;
}

const COLOURS = [
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#9467bd",
  "#ff7f0e",
  "#8c564b",
  "#17becf",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
];
const PAD = { left: 70, right: 230, top: 40, bottom: 50 };

const esc = (s: string) =>
  s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

/** Powers of ten (and 2×, 5×) between `lo` and `hi`, for a log axis. */
function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo && v <= hi) out.push(v);
    }
  }
  return out;
}

/** The chart as an SVG document. */
export function lineChartSvg(c: LineChart): string {
  const w = c.width ?? 760, h = c.height ?? 420;
  const all = c.series.flatMap((s) => s.points);
  const ys = [...all.map((p) => p.y), ...c.series.flatMap((s) => s.target ? [s.target] : [])]
    .filter((y) => y > 0);
  const xs = [...new Set(all.map((p) => p.x))].sort((a, b) => a - b);
  const yLo = 10 ** Math.floor(Math.log10(Math.min(...ys))), yHi = Math.max(...ys) * 1.5;
  const plotW = w - PAD.left - PAD.right, plotH = h - PAD.top - PAD.bottom;
  const xAt = (x: number) =>
    PAD.left + 30 +
    (xs.length < 2 ? (plotW - 60) / 2 : (xs.indexOf(x) / (xs.length - 1)) * (plotW - 60));
  const yAt = (y: number) =>
    PAD.top + plotH - ((Math.log10(Math.max(y, yLo)) - Math.log10(yLo)) /
        (Math.log10(yHi) - Math.log10(yLo))) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="12">`,
    `<rect width="${w}" height="${h}" fill="white"/>`,
    `<text x="${PAD.left}" y="22" font-size="15" font-weight="bold">${esc(c.title)}</text>`,
    `<line x1="${PAD.left}" y1="${PAD.top + plotH}" x2="${PAD.left + plotW}" y2="${
      PAD.top + plotH
    }" stroke="black"/>`,
    `<line x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${
      PAD.top + plotH
    }" stroke="black"/>`,
  ];
  for (const t of logTicks(yLo, yHi)) {
    const y = yAt(t).toFixed(1);
    parts.push(
      `<line x1="${PAD.left}" y1="${y}" x2="${PAD.left + plotW}" y2="${y}" stroke="#eee"/>`,
      `<text x="${PAD.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${
        t.toLocaleString("en")
      }</text>`,
    );
  }
  const tick = c.xTickLabel ?? ((x: number) => x.toLocaleString("en"));
  for (const x of xs) {
    parts.push(
      `<text x="${xAt(x).toFixed(1)}" y="${PAD.top + plotH + 18}" text-anchor="middle">${
        esc(tick(x))
      }</text>`,
    );
  }
  parts.push(
    `<text x="${PAD.left + plotW / 2}" y="${h - 10}" text-anchor="middle">${esc(c.xLabel)}</text>`,
    `<text transform="translate(16 ${PAD.top + plotH / 2}) rotate(-90)" text-anchor="middle">${
      esc(c.yLabel)
    }</text>`,
  );
  c.series.forEach((s, i) => parts.push(...seriesSvg(s, COLOURS[i % COLOURS.length], i)));
  parts.push("</svg>");
  return parts.join("\n") + "\n";

  function seriesSvg(s: ChartSeries, colour: string, i: number): string[] {
    const pts = s.points.filter((p) => p.y > 0).map((p) =>
      `${xAt(p.x).toFixed(1)},${yAt(p.y).toFixed(1)}`
    );
    const ly = PAD.top + 10 + i * 20, lx = PAD.left + plotW + 14;
    return [
      `<polyline points="${pts.join(" ")}" fill="none" stroke="${colour}" stroke-width="2"/>`,
      ...pts.map((p) => {
        const [x, y] = p.split(",");
        return `<circle cx="${x}" cy="${y}" r="3" fill="${colour}"/>`;
      }),
      ...(s.target
        ? [
          `<line x1="${PAD.left}" y1="${yAt(s.target).toFixed(1)}" x2="${PAD.left + plotW}" y2="${
            yAt(s.target).toFixed(1)
          }" stroke="${colour}" stroke-dasharray="4 4" stroke-width="1"/>`,
        ]
        : []),
      `<line x1="${lx}" y1="${ly}" x2="${
        lx + 18
      }" y2="${ly}" stroke="${colour}" stroke-width="2"/>`,
      `<text x="${lx + 24}" y="${ly}" dominant-baseline="middle">${esc(s.name)}</text>`,
    ];
  }
}
