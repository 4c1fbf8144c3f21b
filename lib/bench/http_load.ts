/**
 * HTTP capacity measured by a load generator no one here wrote: `hey`
 * (github.com/rakyll/hey; `go install github.com/rakyll/hey@v0.1.5`), closed loop — `c`
 * workers each send a request, wait for its answer, send the next — for a fixed time. Every
 * request's latency comes from hey's CSV output, so the percentiles are ours to take, not hey's
 * rounded summary.
 *
 * @example
 * ```ts
 * import { findHey, runHey } from "./http_load.ts";
 * const hey = await findHey();
 * const r = await runHey(hey, { url: "http://127.0.0.1:8280/healthz", concurrency: 50, seconds: 10 });
 * console.log(r.perSecond, r.p50Ms, r.p99Ms);
 * ```
 * @module
 */
import { join } from "node:path";
import { percentile } from "./stats.ts";

/** One load point: what to send, how many at once, for how long. */
export interface HttpLoad {
  url: string;
  /** Requests in flight at once (hey's `-c`). */
  concurrency: number;
  /** Duration in seconds (hey's `-z`). */
  seconds: number;
  /** Request headers. */
  headers?: Record<string, string>;
}

/** What one load point measured. */
export interface HttpLoadResult {
  /** Answers received (any status). */
  requests: number;
  /** Answers per second over the duration. */
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Answers whose status was not 2xx. */
  failed: number;
}

/**
 * The `hey` binary: `HEY` when set, else the first of `$GOBIN`, `$GOPATH/bin`, `~/go/bin` and
 * the `PATH` holding it; throws with the command that installs it.
 */
export async function findHey(): Promise<string> {
  const given = Deno.env.get("HEY");
  if (given) return given;
  const home = Deno.env.get("HOME") ?? "";
  const dirs = [
    Deno.env.get("GOBIN"),
    Deno.env.get("GOPATH") && join(Deno.env.get("GOPATH")!, "bin"),
    home && join(home, "go", "bin"),
    ...(Deno.env.get("PATH") ?? "").split(":"),
  ].filter((d): d is string => !!d);
  for (const dir of dirs) {
    const path = join(dir, "hey");
    if (await Deno.stat(path).then((s) => s.isFile, () => false)) return path;
  }
  throw new Error(
    "Cannot measure HTTP as the load generator 'hey' is not installed: run " +
      "go install github.com/rakyll/hey@v0.1.5 (or set HEY to its path)",
  );
}

/** The latencies (ms) and statuses of hey's CSV output (`-o csv`). */
export function parseHeyCsv(csv: string): { latencyMs: number[]; statuses: number[] } {
  const latencyMs: number[] = [];
  const statuses: number[] = [];
  for (const line of csv.split("\n").slice(1)) {
    const cols = line.split(",");
    if (cols.length < 7) continue;
    latencyMs.push(Number(cols[0]) * 1000);
    statuses.push(Number(cols[6]));
  }
  return { latencyMs, statuses };
}

/** Runs one load point with `hey` and returns its rate and latency percentiles. */
export async function runHey(hey: string, load: HttpLoad): Promise<HttpLoadResult> {
  const args = ["-z", `${load.seconds}s`, "-c", String(load.concurrency), "-o", "csv"];
  for (const [k, v] of Object.entries(load.headers ?? {})) args.push("-H", `${k}: ${v}`);
  const out = await new Deno.Command(hey, {
    args: [...args, load.url],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!out.success) {
    throw new Error(`hey failed on ${load.url}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  const { latencyMs, statuses } = parseHeyCsv(new TextDecoder().decode(out.stdout));
  if (latencyMs.length === 0) throw new Error(`hey got no answer from ${load.url}`);
  return {
    requests: latencyMs.length,
    perSecond: latencyMs.length / load.seconds,
    p50Ms: percentile(latencyMs, 0.5),
    p99Ms: percentile(latencyMs, 0.99),
    failed: statuses.filter((s) => s < 200 || s > 299).length,
  };
}
