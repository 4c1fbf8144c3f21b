/**
 * `deno task bench:analytics` — the same jobs (`jobs/*.sql`) on DuckDB (embedded) and on
 * Spark (`local[2]`, or BENCH_SPARK_MASTER) over the same generated lake, in one run: wall time
 * of each engine, the ratio, and a row-for-row check that both wrote the same marts. When the
 * stack runs a standalone Spark cluster (`deno task stack up --spark`), Spark runs a second
 * time on it, a row of its own beside `local[2]`, checked against DuckDB the same way.
 *
 * `--events 1M,4M,10M` runs the jobs at several sizes, a fresh lake each: DuckDB at every size
 * (under DuckDB's own `memory_limit`, `--duckdb-memory`, 3 GiB by default — the process then
 * stays within 4 GiB; `--repeat` runs per size, 2 by default, the fastest kept), Spark only up to
 * `--spark-up-to` events (the smallest size by default). It prints how the cost grows — each
 * step's time ratio per doubling of the events (2.0 is linear) — with every job's time and the
 * peak memory of the process DuckDB runs in (one of its own), and saves it all as `bench-results/analytics.{md,json}`.
 *
 * The events are generated (lib/marketplace's activity generator) and written straight into
 * the lake as Parquet (`/bench-analytics/<run>/raw/<topic>/dt=…/hour=…/`, files of up to
 * 200,000 rows, placed by their first record's hour), bypassing Kafka (jobs/parity.ts).
 *
 * Needs the stack with HDFS: `deno task stack up --hdfs` (`--spark` for the cluster's row).
 * @module
 */
import {
  defineTask,
  localEndpoints,
  runMain,
  SERVICE_ENV,
  STACK_PORTS,
} from "../../lib/env/mod.ts";
import { WebHdfs } from "../../lib/lake/mod.ts";
import { generateActivity } from "../../lib/marketplace/mod.ts";
import { runDuckDbJobsInProcess } from "../../jobs/duckdb_process.ts";
import { defaultMaster, requireSparkMaster, runSparkJobs } from "../../jobs/spark.ts";
import { type EngineRun, MARTS } from "../../jobs/marts.ts";
import { diffMarts, writeActivityLake } from "../../jobs/parity.ts";
import { fittedDoubling, markdownTable, writeReport } from "../../lib/bench/mod.ts";
import { ConfigError, flagInt } from "../../lib/env/mod.ts";

const SPEC = defineTask({
  task: "bench:analytics",
  summary:
    "The analytics jobs (jobs/*.sql) on DuckDB and on Spark (local[2], and the stack's standalone cluster when it runs one) over the same generated lake, at one or several sizes: wall time of each engine and job, how the cost grows, peak memory, and a row-for-row check that each engine wrote the same marts. Needs HDFS: deno task stack up --hdfs [--spark].",
  flags: {
    events: {
      type: "string",
      valueName: "N[,N…]",
      description:
        "user events per run, one run per size, k/M allowed (default: BENCH_EVENTS, or 1M)",
    },
    "spark-up-to": {
      type: "string",
      valueName: "N",
      description: "run Spark at sizes up to N events (default: the smallest size; 0: never)",
    },
    repeat: {
      type: "string",
      valueName: "N",
      description: "DuckDB runs per size, the fastest kept (a shared machine disturbs some)",
      default: "2",
    },
    "duckdb-memory": {
      type: "string",
      valueName: "SIZE",
      description:
        "DuckDB's memory_limit for the jobs (default 3GiB: the process stays within 4 GiB)",
    },
  },
  env: {
    BENCH_EVENTS: {
      description: "the sizes when --events is not given (same syntax)",
      default: "1000000",
    },
    BENCH_SPARK_MASTER: {
      description: "Spark master URL of the first Spark run",
      default: "local[2]",
    },
    ...SERVICE_ENV.webhdfs,
    HDFS_URL: { description: "fs.defaultFS for Spark", default: "the stack's" },
  },
  examples: [
    "deno task bench:analytics --events 100k",
    "deno task bench:analytics --events 1M,4M,10M --spark-up-to 0",
    "deno task stack up --hdfs --spark && deno task bench:analytics --events 100k",
  ],
});

/** `1M`, `250k`, `10000000` → a whole number of events (at least 10,000). */
function parseEvents(flag: string, raw: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(raw.trim().replaceAll("_", ""));
  const n = m ? Math.round(Number(m[1]) * ({ k: 1e3, m: 1e6 }[m[2].toLowerCase()] ?? 1)) : NaN;
  if (!Number.isFinite(n) || (flag !== "--spark-up-to" && n < 10_000) || n < 0) {
    throw new ConfigError(
      `${flag} must be a number of events like 100000, 250k or 1M` +
        `${flag === "--spark-up-to" ? "" : " (at least 10k)"}: current value is '${raw}'`,
    );
  }
  return n;
}

/** What one size measured. */
interface SizeRun {
  /** Events asked for, and really generated. */
  asked: number;
  events: number;
  products: number;
  duck: EngineRun;
  /** The peak resident memory of the process DuckDB ran in (MiB). */
  peakMiB?: number;
  sparks: { master: string; run: EngineRun; differing: string[] }[];
}

/**
 * DuckDB's jobs `repeat` times over the same lake, each from a cold cache of its own and in a
 * process of its own (so its peak memory is its own): the fastest run, and the highest peak.
 * On a machine shared with other work the fastest is the one least disturbed.
 */
async function fastestDuckDb(
  root: string,
  martsRoot: string,
  memoryLimit: string,
  repeat: number,
): Promise<{ duck: EngineRun; peakMiB?: number }> {
  let best: EngineRun | undefined;
  let peak: number | undefined;
  for (let i = 0; i < repeat; i++) {
    const cacheDir = await Deno.makeTempDir({ prefix: "bench-analytics-cache-" });
    const { run, peakMiB } = await runDuckDbJobsInProcess({
      root,
      martsRoot,
      cacheDir,
      memoryLimit,
    })
      .finally(() => Deno.remove(cacheDir, { recursive: true }).catch(() => {}));
    console.log(`  DuckDB: ${run.seconds.toFixed(1)} s, peak ${peakMiB?.toFixed(0) ?? "?"} MiB`);
    if (!best || run.seconds < best.seconds) best = run;
    if (peakMiB !== undefined) peak = Math.max(peak ?? 0, peakMiB);
  }
  return { duck: best!, peakMiB: peak };
}

/** One size: a fresh lake, DuckDB, Spark where asked, the marts compared; the lake deleted. */
async function runSize(
  hdfs: WebHdfs,
  asked: number,
  masters: string[],
  memoryLimit: string,
  repeat: number,
): Promise<SizeRun> {
  const run = `/bench-analytics/${Date.now().toString(36)}`;
  const root = `${run}/raw`;
  console.log(`\n== ~${asked.toLocaleString("en")} events ==`);
  // About 12 events per user with the generator's defaults.
  let data: ReturnType<typeof generateActivity> | undefined = generateActivity({
    users: Math.max(10, Math.round(asked / 12)),
    products: 2000,
    prefix: "b",
    seed: 42,
  });
  const events = data.events.length, products = data.products.length;
  console.log(`  ${events} events, ${products} products, ${data.requests.length} searches`);
  const counts = await writeActivityLake(hdfs, root, data);
  data = undefined; // the lake holds it now; let the heap go before DuckDB is measured
  console.log(`  lake: ${Object.entries(counts).map(([t, n]) => `${t} ${n}`).join(", ")}`);
  try {
    const { duck, peakMiB } = await fastestDuckDb(root, `${run}/marts-duckdb`, memoryLimit, repeat);
    const sparks: SizeRun["sparks"] = [];
    for (const [i, master] of masters.entries()) {
      const martsRoot = `${run}/marts-spark-${i}`;
      const r = await runSparkJobs({
        hdfs,
        root,
        martsRoot,
        defaultFs: Deno.env.get("HDFS_URL") ?? localEndpoints().hdfsUrl as string | undefined ??
          `hdfs://localhost:${STACK_PORTS.hdfsRpc}`,
        master,
      });
      const diffs = await diffMarts(hdfs, `${run}/marts-duckdb`, martsRoot);
      const differing = diffs.filter((d) => d.differences.length).map((d) => d.mart);
      console.log(
        `  Spark ${master}: ${r.seconds.toFixed(1)} s, marts differing: ${differing.length}`,
      );
      for (const d of diffs.filter((d) => d.differences.length)) {
        for (const line of d.differences.slice(0, 3)) console.log(`    ${d.mart}: ${line}`);
      }
      sparks.push({ master, run: r, differing });
    }
    return { asked, events, products, duck, peakMiB, sparks };
  } finally {
    await hdfs.delete(run, { recursive: true }).catch(() => false);
  }
}

const secs = (r: { seconds: number } | undefined) => (r ? r.seconds.toFixed(1) : "–");
const jobSeconds = (r: EngineRun, name: string) =>
  r.marts.find((m) => m.name === name)?.seconds ?? 0;

/** Time ratio of a step per doubling of the events: 2.0 is linear, 4.0 quadratic. */
function perDoubling(t1: number, t2: number, n1: number, n2: number): number {
  return Math.pow(t2 / t1, 1 / Math.log2(n2 / n1));
}

/** The scaling table: one row per size, DuckDB; with three sizes or more, the fitted growth. */
function scalingTable(runs: SizeRun[]): string {
  const rec = (r: SizeRun) => jobSeconds(r.duck, "recommendations");
  const others = (r: SizeRun) =>
    r.duck.marts.filter((m) => m.name !== "recommendations").reduce((t, m) => t + m.seconds, 0);
  const growth = (i: number, f: (r: SizeRun) => number) =>
    i === 0
      ? "–"
      : `×${
        perDoubling(f(runs[i - 1]), f(runs[i]), runs[i - 1].events, runs[i].events).toFixed(2)
      }`;
  const fit = (f: (r: SizeRun) => number) =>
    fittedDoubling(runs.map((r) => ({ events: r.events, seconds: f(r) })));
  return markdownTable(
    [
      "user events",
      "all marts, wall (s)",
      "per doubling",
      "recommendations job (s)",
      "per doubling",
      "the other five marts (s)",
      "peak memory (MiB)",
    ],
    runs.map((r, i) => [
      r.events,
      r.duck.seconds.toFixed(1),
      growth(i, (x) => x.duck.seconds),
      rec(r).toFixed(1),
      growth(i, rec),
      others(r).toFixed(1),
      r.peakMiB === undefined ? "?" : r.peakMiB.toFixed(0),
    ]).concat(
      runs.length < 3 ? [] : [[
        "fitted over all sizes",
        "",
        `×${fit((x) => x.duck.seconds).toFixed(2)}`,
        "",
        `×${fit(rec).toFixed(2)}`,
        "",
        `${Math.max(...runs.map((r) => r.peakMiB ?? 0)).toFixed(0)} at most`,
      ]],
    ),
    ["right", "right", "right", "right", "right", "right", "right"],
  );
}

/** Where the time went at one size: each phase and job on every engine. */
function stepTable(r: SizeRun): string {
  return markdownTable(
    ["step", "DuckDB (s)", ...r.sparks.map((s) => `Spark ${s.master} (s)`)],
    [
      ...(r.duck.phases ?? []).map((p) => [p.name, secs(p), ...r.sparks.map(() => "")]),
      ...MARTS.map((m) => {
        const d = r.duck.marts.find((x) => x.name === m.name);
        const ks = r.sparks.map((s) => s.run.marts.find((x) => x.name === m.name));
        return [`job ${m.name} (${d?.rows ?? ks[0]?.rows ?? 0} rows)`, secs(d), ...ks.map(secs)];
      }),
      ...(r.sparks.length
        ? [[
          "Spark outside the jobs (Python env, JVMs, executors, commit)",
          "",
          ...r.sparks.map((s) =>
            (s.run.seconds - s.run.marts.reduce((t, m) => t + m.seconds, 0)).toFixed(1)
          ),
        ]]
        : []),
      ["**wall time**", `**${secs(r.duck)}**`, ...r.sparks.map((s) => `**${secs(s.run)}**`)],
    ],
    ["left", "right", ...r.sparks.map(() => "right" as const)],
  );
}

await runMain(async (cli) => {
  const sizes = (cli.values.events ?? Deno.env.get("BENCH_EVENTS") ?? "1000000").split(",")
    .map((v) => parseEvents(cli.values.events ? "--events" : "BENCH_EVENTS", v))
    .sort((a, b) => a - b);
  const sparkUpTo = cli.values["spark-up-to"] === undefined
    ? sizes[0]
    : parseEvents("--spark-up-to", cli.values["spark-up-to"]);
  const memoryLimit = cli.values["duckdb-memory"] ?? "3GiB";
  const repeat = flagInt(cli, "repeat", 2, { min: 1, max: 10 });
  if (!/^\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)$/i.test(memoryLimit)) {
    throw new ConfigError(
      `--duckdb-memory must be a size like 4GiB or 512MB: current value is '${memoryLimit}'`,
    );
  }
  const hdfs = new WebHdfs();
  // Fail in one line before generating millions of events when HDFS or a cluster is down.
  await hdfs.list("/");
  const localMaster = Deno.env.get("BENCH_SPARK_MASTER") ?? "local[2]";
  const clusterMaster = defaultMaster();
  const masters = [
    localMaster,
    ...(clusterMaster !== localMaster && clusterMaster !== "local[2]" ? [clusterMaster] : []),
  ];
  if (sizes.some((n) => n <= sparkUpTo)) { for (const m of masters) await requireSparkMaster(m); }

  const runs: SizeRun[] = [];
  for (const n of sizes) {
    runs.push(await runSize(hdfs, n, n <= sparkUpTo ? masters : [], memoryLimit, repeat));
  }

  const label = (master: string) =>
    master.startsWith("local")
      ? `Spark ${master} (hdfs://)`
      : `Spark standalone ${master} (1 worker, hdfs://)`;
  const sections = [
    `The jobs of \`jobs/*.sql\` over a generated lake (2,000 products, seed 42, a fresh lake per ` +
    `size) on embedded DuckDB (2 threads, \`memory_limit\` ${memoryLimit}; the fastest of ${repeat} ` +
    `runs per size, each from a cold cache); peak memory is the highest ` +
    `resident high-water mark of the processes DuckDB ran in (their own, apart from the generator's).`,
    scalingTable(runs),
  ];
  for (const r of runs.filter((x) => x.sparks.length)) {
    sections.push(
      `At ${r.events.toLocaleString("en")} events, DuckDB beside Spark (${
        r.sparks.map((s) =>
          `${label(s.master)}: ${(r.duck.seconds / s.run.seconds).toFixed(2)}× Spark's time, ` +
          `${
            s.differing.length
              ? `marts differing: ${s.differing.join(", ")}`
              : "all marts identical"
          }`
        ).join("; ")
      }):`,
      stepTable(r),
    );
  }
  const largest = runs[runs.length - 1];
  if (!largest.sparks.length) {
    sections.push(
      `Where DuckDB's time goes at ${largest.events.toLocaleString("en")} events:`,
      stepTable(largest),
    );
  }
  const markdown = sections.join("\n\n");
  console.log(`\n${markdown}`);
  const path = await writeReport("analytics", {
    title: "bench:analytics",
    markdown,
    json: {
      memoryLimit,
      sizes: runs.map((r) => ({
        asked: r.asked,
        events: r.events,
        products: r.products,
        peakMiB: r.peakMiB,
        duckdb: r.duck,
        spark: r.sparks,
      })),
    },
  });
  console.log(`\nsaved ${path} (deno task bench:report puts it into BENCHMARKS.md)`);
  const differing = runs.flatMap((r) => r.sparks.flatMap((s) => s.differing));
  if (differing.length) {
    throw new Error(`${differing.length} marts differ between DuckDB and Spark`);
  }
}, SPEC);
