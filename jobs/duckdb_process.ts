/**
 * The DuckDB jobs in a process of their own, so that what they cost in memory is measured
 * alone: {@linkcode runDuckDbJobsInProcess} starts this file as a Deno process with the run's
 * options, and the process runs {@linkcode runDuckDbJobs}, then prints one JSON line — the run
 * and its own peak resident memory (`VmHWM`) — which the caller reads back. `bench:analytics`
 * uses it, so the generator's heap in the bench's process does not count as DuckDB's.
 *
 * @example
 * ```ts
 * import { runDuckDbJobsInProcess } from "./duckdb_process.ts";
 * const { run, peakMiB } = await runDuckDbJobsInProcess({ root: "/lake/raw", memoryLimit: "4GiB" });
 * ```
 * @module
 */
import { fileURLToPath } from "node:url";
import { WebHdfs } from "../lib/lake/mod.ts";
import { type DuckDbJobsOptions, runDuckDbJobs } from "./duckdb.ts";
import type { EngineRun } from "./marts.ts";

/** The options that cross the process boundary (HDFS is WEBHDFS_URL's, or the stack's). */
export type DuckDbProcessOptions = Omit<DuckDbJobsOptions, "hdfs" | "onJob">;

/** What the process reports: its run, and its peak resident memory (MiB; Linux only). */
export interface DuckDbProcessRun {
  run: EngineRun;
  peakMiB?: number;
}

/** Runs the DuckDB jobs in a child Deno process; a failed run throws with its last lines. */
export async function runDuckDbJobsInProcess(
  options: DuckDbProcessOptions,
): Promise<DuckDbProcessRun> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", fileURLToPath(import.meta.url), JSON.stringify(options)],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  const last = lines.at(-1) ?? "";
  if (!out.success || !last.startsWith("{")) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-15).join("\n");
    throw new Error(`The DuckDB jobs' process failed (exit ${out.code}):\n${err}`);
  }
  return JSON.parse(last) as DuckDbProcessRun;
}

/** This process's peak resident memory (MiB), from /proc (Linux); undefined elsewhere. */
function peakMiB(): number | undefined {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const kb = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]);
    return Number.isFinite(kb) ? kb / 1024 : undefined;
  } catch {
    return undefined;
  }
}

if (import.meta.main) {
  const options = JSON.parse(Deno.args[0] ?? "{}") as DuckDbProcessOptions;
  const run = await runDuckDbJobs({ ...options, hdfs: new WebHdfs() });
  console.log(JSON.stringify({ run, peakMiB: peakMiB() } satisfies DuckDbProcessRun));
}
