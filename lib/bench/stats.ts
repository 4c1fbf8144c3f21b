/**
 * Statistics of benchmark samples: median, percentiles, and ratios paired within a round
 * (two samples taken in the same round share the machine's load of that moment; the median
 * of the per-round ratios is steadier than the ratio of two medians).
 *
 * @example
 * ```ts
 * import { median, pairedRatio, percentile } from "./stats.ts";
 * median([3, 1, 2]); // 2
 * percentile([1, 2, 3, 4], 0.99); // 4
 * pairedRatio([100, 120], [200, 200]); // 0.55
 * ```
 * @module
 */

function requireSamples(what: string, xs: readonly number[]): void {
  if (xs.length === 0) throw new RangeError(`Cannot take the ${what} as there are no samples`);
}

/** The median of `xs` (mean of the two middle values for an even count). */
export function median(xs: readonly number[]): number {
  requireSamples("median", xs);
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The `q`-quantile of `xs` (nearest rank; `q` in [0, 1]). */
export function percentile(xs: readonly number[], q: number): number {
  requireSamples("percentile", xs);
  if (!(q >= 0 && q <= 1)) {
    throw new RangeError(
      `Cannot take a percentile as 'q' must be in [0, 1]: current value is ${q}`,
    );
  }
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

/** The median over rounds of `a[i] / b[i]`. */
export function pairedRatio(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) {
    throw new RangeError(
      `Cannot pair samples as the two series differ in length: ${a.length} and ${b.length}`,
    );
  }
  return median(a.map((x, i) => x / b[i]));
}

/** Samples collected per label over rounds, e.g. records/s per client and listener. */
export class Samples {
  readonly #by = new Map<string, number[]>();

  /** Adds one sample under `label`. */
  add(label: string, value: number): void {
    this.#by.set(label, [...(this.#by.get(label) ?? []), value]);
  }

  /** Every sample of `label` (empty when none). */
  get(label: string): number[] {
    return this.#by.get(label) ?? [];
  }

  /** The labels, in the order they were first seen. */
  labels(): string[] {
    return [...this.#by.keys()];
  }

  /** Median of `label`'s samples. */
  median(label: string): number {
    return median(this.get(label));
  }

  /** Median over rounds of `a`'s sample ÷ `b`'s sample of the same round. */
  ratio(a: string, b: string): number {
    return pairedRatio(this.get(a), this.get(b));
  }
}

/**
 * Time ratio per doubling fitted over every size (least squares of log time on log events):
 * one noisy step moves it far less than it moves that step's own ratio.
 */
export function fittedDoubling(points: readonly { events: number; seconds: number }[]): number {
  const xs = points.map((p) => Math.log2(p.events));
  const ys = points.map((p) => Math.log2(Math.max(p.seconds, 1e-3)));
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const mx = mean(xs), my = mean(ys);
  const sxy = xs.reduce((t, x, i) => t + (x - mx) * (ys[i] - my), 0);
  const sxx = xs.reduce((t, x) => t + (x - mx) ** 2, 0);
  return Math.pow(2, sxy / sxx);
}
