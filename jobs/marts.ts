/**
 * What both engines share: the jobs (`jobs/*.sql`, one per mart, run in this order), the lake
 * tables they read (lib/marketplace's final lake), and how a mart reaches HDFS — written whole
 * under `/lake/marts/_tmp/<run>/<mart>/` first, then moved into `/lake/marts/<mart>/` by
 * renames (a crashed job leaves no half-written mart). Daily marts are partitioned by `dt`
 * (`/lake/marts/<mart>/dt=YYYY-MM-DD/`); with `since` only the days from `since` on are
 * replaced, the others kept. Re-running gives the same marts: each run replaces what it writes.
 *
 * @example
 * ```ts
 * import { JOBS, loadJobSql, commitMart } from "./marts.ts";
 * for (const job of JOBS) console.log(job.name, (await loadJobSql(job)).length);
 * ```
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Column, WebHdfs } from "../lib/lake/mod.ts";
import { FINAL_LAKE_TABLES } from "../lib/marketplace/mod.ts";
import { cacheDir, ConfigError } from "../lib/env/mod.ts";

/** One job: a SQL file of `jobs/`, a view the later jobs read or a mart written to HDFS. */
export interface JobSpec {
  /** Name of the SQL file (without `.sql`), of the view, of the mart. */
  name: string;
  /** A view is only read by later jobs; a mart is also written to `/lake/marts/<name>/`. */
  kind: "view" | "mart";
  /** Partitioned by its `dt` column (and incremental with `since`). */
  daily?: boolean;
  /** Columns that identify a row (sorting, comparing engines). */
  key: string[];
  /**
   * Whole-number parameters of the SQL and their defaults: `{{name}}` in the file is replaced
   * by the value ({@linkcode loadJobSql}), the same on every engine.
   */
  params?: Readonly<Record<string, number>>;
  /**
   * Parameters that choose between named SQL expressions: `{{name}}` in the file is replaced by
   * the SQL of the chosen option (`default` unless a run names another), the same on every
   * engine. The options are the project's own SQL, never the caller's text.
   */
  choices?: Readonly<Record<string, JobChoice>>;
}

/** A parameter of a job that picks one of several SQL expressions ({@linkcode JobSpec}). */
export interface JobChoice {
  /** The option used when a run names none. */
  default: string;
  /** Option name → its SQL expression. */
  options: Readonly<Record<string, string>>;
}

/** Values a run gives a job's parameters: whole numbers, or an option's name for a choice. */
export type JobParams = Readonly<Record<string, number | string>>;

/**
 * How the recommendations job measures how alike two products are, from `p.users` (users who
 * took both), `ta.users` and `tb.users` (users who took each): the normalisations compared by
 * `deno task bench:recommendations`. Lift is shown divided by the number of users, which
 * orders the pairs the same way.
 */
export const SIMILARITIES: Readonly<Record<string, string>> = {
  cosine: "p.users / sqrt(ta.users * tb.users)",
  jaccard: "p.users / (ta.users + tb.users - p.users)",
  lift: "p.users / (ta.users * tb.users)",
  count: "p.users",
};

/** The jobs, in the order they run (a job reads the views and marts before it). */
export const JOBS: readonly JobSpec[] = [
  { name: "products_current", kind: "view", key: ["product_id"] },
  { name: "product_stats", kind: "mart", daily: true, key: ["dt", "product_id"] },
  { name: "category_daily", kind: "mart", daily: true, key: ["dt", "category"] },
  { name: "brand_store", kind: "mart", key: ["brand", "store_id"] },
  { name: "user_behaviour", kind: "mart", key: ["user_id"] },
  { name: "search_gaps", kind: "mart", key: ["query"] },
  {
    name: "recommendations",
    kind: "mart",
    key: ["user_id", "rec_rank"],
    // history: the most recent carted or bought products kept per user; neighbours: the most
    // similar products kept per product. Both bound the job's cost per user (linear growth).
    params: { history: 20, neighbours: 20 },
    // similarity: how co-occurrence is normalised for popularity (SIMILARITIES); cosine won
    // on recall@5 and NDCG@5 (bench-results/recommendations.md).
    choices: { similarity: { default: "cosine", options: SIMILARITIES } },
  },
];

/** The marts (jobs of kind `mart`). */
export const MARTS: readonly JobSpec[] = JOBS.filter((j) => j.kind === "mart");

/** Where things are: lake root, marts root, topic prefix. */
export interface LakeLocation {
  /** Lake root on HDFS. @default "/lake/raw" */
  root?: string;
  /** Marts root on HDFS. @default "/lake/marts" */
  martsRoot?: string;
  /** Put before each topic name in the lake's folder names. @default "" */
  prefix?: string;
}

/** A lake table as the jobs see it: SQL name, HDFS folder, columns. */
export interface JobTable {
  table: string;
  folder: string;
  columns: Column[];
}

/** The tables the jobs read, with their HDFS folders. */
export function jobTables(location: LakeLocation = {}): JobTable[] {
  const { root = "/lake/raw", prefix = "" } = location;
  return FINAL_LAKE_TABLES.map((t) => ({
    table: t.table,
    folder: `${root.replace(/\/$/, "")}/${prefix}${t.topic}`,
    columns: t.columns,
  }));
}

/**
 * The SQL of a job (`jobs/<name>.sql`), without comments and the trailing semicolon, with each
 * `{{param}}` replaced by its value: `params` over the job's defaults ({@linkcode JobSpec}).
 * A parameter the job does not declare, a value that is not a whole number ≥ 1, or a
 * placeholder left without a value is a {@linkcode ConfigError}.
 */
export async function loadJobSql(job: JobSpec, params: JobParams = {}): Promise<string> {
  const text = await Deno.readTextFile(
    fileURLToPath(new URL(`./${job.name}.sql`, import.meta.url)),
  );
  const sql = text.split("\n").filter((l) => !l.trim().startsWith("--")).join("\n").trim()
    .replace(/;$/, "");
  return bindJobParams(job, sql, params);
}

/** Replaces the `{{param}}` placeholders of a job's SQL (see {@linkcode loadJobSql}). */
export function bindJobParams(job: JobSpec, sql: string, params: JobParams = {}): string {
  const values = jobParamValues(job, params);
  return sql.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) {
      throw new ConfigError(
        `jobs/${job.name}.sql uses {{${name}}}, which the job does not declare`,
      );
    }
    return String(value);
  });
}

/** Each declared parameter's SQL text: the job's defaults, overridden by `params`, checked. */
function jobParamValues(job: JobSpec, params: JobParams): Record<string, string> {
  const choices = job.choices ?? {};
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(job.params ?? {})) values[name] = String(value);
  for (const [name, choice] of Object.entries(choices)) {
    values[name] = choice.options[choice.default];
  }
  for (const [name, value] of Object.entries(params)) {
    if (!(name in values)) {
      throw new ConfigError(
        `Job '${job.name}' has no parameter '${name}' (it has: ${
          Object.keys(values).join(", ") || "none"
        })`,
      );
    }
    const choice = choices[name];
    if (choice) {
      if (typeof value !== "string" || !Object.hasOwn(choice.options, value)) {
        throw new ConfigError(
          `Parameter '${name}' of job '${job.name}' must be one of ${
            Object.keys(choice.options).join(", ")
          }, got ${value}`,
        );
      }
      values[name] = choice.options[value];
    } else if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
      throw new ConfigError(
        `Parameter '${name}' of job '${job.name}' must be a whole number ≥ 1, got ${value}`,
      );
    } else values[name] = String(value);
  }
  return values;
}

/** Checks a `--since` value (YYYY-MM-DD). */
export function parseSince(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === "") return undefined;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(raw) || Number.isNaN(Date.parse(`${raw}T00:00:00Z`))) {
    throw new ConfigError(
      `Cannot use --since as it must be a date YYYY-MM-DD: current value is '${raw}'`,
    );
  }
  return raw;
}

/** Column kind → DuckDB / Spark SQL type. */
export function sqlType(kind: Column["kind"], engine: "duckdb" | "spark"): string {
  const duck: Record<Column["kind"], string> = {
    string: "VARCHAR",
    json: "VARCHAR",
    timestamp: "TIMESTAMPTZ",
    int64: "BIGINT",
    int32: "INTEGER",
    float64: "DOUBLE",
    bool: "BOOLEAN",
  };
  const spark: Record<Column["kind"], string> = {
    string: "string",
    json: "string",
    timestamp: "timestamp",
    int64: "bigint",
    int32: "int",
    float64: "double",
    bool: "boolean",
  };
  return (engine === "duckdb" ? duck : spark)[kind];
}

/** A fresh id for a run's staging folder. */
export function runId(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Staging folder of a run's marts on HDFS. */
export function stagingFolder(martsRoot: string, run: string): string {
  return `${martsRoot.replace(/\/$/, "")}/_tmp/${run}`;
}

/**
 * Moves a mart written under `staging/<mart>` into `<martsRoot>/<mart>`: a whole mart by two
 * renames (the old one aside, the new one in), a daily mart partition by partition (only days
 * ≥ `since` when given; such days missing from the new run are removed).
 */
export async function commitMart(
  hdfs: WebHdfs,
  job: JobSpec,
  staging: string,
  martsRoot: string,
  since?: string,
): Promise<void> {
  const root = martsRoot.replace(/\/$/, "");
  const from = `${staging}/${job.name}`;
  const to = `${root}/${job.name}`;
  const aside = `${root}/_old/${job.name}-${runId()}`;
  await hdfs.mkdirs(`${root}/_old`);
  if (!job.daily) {
    if (!(await hdfs.stat(from))) await hdfs.mkdirs(from);
    const had = await hdfs.stat(to);
    if (had && !(await hdfs.rename(to, aside))) throw new Error(`HDFS refused to move ${to} aside`);
    if (!(await hdfs.rename(from, to))) throw new Error(`HDFS refused to rename ${from} to ${to}`);
    if (had) await hdfs.delete(aside, { recursive: true });
    return;
  }
  await hdfs.mkdirs(to);
  const fresh = (await hdfs.list(from)).filter((f) => f.pathSuffix.startsWith("dt="));
  const freshDays = new Set(fresh.map((f) => f.pathSuffix));
  const inScope = (day: string) => !since || day.slice(3) >= since;
  for (const f of fresh) {
    if (!inScope(f.pathSuffix)) continue;
    const target = `${to}/${f.pathSuffix}`;
    const had = await hdfs.stat(target);
    const old = `${aside}-${f.pathSuffix}`;
    if (had && !(await hdfs.rename(target, old))) throw new Error(`HDFS refused to move ${target}`);
    if (!(await hdfs.rename(`${from}/${f.pathSuffix}`, target))) {
      throw new Error(`HDFS refused to rename ${from}/${f.pathSuffix} to ${target}`);
    }
    if (had) await hdfs.delete(old, { recursive: true });
  }
  for (const f of await hdfs.list(to)) {
    if (f.pathSuffix.startsWith("dt=") && inScope(f.pathSuffix) && !freshDays.has(f.pathSuffix)) {
      await hdfs.delete(`${to}/${f.pathSuffix}`, { recursive: true });
    }
  }
}

/** Local copies of HDFS folders, kept in sync (files are immutable: same name, same bytes). */
export function localCacheDir(hdfs: WebHdfs): string {
  return join(cacheDir(), "lake-cache", new URL(hdfs.url).host.replace(/[^A-Za-z0-9.-]/g, "_"));
}

/**
 * Makes `local` a copy of the Parquet files under HDFS `folder` (skipping `_` folders): new
 * files downloaded, files gone from HDFS deleted, the rest kept. Returns how many files it holds
 * and how many it downloaded.
 */
export async function syncFolder(
  hdfs: WebHdfs,
  folder: string,
  local: string,
): Promise<{ files: number; downloaded: number }> {
  const remote = (await hdfs.walk(folder)).filter((f) =>
    f.path.endsWith(".parquet") &&
    !f.path.slice(folder.length).split("/").some((p) => p.startsWith("_"))
  );
  const want = new Set<string>();
  const todo: { path: string; local: string; length: number }[] = [];
  for (const f of remote) {
    const l = join(local, f.path.slice(folder.length + 1));
    want.add(l);
    const st = await Deno.stat(l).catch(() => undefined);
    if (!st || st.size !== f.length) todo.push({ path: f.path, local: l, length: f.length });
  }
  let i = 0;
  const worker = async () => {
    while (i < todo.length) {
      const t = todo[i++];
      await Deno.mkdir(join(t.local, ".."), { recursive: true });
      const tmp = `${t.local}.part`;
      await Deno.writeFile(tmp, await hdfs.read(t.path));
      await Deno.rename(tmp, t.local);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  const walkLocal = async (dir: string): Promise<void> => {
    for await (const e of Deno.readDir(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory) await walkLocal(p);
      else if (!want.has(p)) await Deno.remove(p);
    }
  };
  await Deno.mkdir(local, { recursive: true });
  await walkLocal(local);
  return { files: want.size, downloaded: todo.length };
}

/** Uploads every file under a local folder to HDFS `folder`, keeping the layout. */
export async function uploadFolder(hdfs: WebHdfs, local: string, folder: string): Promise<number> {
  let n = 0;
  const walk = async (dir: string, rel: string): Promise<void> => {
    for await (const e of Deno.readDir(dir)) {
      const p = join(dir, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) await walk(p, r);
      else {
        await hdfs.write(`${folder}/${r}`, await Deno.readFile(p), { overwrite: true });
        n++;
      }
    }
  };
  await hdfs.mkdirs(folder);
  await walk(local, "");
  return n;
}

/** What a run of the jobs reports, per mart. */
export interface MartResult {
  name: string;
  rows: number;
  seconds: number;
}

/** What an engine run reports. */
export interface EngineRun {
  engine: "duckdb" | "spark";
  marts: MartResult[];
  /** Wall time of the whole run (reading, jobs, writing, commit). */
  seconds: number;
  /** Where the time outside the jobs went (e.g. copying the lake in, uploading the marts). */
  phases?: MartResult[];
  /** The run's staging id. */
  run: string;
}
