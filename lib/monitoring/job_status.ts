/**
 * Status of batch jobs (the analytics runs) for Prometheus. A batch job does not live long
 * enough to be scraped, so it records each run in a small JSON file —
 * `<dir>/<job>.json` — and a long-running exporter serves the files as gauges
 * (the node exporter's "textfile" pattern, without a Pushgateway):
 *
 * - `analytics_last_run_timestamp_seconds{analytics_job}` — when the last run ended,
 * - `analytics_last_run_success{analytics_job}` — 1 when it succeeded, 0 when it failed,
 * - `analytics_last_success_timestamp_seconds{analytics_job}` — when a run last succeeded (stale marts),
 * - `analytics_last_run_rows{analytics_job}` — rows the last successful run wrote.
 *
 * The file is written to a temp name and renamed, so a reader never sees half of it.
 *
 * @example
 * ```ts
 * import { recordJobRun } from "./job_status.ts";
 * await recordJobRun("/tmp/jobs", { job: "analytics", ok: true, rows: 1200 });
 * ```
 * @module
 */
import { join } from "node:path";
import client from "prom-client";
import { registry } from "./metrics.ts";

/** One recorded run of a batch job. */
export interface JobRun {
  /** Job name (the `analytics_job` label; letters, digits, `_`, `-`, `.`). */
  job: string;
  /** Whether the run succeeded. */
  ok: boolean;
  /** When the run ended. @default now */
  at?: Date;
  /** Rows written by the run. */
  rows?: number;
  /** Why it failed (kept in the file for a person). */
  error?: string;
}

/** What a job's status file holds. */
export interface JobStatus {
  job: string;
  lastRunAt: string;
  lastRunOk: boolean;
  lastSuccessAt?: string;
  lastRows?: number;
  lastError?: string;
}

const JOB_NAME = /^[A-Za-z0-9_.-]{1,100}$/;

/**
 * Records a run of `job` in `<dir>/<job>.json`, keeping the time of the last success when
 * this run failed. Returns the status written.
 */
export async function recordJobRun(dir: string, run: JobRun): Promise<JobStatus> {
  const { job, ok, at = new Date(), rows, error } = run;
  if (!JOB_NAME.test(job)) {
    throw new RangeError(
      `Cannot record the job run as 'job' must match ${JOB_NAME}: current value is ${job}`,
    );
  }
  await Deno.mkdir(dir, { recursive: true });
  const file = join(dir, `${job}.json`);
  const previous = await readStatus(file);
  const status: JobStatus = {
    job,
    lastRunAt: at.toISOString(),
    lastRunOk: ok,
    lastSuccessAt: ok ? at.toISOString() : previous?.lastSuccessAt,
    lastRows: ok ? rows : previous?.lastRows,
    lastError: ok ? undefined : error,
  };
  await Deno.writeTextFile(`${file}.tmp`, JSON.stringify(status, null, 2) + "\n");
  await Deno.rename(`${file}.tmp`, file);
  return status;
}

async function readStatus(file: string): Promise<JobStatus | undefined> {
  try {
    const s = JSON.parse(await Deno.readTextFile(file));
    return typeof s?.job === "string" && typeof s?.lastRunAt === "string" ? s : undefined;
  } catch {
    return undefined;
  }
}

/** Every job status in `dir` (unreadable files skipped). */
export async function readJobStatuses(dir: string): Promise<JobStatus[]> {
  const out: JobStatus[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile || !e.name.endsWith(".json")) continue;
      const s = await readStatus(join(dir, e.name));
      if (s) out.push(s);
    }
  } catch { /* no folder yet: no job has run */ }
  return out.sort((a, b) => a.job.localeCompare(b.job));
}

function gauge(name: string, help: string): client.Gauge<string> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as client.Gauge<string>;
  return new client.Gauge({ name, help, labelNames: ["analytics_job"], registers: [registry] });
}

/** Sets the analytics gauges (see the module doc) from the status files in `dir`. */
export async function exportJobStatuses(dir: string): Promise<JobStatus[]> {
  const lastRun = gauge("analytics_last_run_timestamp_seconds", "When the job's last run ended");
  const lastOk = gauge("analytics_last_run_success", "1 when the job's last run succeeded");
  const lastSuccess = gauge(
    "analytics_last_success_timestamp_seconds",
    "When the job last succeeded (marts are as old as this)",
  );
  const rows = gauge("analytics_last_run_rows", "Rows the job's last successful run wrote");
  const statuses = await readJobStatuses(dir);
  for (const g of [lastRun, lastOk, lastSuccess, rows]) g.reset();
  const sec = (iso: string) => Date.parse(iso) / 1000;
  for (const s of statuses) {
    lastRun.set({ analytics_job: s.job }, sec(s.lastRunAt));
    lastOk.set({ analytics_job: s.job }, s.lastRunOk ? 1 : 0);
    if (s.lastSuccessAt) lastSuccess.set({ analytics_job: s.job }, sec(s.lastSuccessAt));
    if (s.lastRows !== undefined) rows.set({ analytics_job: s.job }, s.lastRows);
  }
  return statuses;
}

/** Folder of the job status files of a stack (`<stackDir>/monitoring/jobs`). */
export function jobStatusDir(stackDir: string): string {
  return join(stackDir, "monitoring", "jobs");
}
