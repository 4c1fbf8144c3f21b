/**
 * Open-loop load and latency summaries: {@linkcode openLoop} calls `send` on a fixed schedule
 * (`rate` calls a second for `seconds`) without ever waiting for a send to finish, so a slow
 * system shows as latency and a growing backlog, not as a slower client (a closed loop — the
 * next request after the last answer — measures the client's patience instead).
 * {@linkcode latencySummary} turns a step's latencies into count, p50, p95, p99 and max.
 *
 * The schedule ticks every `tickMs` and sends every call that has come due since the last
 * tick, so rates above a thousand a second are kept without a timer per call; each call gets
 * its due time, which the sender may stamp on what it sends.
 *
 * @example
 * ```ts
 * import { latencySummary, openLoop } from "./open_loop.ts";
 * const sent: number[] = [];
 * const step = await openLoop({ rate: 1_000, seconds: 2, send: (i, due) => void sent.push(due) });
 * console.log(step.calls, step.lateMs, latencySummary([3, 1, 2]).p99);
 * ```
 * @module
 */
import { sleep } from "../env/mod.ts";
import { percentile } from "./stats.ts";

/** Options of {@linkcode openLoop}. */
export interface OpenLoopOptions {
  /** Calls a second (offered rate). */
  rate: number;
  /** Seconds of load. */
  seconds: number;
  /** One call: its index and the epoch ms it came due. Must not block (start work, return). */
  send: (index: number, dueMs: number) => void;
  /** Milliseconds between ticks of the schedule. @default 5 */
  tickMs?: number;
}

/** What an {@linkcode openLoop} did. */
export interface OpenLoopResult {
  /** Calls made (`rate × seconds`). */
  calls: number;
  /** Epoch ms of the first call's due time. */
  startMs: number;
  /** Epoch ms when the last call was made. */
  endMs: number;
  /** How late the schedule ran at worst (ms after a call came due until it was made). */
  lateMs: number;
}

/** Calls `send` `rate` times a second for `seconds`, never waiting for a call to finish. */
export async function openLoop(o: OpenLoopOptions): Promise<OpenLoopResult> {
  const { rate, seconds, send, tickMs = 5 } = o;
  if (!(rate > 0) || !(seconds > 0)) {
    throw new RangeError(
      `Cannot run an open loop as 'rate' and 'seconds' must be positive: current values are ${rate} and ${seconds}`,
    );
  }
  const calls = Math.round(rate * seconds);
  const startMs = Date.now();
  let next = 0, lateMs = 0;
  while (next < calls) {
    const now = Date.now();
    const dueCount = Math.min(calls, Math.floor(((now - startMs) * rate) / 1000) + 1);
    for (; next < dueCount; next++) {
      const due = startMs + (next * 1000) / rate;
      lateMs = Math.max(lateMs, now - due);
      send(next, due);
    }
    await sleep(tickMs);
  }
  return { calls, startMs, endMs: Date.now(), lateMs };
}

/** Count and percentiles of a set of latencies (ms). */
export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** {@linkcode LatencySummary} of `ms`; zeros (and count 0) when there are none. */
export function latencySummary(ms: readonly number[]): LatencySummary {
  if (ms.length === 0) return { count: 0, p50: 0, p95: 0, p99: 0, max: 0 };
  return {
    count: ms.length,
    p50: percentile(ms, 0.5),
    p95: percentile(ms, 0.95),
    p99: percentile(ms, 0.99),
    max: ms.reduce((a, b) => Math.max(a, b), -Infinity), // no spread: a step has 10⁵+ samples
  };
}

/** `n` as a rate list: positive integers, comma-separated, ascending; throws a RangeError. */
export function parseRates(raw: string, max = 1_000_000): number[] {
  const rates = raw.split(",").map((s) => Number(s.trim()));
  const ok = rates.length > 0 &&
    rates.every((r, i) =>
      Number.isInteger(r) && r >= 1 && r <= max && (i === 0 || r > rates[i - 1])
    );
  if (!ok) {
    throw new RangeError(
      `must be ascending integers of 1..${max}, comma-separated: current value is '${raw}'`,
    );
  }
  return rates;
}
