/**
 * Running a lake sink as a process: start it, report progress every few seconds, stop cleanly
 * on SIGINT/SIGTERM (the open file is finished or left for the next start to adopt), and with
 * `drain` stop by itself once everything up to the end offsets is written.
 *
 * @example
 * ```ts
 * import { runSinkProcess } from "./run.ts";
 * await runSinkProcess(sink, { drain: true, report: () => console.error(sink.stats) });
 * ```
 * @module
 */
import type { LakeSink } from "./sink.ts";

/** Options of {@linkcode runSinkProcess}. */
export interface RunSinkOptions {
  /** Stop once everything up to the end offsets at start is written. @default false */
  drain?: boolean;
  /** Prints the sink's progress; called every `reportEveryMs` and once at the end. */
  report: () => void;
  /** Milliseconds between progress reports. @default 5000 */
  reportEveryMs?: number;
  /** Called after the sink stopped, before the process exits (e.g. the metrics server's shutdown). */
  afterStop?: () => Promise<void>;
}

/** Runs `sink` until a signal (or, with `drain`, until drained), then exits the process with 0. */
export async function runSinkProcess(sink: LakeSink, options: RunSinkOptions): Promise<void> {
  const { drain = false, report, reportEveryMs = 5_000, afterStop } = options;
  const progress = setInterval(report, reportEveryMs);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(progress);
    await sink.stop();
    report();
    await afterStop?.();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await sink.start();
  if (drain) {
    await sink.drained();
    await stop();
  }
}
