/**
 * The jobs on DuckDB, embedded (`@duckdb/node-api`): the default engine.
 *
 * How DuckDB reaches the lake: this DuckDB build has `parquet` and `json` built in but no
 * `httpfs` (and extensions cannot be downloaded here; even with it, WebHDFS is not an
 * S3/HTTP-range source DuckDB knows). So the lake's Parquet files are copied over WebHDFS into
 * a local cache that is kept in sync: lake files are immutable (named by their offset range),
 * so a run downloads only files it has not seen — the incremental part — and DuckDB reads the
 * local copies with `read_parquet`. Marts are written with `COPY … (FORMAT parquet)` to a
 * local folder, uploaded to the run's HDFS staging folder and committed by renames
 * ({@linkcode commitMart}).
 *
 * @example
 * ```ts
 * import { runDuckDbJobs } from "./duckdb.ts";
 * const run = await runDuckDbJobs({ hdfs: new WebHdfs() });
 * console.table(run.marts);
 * ```
 * @module
 */
import { join } from "node:path";
import { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { WebHdfs } from "../lib/lake/mod.ts";
import { DEFAULT_MARTS_ROOT } from "../lib/marketplace/mod.ts";
import {
  commitMart,
  type EngineRun,
  JOBS,
  type JobSpec,
  jobTables,
  type LakeLocation,
  loadJobSql,
  localCacheDir,
  type MartResult,
  MARTS,
  runId,
  sqlType,
  stagingFolder,
  syncFolder,
  uploadFolder,
} from "./marts.ts";

/** Options of {@linkcode runDuckDbJobs}. */
export interface DuckDbJobsOptions extends LakeLocation {
  hdfs: WebHdfs;
  /** Rewrite daily marts only from this day (YYYY-MM-DD) on. */
  since?: string;
  /** Local cache of the lake. @default {@linkcode localCacheDir} */
  cacheDir?: string;
  /** Called as each job finishes. */
  onJob?: (name: string, done: number, total: number) => void;
  /** DuckDB's `memory_limit` (e.g. `4GiB`); beyond it DuckDB spills to disk or fails. */
  memoryLimit?: string;
}

const q = (s: string) => `'${s.replaceAll("'", "''")}'`;

/**
 * Opens an in-memory DuckDB set up like the jobs expect (UTC, 2 threads), with DuckDB's own
 * `memory_limit` when one is given (its default is 80 % of the machine's memory).
 */
export async function openDuckDb(memoryLimit?: string): Promise<DuckDBConnection> {
  const instance = await DuckDBInstance.create(":memory:", {
    threads: "2",
    ...(memoryLimit ? { memory_limit: memoryLimit } : {}),
  });
  const con = await instance.connect();
  await con.run("SET TimeZone = 'UTC'");
  return con;
}

/** Options of {@linkcode openLakeViews}. */
export interface LakeViewsOptions extends LakeLocation {
  hdfs: WebHdfs;
  /** Local cache of the lake. @default {@linkcode localCacheDir} */
  cacheDir?: string;
}

/**
 * Makes each lake table of {@linkcode jobTables} a view of `con` (`products`, `user_events`, …)
 * over a local copy of its Parquet files, synced from HDFS first (an empty table when the lake
 * has none). Returns how many files it downloaded.
 */
export async function openLakeViews(
  con: DuckDBConnection,
  options: LakeViewsOptions,
): Promise<number> {
  const { hdfs } = options;
  const cache = options.cacheDir ?? localCacheDir(hdfs);
  let synced = 0;
  for (const t of jobTables(options)) {
    const local = join(cache, t.folder.replace(/^\//, ""));
    const { files, downloaded } = await syncFolder(hdfs, t.folder, local);
    synced += downloaded;
    const cols = t.columns.map((c) => `"${c.name}"::${sqlType(c.kind, "duckdb")} AS "${c.name}"`)
      .join(", ");
    const source = files > 0
      ? `read_parquet(${
        q(join(local, "dt=*", "hour=*", "*.parquet"))
      }, hive_partitioning = false, union_by_name = true)`
      : `(SELECT ${t.columns.map((c) => `NULL AS "${c.name}"`).join(", ")} WHERE false)`;
    await con.run(`CREATE OR REPLACE VIEW ${t.table} AS SELECT ${cols} FROM ${source}`);
  }
  return synced;
}

/** Runs every job of {@linkcode JOBS} on DuckDB and commits the marts to HDFS. */
export async function runDuckDbJobs(options: DuckDbJobsOptions): Promise<EngineRun> {
  const started = performance.now();
  const { hdfs, since, martsRoot = DEFAULT_MARTS_ROOT, onJob } = options;
  const cache = options.cacheDir ?? localCacheDir(hdfs);
  const run = runId();
  const out = await Deno.makeTempDir({ prefix: "duckdb-marts-" });
  const con = await openDuckDb(options.memoryLimit);
  const phases: MartResult[] = [];
  const phase = (name: string, rows: number, since: number) =>
    phases.push({ name, rows, seconds: (performance.now() - since) / 1000 });
  try {
    const syncStarted = performance.now();
    const synced = await openLakeViews(con, { ...options, cacheDir: cache });
    phase("sync the lake (WebHDFS → local cache; rows = files copied)", synced, syncStarted);
    const results = [];
    let done = 0;
    for (const job of JOBS) {
      const t = performance.now();
      const sql = await loadJobSql(job);
      if (job.kind === "view") {
        await con.run(`CREATE OR REPLACE VIEW ${job.name} AS ${sql}`);
      } else {
        await con.run(`CREATE OR REPLACE TABLE ${job.name} AS ${sql}`);
        const dir = join(out, job.name);
        await Deno.mkdir(dir, { recursive: true });
        if (job.daily) {
          const rows = `SELECT * FROM ${job.name}${since ? ` WHERE dt >= DATE ${q(since)}` : ""}`;
          await con.run(
            `COPY (${rows} ORDER BY ${job.key.join(", ")}) TO ${q(dir)} ` +
              `(FORMAT parquet, PARTITION_BY (dt), OVERWRITE_OR_IGNORE true)`,
          );
        } else {
          await con.run(
            `COPY (SELECT * FROM ${job.name} ORDER BY ${job.key.join(", ")}) TO ${
              q(join(dir, "part-0.parquet"))
            } (FORMAT parquet)`,
          );
        }
        const rows = Number(
          (await con.runAndReadAll(`SELECT count(*) FROM ${job.name}`)).getRows()[0][0],
        );
        results.push({ name: job.name, rows, seconds: (performance.now() - t) / 1000 });
      }
      onJob?.(job.name, ++done, JOBS.length);
    }
    const uploadStarted = performance.now();
    const staging = stagingFolder(martsRoot, run);
    for (const job of MARTS) {
      await uploadFolder(hdfs, join(out, job.name), `${staging}/${job.name}`);
      await commitMart(hdfs, job, staging, martsRoot, since);
    }
    await hdfs.delete(staging, { recursive: true }).catch(() => false);
    phase("upload and commit the marts (WebHDFS)", MARTS.length, uploadStarted);
    return {
      engine: "duckdb",
      marts: results,
      seconds: (performance.now() - started) / 1000,
      phases,
      run,
    };
  } finally {
    con.closeSync();
    await Deno.remove(out, { recursive: true }).catch(() => {});
  }
}

/**
 * Reads a committed mart from HDFS (copied to a temp folder) as plain rows, sorted by its key:
 * dates as `YYYY-MM-DD`, timestamps as ISO strings, integers as numbers. `mart` is one of
 * {@linkcode MARTS} by name, or any mart's spec (e.g. the evaluation's).
 */
export async function readMart(
  hdfs: WebHdfs,
  mart: string | JobSpec,
  martsRoot: string = DEFAULT_MARTS_ROOT,
): Promise<Record<string, unknown>[]> {
  const job = typeof mart === "string" ? MARTS.find((m) => m.name === mart) : mart;
  if (!job) throw new RangeError(`Unknown mart '${mart}' (known: ${MARTS.map((m) => m.name)})`);
  mart = job.name;
  const tmp = await Deno.makeTempDir({ prefix: `mart-${mart}-` });
  const con = await openDuckDb();
  try {
    const { files } = await syncFolder(hdfs, `${martsRoot.replace(/\/$/, "")}/${mart}`, tmp);
    if (files === 0) return [];
    const glob = job.daily ? join(tmp, "dt=*", "*.parquet") : join(tmp, "*.parquet");
    const reader = await con.runAndReadAll(
      `SELECT * FROM read_parquet(${q(glob)}, hive_partitioning = ${
        job.daily ? "true" : "false"
      }) ORDER BY ${job.key.join(", ")}`,
    );
    const numeric = new Set(
      reader.columnNames().filter((_, i) =>
        /^(BIGINT|INTEGER|HUGEINT|SMALLINT|TINYINT|UBIGINT|UINTEGER|DOUBLE|FLOAT|DECIMAL.*)$/.test(
          String(reader.columnTypes()[i]),
        )
      ),
    );
    return reader.getRowObjectsJson().map((r) => {
      const row: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(r)) row[k] = numeric.has(k) && v !== null ? Number(v) : v;
      if (row.dt !== undefined && row.dt !== null) row.dt = String(row.dt).slice(0, 10);
      return row;
    });
  } finally {
    con.closeSync();
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}
