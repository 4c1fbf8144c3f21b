/**
 * Internal: the `mirror-watchdog` service of a stack with MirrorMaker 2 (see
 * lib/stack/services/mirror_watchdog.ts) — every `--interval-ms` it reads MirrorMaker's task
 * status and restarts MirrorMaker when a task has failed for good. Serves /healthz and /metrics
 * (`mirror_watchdog_restarts_total`, `mirror_watchdog_failed_tasks`) on `--port`; the stack
 * starts it with `--port=… --stack-dir=…` and stops it before MirrorMaker.
 */
import { ConfigError, parseIntValue, sleep } from "../lib/env/mod.ts";
import { MirrorWatchdog, Stack } from "../lib/stack/mod.ts";
import { counter, registry, serveMetrics } from "../lib/monitoring/mod.ts";
import client from "prom-client";

/** `--name=value` flags of the command line. */
function flags(args: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of args) {
    const m = /^--([\w-]+)=(.*)$/.exec(a);
    if (!m) {
      throw new ConfigError(
        `Unexpected '${a}': flags are --port=N, --stack-dir=DIR, --interval-ms=MS`,
      );
    }
    out[m[1]] = m[2];
  }
  return out;
}

const f = flags(Deno.args);
if (!f["stack-dir"]) {
  throw new ConfigError("Missing --stack-dir=DIR: the stack whose MirrorMaker to watch");
}
const port = parseIntValue("--port", f.port ?? "", { min: 0, max: 65535 });
const interval = parseIntValue("--interval-ms", f["interval-ms"] ?? "5000", { min: 500 });
const stack = await Stack.load(f["stack-dir"]);
if (!stack.mirrorMaker) {
  throw new ConfigError(`The stack in ${f["stack-dir"]} has no MirrorMaker 2 to watch`);
}
const watchdog = new MirrorWatchdog({ mirrorMaker: stack.mirrorMaker });
const restarts = counter(
  "mirror_watchdog_restarts_total",
  "MirrorMaker 2 restarts because a task had failed",
);
const failed = new client.Gauge({
  name: "mirror_watchdog_failed_tasks",
  help: "MirrorMaker 2 tasks seen FAILED at the last look",
  registers: [registry],
});
let healthy = false;
serveMetrics({ port, service: "mirror-watchdog", healthy: () => healthy });
console.log(`mirror watchdog on http://127.0.0.1:${port}/metrics, looking every ${interval} ms`);
let last = "";
while (true) {
  const verdict = await watchdog.check();
  healthy = true;
  failed.set(
    verdict.state === "failed" || verdict.state === "restarted" ? verdict.tasks.length : 0,
  );
  if (verdict.state === "restarted") {
    restarts.inc();
    console.log(
      `${new Date().toISOString()} MirrorMaker 2 restarted: task(s) ${
        verdict.tasks.join(", ")
      } had failed` +
        (verdict.error ? `; the start did not come up: ${verdict.error}` : ""),
    );
  }
  // Each change of state once, not every look.
  const line = verdict.state === "failed"
    ? `task(s) ${verdict.tasks.join(", ")} FAILED (look ${verdict.seen})`
    : verdict.state === "unreadable"
    ? `metrics unreadable: ${verdict.error}`
    : verdict.state;
  if (line !== last && verdict.state !== "restarted") {
    console.log(`${new Date().toISOString()} MirrorMaker 2: ${line}`);
  }
  last = line;
  await sleep(interval);
}
