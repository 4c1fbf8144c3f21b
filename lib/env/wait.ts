/**
 * The one way this project waits: {@linkcode sleep} for a pause with a reason,
 * {@linkcode pollUntil} for "until this becomes true, or give up with a message naming it",
 * and {@linkcode retry} for "again, while this error is the transient kind".
 *
 * @example
 * ```ts
 * import { pollUntil, retry } from "./wait.ts";
 * await pollUntil("topic 'orders' visible", async () => (await admin.listTopics()).includes("orders"));
 * await retry(() => admin.createTopics(spec), { retryIf: (e) => /NOT_CONTROLLER/.test(String(e)) });
 * ```
 * @module
 */

/** Resolves after `ms` milliseconds. `_why` documents the wait at the call site. */
export function sleep(ms: number, _why?: string): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Options of {@linkcode pollUntil}. */
export interface PollOptions {
  /** Give up after this long. @default 30000 */
  timeoutMs?: number;
  /** Pause between attempts. @default 250 */
  intervalMs?: number;
}

/** Raised when {@linkcode pollUntil} gives up; names what it waited for and the last error. */
export class WaitTimeoutError extends Error {
  /**
   * A timeout naming what was waited for, and the last error when there was one.
   * @param what What was waited for, as the message names it.
   * @param timeoutMs How long it was waited for.
   * @param last The last error of the condition, if it threw.
   */
  constructor(what: string, timeoutMs: number, readonly last?: unknown) {
    super(
      `Timed out after ${timeoutMs} ms waiting for ${what}` +
        (last === undefined ? "" : `: ${last instanceof Error ? last.message : String(last)}`),
    );
    this.name = "WaitTimeoutError";
  }
}

/**
 * Calls `fn` until it returns a truthy value (returned) or `timeoutMs` passes (throws
 * {@linkcode WaitTimeoutError} naming `what`). A thrown error counts as "not yet".
 */
export async function pollUntil<T>(
  what: string,
  fn: () => T | Promise<T>,
  options: PollOptions = {},
): Promise<NonNullable<T>> {
  const { timeoutMs = 30_000, intervalMs = 250 } = options;
  if (!(timeoutMs > 0)) {
    throw new RangeError(
      `Cannot poll as 'timeoutMs' must be a positive number: current value is ${timeoutMs}`,
    );
  }
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) throw new WaitTimeoutError(what, timeoutMs, last);
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
}

/** Options of {@linkcode retry}. */
export interface RetryOptions {
  /** Attempts in all, the first included. @default 5 */
  attempts?: number;
  /** Pause before the second attempt; doubled after each failure up to `maxDelayMs`. @default 500 */
  delayMs?: number;
  /** Longest pause between attempts. @default 5000 */
  maxDelayMs?: number;
  /** Which errors are worth another attempt. @default every error */
  retryIf?: (err: unknown) => boolean;
}

/** Runs `fn`, again after a growing pause while it throws an error `retryIf` accepts. */
export async function retry<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { attempts = 5, delayMs = 500, maxDelayMs = 5_000, retryIf = () => true } = options;
  if (!Number.isInteger(attempts) || attempts < 1) {
    throw new RangeError(
      `Cannot retry as 'attempts' must be a positive integer: current value is ${attempts}`,
    );
  }
  let delay = delayMs;
  for (let attempt = 1;; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= attempts || !retryIf(err)) throw err;
      await sleep(delay);
      delay = Math.min(delay * 2, maxDelayMs);
    }
  }
}
