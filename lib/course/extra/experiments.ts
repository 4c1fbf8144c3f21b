/**
 * The extra task's throughput experiments: the seed's matrix of source connector settings
 * (batch.max.rows and the producer's batch.size, linger.ms, compression.type, buffer.memory),
 * each run as a fresh connector reading the same `customers.users` table into a fresh topic,
 * measured by Connect's own metric `source-record-write-rate` (read from the worker's JMX
 * exporter), plus markdown/JSON tables and an SVG chart of kops/s per configuration.
 *
 * @example
 * ```ts
 * import { SEED_MATRIX, markdownTable } from "./experiments.ts";
 * console.log(markdownTable(SEED_MATRIX.map((c) => ({ ...c, kops: 0, avgKops: 0, written: 0, seconds: 0 }))));
 * ```
 * @module
 */
import { median as medianOf } from "../../bench/mod.ts";
import type { SourceTuning } from "./connector.ts";

/** One configuration of the matrix. */
export interface ExperimentConfig extends Required<SourceTuning> {
  /** Label in tables and the chart. */
  label: string;
}

/** A measured configuration. */
export interface ExperimentResult extends ExperimentConfig {
  /** Connect's `source-record-write-rate`, median of the samples after warm-up, in kops/s. */
  kops: number;
  /** Records written ÷ measured seconds (from `source-record-write-total`), in kops/s. */
  avgKops: number;
  /** Records the connector wrote during the run. */
  written: number;
  /** Length of the measured run in seconds. */
  seconds: number;
}

/** The seed's three rows (experiments 1–3 of its table), then further configurations. */
export const SEED_MATRIX: ExperimentConfig[] = [
  {
    label: "1 (seed)",
    batchMaxRows: 100,
    batchSize: 500,
    lingerMs: 0,
    compression: "none",
    bufferMemory: 33_554_432,
  },
  {
    label: "2 (seed)",
    batchMaxRows: 1000,
    batchSize: 65_536,
    lingerMs: 10,
    compression: "snappy",
    bufferMemory: 67_108_864,
  },
  {
    label: "3 (seed)",
    batchMaxRows: 2000,
    batchSize: 131_072,
    lingerMs: 20,
    compression: "lz4",
    bufferMemory: 134_217_728,
  },
];

/** Configurations beyond the seed's, probing each knob around the seed's best. */
export const MORE_MATRIX: ExperimentConfig[] = [
  {
    label: "4 (no compression)",
    batchMaxRows: 2000,
    batchSize: 131_072,
    lingerMs: 20,
    compression: "none",
    bufferMemory: 134_217_728,
  },
  {
    label: "5 (bigger batches)",
    batchMaxRows: 4096,
    batchSize: 524_288,
    lingerMs: 50,
    compression: "lz4",
    bufferMemory: 268_435_456,
  },
  {
    label: "6 (default batch.size)",
    batchMaxRows: 2048,
    batchSize: 16_384,
    lingerMs: 5,
    compression: "lz4",
    bufferMemory: 33_554_432,
  },
];

/** Median of numbers (0 for none). */
export function median(values: number[]): number {
  return values.length === 0 ? 0 : medianOf(values);
}

const fmt = (n: number) => n >= 100 ? n.toFixed(0) : n >= 1 ? n.toFixed(1) : n.toFixed(3);

/** The seed's table layout, plus the average rate and the ratio to the first row. */
export function markdownTable(results: ExperimentResult[]): string {
  const base = results[0]?.kops || NaN;
  const rows = results.map((r) =>
    `| ${r.label} | ${r.batchMaxRows} | ${r.batchSize} | ${r.lingerMs} | ${r.compression} | ${r.bufferMemory} | ${
      fmt(r.kops)
    } | ${fmt(r.avgKops)} | ${r.written} in ${r.seconds.toFixed(0)} s | ${
      isFinite(base) && base > 0 ? `${(r.kops / base).toFixed(1)}×` : "–"
    } |`
  );
  return [
    "| Experiment | batch.max.rows | batch.size (bytes) | linger.ms | compression.type | buffer.memory (bytes) | Source Record Write Rate (kops/sec) | written ÷ time (kops/sec) | records | vs 1 |",
    "|---|---|---|---|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

const escapeXml = (s: string) =>
  s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

/** A horizontal bar chart (SVG) of Source Record Write Rate in kops/s per configuration. */
export function svgChart(results: ExperimentResult[], title: string): string {
  const width = 760, bar = 26, gap = 10, left = 330, top = 46;
  const height = top + results.length * (bar + gap) + 30;
  const max = Math.max(...results.map((r) => r.kops), 1e-9);
  const scale = (width - left - 90) / max;
  const bars = results.map((r, i) => {
    const y = top + i * (bar + gap);
    const w = Math.max(1, r.kops * scale);
    const label =
      `${r.label}: rows ${r.batchMaxRows}, batch ${r.batchSize} B, linger ${r.lingerMs}, ${r.compression}`;
    return `<text x="${left - 8}" y="${y + bar * 0.68}" text-anchor="end" font-size="12">${
      escapeXml(label)
    }</text>` +
      `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${bar}" fill="#4e79a7"/>` +
      `<text x="${left + w + 6}" y="${y + bar * 0.68}" font-size="12">${fmt(r.kops)} kops/s</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${width / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${
    escapeXml(title)
  }</text>
${bars.join("\n")}
</svg>
`;
}
