/**
 * `deno task demo [--users N] [--duration S] [--min-free-gb N]` — the marketplace platform end
 * to end (lib/marketplace/platform.ts): brings up the final profile of the local stack (your
 * saved shape plus the secure cluster A, cluster B + MirrorMaker 2, PostgreSQL, Connect, HDFS,
 * Prometheus + Alertmanager), starts the platform's services, sends the sample products
 * through the SHOP API, forbids two through PostgreSQL, simulates users, mirrors, lands the
 * lake, runs the analytics on DuckDB and asks the CLIENT API for one user's recommendations.
 * Ends with a table that reconciles every hop (OK / MISMATCH), the marts, the URLs to look at
 * and how to stop. The services keep running; `deno task stack down` stops everything.
 *
 * Exit code: 0 all OK; 1 a MISMATCH or a failed stage (named, with the tail of its log);
 * 2 refused before starting (Java missing, ports taken, too little disk, a run already going).
 * Env: STACK_DIR, STACK_PORT_OFFSET.
 */
import { defaultStackDir, defineTask, parseIntValue, runMain } from "../lib/env/mod.ts";
import { Stack } from "../lib/stack/mod.ts";
import {
  formatPlatformSummary,
  PLATFORM_STACK_OPTIONS,
  runPlatform,
  StageError,
} from "../lib/marketplace/mod.ts";
import { readMart, runDuckDbJobs } from "../jobs/duckdb.ts";

const SPEC = defineTask({
  task: "demo",
  summary: "Runs the marketplace platform end to end on the local stack and reconciles it.",
  flags: {
    users: { type: "string", default: "12", description: "simulated users", valueName: "N" },
    duration: {
      type: "string",
      default: "20",
      description: "seconds of simulated user activity",
      valueName: "S",
    },
    "min-free-gb": {
      type: "string",
      default: "4",
      description: "free disk needed under the stack folder",
      valueName: "N",
    },
  },
  env: {
    STACK_DIR: { description: "the stack's data folder", default: ".stack" },
    STACK_PORT_OFFSET: { description: "added to every port", default: "0" },
  },
  examples: ["deno task demo", "STACK_PORT_OFFSET=1000 deno task demo --users 20 --duration 60"],
});

await runMain(async (cli) => {
  const users = parseIntValue("--users", cli.values.users ?? "12", { min: 1, max: 1000 });
  const durationS = parseIntValue("--duration", cli.values.duration ?? "20", {
    min: 1,
    max: 3600,
  });
  const minFreeGiB = parseIntValue("--min-free-gb", cli.values["min-free-gb"] ?? "4", {
    min: 0,
    max: 10_000,
  });
  // The user's saved shape (a stack refuses shape changes), plus what the platform needs.
  const saved = await Stack.load(defaultStackDir());
  const stack = new Stack({ ...saved.options, ...PLATFORM_STACK_OPTIONS });
  const summary = await runPlatform({
    stack,
    users,
    durationS,
    minFreeGiB,
    analytics: {
      engine: "duckdb",
      run: (hdfs) => runDuckDbJobs({ hdfs }),
      readMart: (hdfs, mart) => readMart(hdfs, mart),
    },
  }).catch((err) => {
    if (!(err instanceof StageError)) throw err;
    // The stage, the reason and its service's log tail: no stack trace needed.
    console.error(`\nerror: ${err.message}`);
    Deno.exit(1);
  });
  console.log(formatPlatformSummary(summary));
  if (!summary.ok) Deno.exitCode = 1;
}, SPEC);
