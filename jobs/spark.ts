/**
 * The jobs on Apache Spark: pyspark (pinned, from PyPI, in the stack's cached venv — the one
 * the stack's standalone Spark cluster runs from) runs `jobs/spark_job.py` with the same SQL
 * files as DuckDB, in `local[2]` by default or on any master URL: the stack's standalone
 * master (`deno task stack up --spark`, {@linkcode defaultMaster}), a cluster's
 * `spark://host:7077`, `yarn`. Spark reads the lake straight from `hdfs://` and writes each
 * mart to the run's HDFS staging folder; this module then commits them into `/lake/marts` by
 * renames, exactly as the DuckDB runner does.
 *
 * On a cluster master the job asks for one executor of `executorMemory` (1 GiB: half of what
 * the stack's worker offers) with the worker's cores; a driver talking to a master on this
 * machine binds 127.0.0.1, as the stack's cluster does. A `spark://` master that does not
 * accept a connection fails at once in one line naming what to start
 * ({@linkcode requireSparkMaster}); an application that gets no executor within
 * `executorWaitSec` fails instead of waiting forever.
 *
 * @example
 * ```ts
 * import { runSparkJobs } from "./spark.ts";
 * const run = await runSparkJobs({ hdfs, defaultFs: "hdfs://localhost:9000" });
 * ```
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { WebHdfs } from "../lib/lake/mod.ts";
import { DEFAULT_MARTS_ROOT } from "../lib/marketplace/mod.ts";
import {
  anyAccepts,
  ConfigError,
  localEndpoints,
  ServiceUnreachableError,
  STACK_PORTS,
} from "../lib/env/mod.ts";
import { sparkHome } from "../lib/stack/mod.ts";
import {
  commitMart,
  type EngineRun,
  JOBS,
  type JobSpec,
  jobTables,
  type LakeLocation,
  loadJobSql,
  type MartResult,
  MARTS,
  runId,
  sqlType,
  stagingFolder,
} from "./marts.ts";

/** Options of {@linkcode runSparkJobs}. */
export interface SparkJobsOptions extends LakeLocation {
  hdfs: WebHdfs;
  /** HDFS as Spark names it (fs.defaultFS), e.g. `hdfs://localhost:9000`. */
  defaultFs: string;
  /** Spark master URL. @default "local[2]" */
  master?: string;
  /** Executor heap on a cluster master (not `local`). @default "1g" */
  executorMemory?: string;
  /** Seconds a cluster application may wait for its first executor. @default 180 */
  executorWaitSec?: number;
  /** Rewrite daily marts only from this day (YYYY-MM-DD) on. */
  since?: string;
  /** Driver heap. @default "1g" */
  driverMemory?: string;
  /** Called with each line Spark prints about a finished mart. */
  onMart?: (name: string, rows: number) => void;
}

/** Checks a Spark master URL (`local`, `local[N]`, `local[*]`, `spark://host:port`, `yarn`, …). */
export function checkMaster(master: string): string {
  if (
    !/^(local(\[(\d+|\*)\])?|spark:\/\/[^\s/]+:\d+(,[^\s/]+:\d+)*|yarn|k8s:\/\/\S+)$/.test(master)
  ) {
    throw new ConfigError(
      `Cannot use --master as it must be local[N], spark://host:port, yarn or k8s://…: current value is '${master}'`,
    );
  }
  return master;
}

/**
 * The master a run uses when none is named: the stack's standalone master when the running
 * stack has one (its endpoints file names it), else `local[2]`.
 */
export function defaultMaster(stackDir?: string): string {
  const url = localEndpoints(stackDir).sparkMasterUrl;
  return typeof url === "string" && url ? url : "local[2]";
}

/** `host:port` pairs of a `spark://` URL (a standby list has several); [] for other masters. */
export function masterAddresses(master: string): string[] {
  return master.startsWith("spark://") ? master.slice("spark://".length).split(",") : [];
}

/** Whether a master is the local stack's own (by the endpoints file, or by its port). */
function isStackMaster(master: string, stackDir?: string): boolean {
  if (localEndpoints(stackDir).sparkMasterUrl === master) return true;
  const offset = Number(Deno.env.get("STACK_PORT_OFFSET") ?? "0") || 0;
  return masterAddresses(master).some((a) =>
    /^(127\.0\.0\.1|localhost):/.test(a) &&
    Number(a.split(":")[1]) === STACK_PORTS.sparkMaster + offset
  );
}

/**
 * For a `spark://` master: throws a {@linkcode ServiceUnreachableError} (one line: what to
 * start) when none of its addresses accepts a connection, or — the stack's own master — when
 * its UI lists no live worker. Other masters (`local[N]`, `yarn`, `k8s://`) pass unchecked.
 */
export async function requireSparkMaster(master: string, stackDir?: string): Promise<void> {
  const addresses = masterAddresses(master);
  if (addresses.length === 0) return;
  const ours = isStackMaster(master, stackDir);
  const hint = ours
    ? "`deno task stack up --spark` (with your other flags, e.g. --hdfs)"
    : "the Spark master there (sbin/start-master.sh), or drop --master to use the stack's Spark or local[2]";
  if (!(await anyAccepts(addresses))) {
    throw new ServiceUnreachableError("Spark master", master, hint);
  }
  const ui = localEndpoints(stackDir).sparkUiUrl;
  if (!ours || typeof ui !== "string") return;
  const state = await fetch(`${ui}/json/`, { signal: AbortSignal.timeout(5_000) })
    .then((r) => r.json() as Promise<{ aliveworkers?: number }>)
    .catch(() => undefined);
  if (state && !state.aliveworkers) {
    throw new ServiceUnreachableError("The Spark worker of the stack's master", master, hint);
  }
}

/**
 * JVM options of the driver and of the executors. Short jobs on a shared 2-core machine: the
 * JIT's second tier and G1's threads cost more CPU than they save (the stack's services run the
 * same way); on the driver, which plans every query, they halved its CPU time in the engines'
 * parity run.
 */
export const SPARK_JVM_OPTIONS = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1";

/** Spark settings a run adds for its master (none for `local`). */
export function clusterConf(
  master: string,
  options: { executorMemory?: string; hdfsUser: string },
): Record<string, string> {
  if (master.startsWith("local")) return {};
  const conf: Record<string, string> = {
    "spark.executor.memory": options.executorMemory ?? "1g",
    "spark.executorEnv.HADOOP_USER_NAME": options.hdfsUser,
    "spark.executor.extraJavaOptions": SPARK_JVM_OPTIONS,
  };
  const addresses = masterAddresses(master);
  if (addresses.length && addresses.every((a) => /^(127\.0\.0\.1|localhost):/.test(a))) {
    // Executors on this machine call the driver back: at the address the stack's cluster binds.
    conf["spark.driver.host"] = "127.0.0.1";
    conf["spark.driver.bindAddress"] = "127.0.0.1";
  }
  return conf;
}

/**
 * One SQL step as `jobs/spark_job.py` runs it: a view the later steps read (`cache`: computed
 * once and kept — a local checkpoint, so later plans do not carry its lineage — for a small
 * view read several times) or a mart written to the staging folder
 * (`collect`: its rows are also sent back, for a small mart the caller prints).
 */
export interface SparkStep extends JobSpec {
  sql: string;
  cache?: boolean;
  collect?: boolean;
}

/** What {@linkcode runSparkSteps} reports: the run, and the rows of each `collect` mart. */
export interface SparkStepsRun extends EngineRun {
  collected: Record<string, Record<string, unknown>[]>;
}

/** Runs every job of {@linkcode JOBS} on Spark and commits the marts to HDFS. */
export async function runSparkJobs(options: SparkJobsOptions): Promise<EngineRun> {
  const steps = await Promise.all(JOBS.map(async (j) => ({ ...j, sql: await loadJobSql(j) })));
  const { collected: _, ...run } = await runSparkSteps(options, steps, MARTS);
  return run;
}

/**
 * Runs `steps` on Spark in order (the lake's tables registered first) and commits the marts of
 * `commit` — written by the steps to the run's staging folder — into the marts root.
 */
export async function runSparkSteps(
  options: SparkJobsOptions,
  steps: readonly SparkStep[],
  commit: readonly JobSpec[],
): Promise<SparkStepsRun> {
  const started = performance.now();
  const { hdfs, master = "local[2]", since, martsRoot = DEFAULT_MARTS_ROOT } = options;
  checkMaster(master);
  await requireSparkMaster(master);
  const run = runId();
  const staging = stagingFolder(martsRoot, run);
  const tmp = await Deno.makeTempDir({ prefix: "spark-jobs-" });
  try {
    const file = join(tmp, "config.json");
    await Deno.writeTextFile(file, JSON.stringify(sparkConfig(options, staging, steps)));
    const out = await runSparkScript(file, options);
    for (const job of commit) await commitMart(hdfs, job, staging, martsRoot, since);
    await hdfs.delete(staging, { recursive: true }).catch(() => false);
    return {
      engine: "spark",
      marts: out.marts,
      collected: out.collected,
      seconds: (performance.now() - started) / 1000,
      run,
    };
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

/** The config `jobs/spark_job.py` reads (its module doc lists the fields). */
function sparkConfig(
  options: SparkJobsOptions,
  staging: string,
  steps: readonly SparkStep[],
): Record<string, unknown> {
  const { hdfs, master = "local[2]", driverMemory = "1g", executorMemory = "1g" } = options;
  const fs = options.defaultFs.replace(/\/$/, "");
  return {
    master,
    default_fs: fs,
    driver_memory: driverMemory,
    conf: {
      "spark.driver.extraJavaOptions": SPARK_JVM_OPTIONS,
      ...clusterConf(master, { executorMemory, hdfsUser: hdfs.user }),
    },
    executor_wait_sec: options.executorWaitSec ?? 180,
    since: options.since,
    staging: `${fs}${staging}`,
    tables: jobTables(options).map((t) => ({
      table: t.table,
      folder: `${fs}${t.folder}`,
      columns: t.columns.map((c) => c.name),
      ddl: t.columns.map((c) => `\`${c.name}\` ${sqlType(c.kind, "spark")}`).join(", "),
    })),
    jobs: steps,
  };
}

/** What `jobs/spark_job.py` printed: each mart's rows and time, and the collected marts. */
interface SparkScriptOutput {
  marts: MartResult[];
  collected: Record<string, Record<string, unknown>[]>;
}

/**
 * Runs `jobs/spark_job.py` with the venv's pyspark (SPARK_HOME: the very jars the stack's
 * cluster runs) on a config file, following its JSON lines; a failed run throws with the last
 * lines Spark printed.
 */
async function runSparkScript(
  configFile: string,
  options: SparkJobsOptions,
): Promise<SparkScriptOutput> {
  const py = await sparkHome();
  const child = new Deno.Command(py.python, {
    args: [fileURLToPath(new URL("./spark_job.py", import.meta.url)), configFile],
    env: { PYSPARK_PYTHON: py.python, HADOOP_USER_NAME: options.hdfs.user, SPARK_HOME: py.home },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const collected: SparkScriptOutput["collected"] = {};
  let totals: { marts: MartResult[] } | undefined;
  for await (const line of child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(lines())) {
    if (!line.startsWith("{")) continue;
    const msg = JSON.parse(line);
    if (msg.mart) options.onMart?.(msg.mart, msg.rows);
    if (msg.mart && msg.data) collected[msg.mart] = msg.data;
    if (msg.marts) totals = msg;
  }
  const status = await child.status;
  if (!status.success || !totals) {
    const err = (await stderr).trim().split("\n").filter((l) => !/^\s+at /.test(l)).slice(-15)
      .join("\n");
    throw new Error(
      `Spark job failed (exit ${status.code}, master ${options.master ?? "local[2]"}):\n${err}`,
    );
  }
  return { marts: totals.marts, collected };
}

/** Splits a text stream into lines (the last one even without a newline). */
function lines(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(chunk, out) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const part of parts) out.enqueue(part);
    },
    flush(out) {
      if (rest) out.enqueue(rest);
    },
  });
}
