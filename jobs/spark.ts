/**
 * The jobs on Apache Spark: pyspark (pinned, from PyPI, in the stack's cached venv — as
 * `bench:lake` uses it) runs `jobs/spark_job.py` with the same SQL files as DuckDB, in
 * `local[2]` by default or on any `--master` URL. Spark reads the lake straight from
 * `hdfs://` and writes each mart to the run's HDFS staging folder; this module then commits
 * them into `/lake/marts` by renames, exactly as the DuckDB runner does.
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
import { ConfigError } from "../lib/env/mod.ts";
import { PYTHON_PACKAGES, pythonEnv } from "../lib/stack/mod.ts";
import {
  commitMart,
  type EngineRun,
  JOBS,
  jobTables,
  type LakeLocation,
  loadJobSql,
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

/** Runs every job of {@linkcode JOBS} on Spark and commits the marts to HDFS. */
export async function runSparkJobs(options: SparkJobsOptions): Promise<EngineRun> {
  const started = performance.now();
  const {
    hdfs,
    defaultFs,
    master = "local[2]",
    since,
    martsRoot = DEFAULT_MARTS_ROOT,
    driverMemory = "1g",
    onMart,
  } = options;
  checkMaster(master);
  const run = runId();
  const staging = stagingFolder(martsRoot, run);
  const py = await pythonEnv("spark", [PYTHON_PACKAGES.pyspark, PYTHON_PACKAGES.pyarrow]);
  const fs = defaultFs.replace(/\/$/, "");
  const config = {
    master,
    default_fs: fs,
    driver_memory: driverMemory,
    since,
    staging: `${fs}${staging}`,
    tables: jobTables(options).map((t) => ({
      table: t.table,
      folder: `${fs}${t.folder}`,
      columns: t.columns.map((c) => c.name),
      ddl: t.columns.map((c) => `\`${c.name}\` ${sqlType(c.kind, "spark")}`).join(", "),
    })),
    jobs: await Promise.all(JOBS.map(async (j) => ({ ...j, sql: await loadJobSql(j) }))),
  };
  const tmp = await Deno.makeTempDir({ prefix: "spark-jobs-" });
  try {
    const file = join(tmp, "config.json");
    await Deno.writeTextFile(file, JSON.stringify(config));
    const child = new Deno.Command(py.python, {
      args: [fileURLToPath(new URL("./spark_job.py", import.meta.url)), file],
      env: { PYSPARK_PYTHON: py.python, HADOOP_USER_NAME: hdfs.user },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    let last: { marts: EngineRun["marts"] } | undefined;
    let rest = "";
    const dec = new TextDecoder();
    for await (const chunk of child.stdout) {
      rest += dec.decode(chunk, { stream: true });
      const lines = rest.split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        if (!line.startsWith("{")) continue;
        const msg = JSON.parse(line);
        if (msg.mart) onMart?.(msg.mart, msg.rows);
        if (msg.marts) last = msg;
      }
    }
    if (rest.startsWith("{")) last = JSON.parse(rest);
    const status = await child.status;
    if (!status.success || !last) {
      const err = (await stderr).trim().split("\n").filter((l) => !/^\s+at /.test(l)).slice(-15)
        .join("\n");
      throw new Error(`Spark job failed (exit ${status.code}, master ${master}):\n${err}`);
    }
    for (const job of MARTS) await commitMart(hdfs, job, staging, martsRoot, since);
    await hdfs.delete(staging, { recursive: true }).catch(() => false);
    return {
      engine: "spark",
      marts: last.marts,
      seconds: (performance.now() - started) / 1000,
      run,
    };
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}
