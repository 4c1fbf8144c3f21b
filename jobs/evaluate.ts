/**
 * How good the recommendations are, measured: a time-based split of the user events at a
 * cut-off (default: the time of the event at 80 % of them), the recommendations job
 * (`jobs/recommendations.sql`) run on the events before it only, and `jobs/evaluate.sql` scoring
 * its top 5 — and that of three baselines (most popular, most popular in the user's favourite
 * category, random) — against what each user bought after it: precision@5, recall@5, NDCG@5 and
 * catalogue coverage, the mart `recommendation_quality`. The steps ({@linkcode evaluationSteps})
 * are SQL both engines take, run by {@linkcode evaluateDuckDb} or by Spark
 * ({@linkcode evaluateSpark}, through jobs/spark.ts: any master), figure for figure the same
 * table. The evaluation is not one of
 * {@linkcode JOBS}: `final:analytics` and the engines' parity check do not run it
 * (`deno task final:evaluate` does).
 *
 * @example
 * ```ts
 * import { openDuckDb } from "./duckdb.ts";
 * import { evaluateDuckDb } from "./evaluate.ts";
 * const con = await openDuckDb(); // with `user_events` and `products` (or `products_current`)
 * const { cutoff, rows } = await evaluateDuckDb(con);
 * console.log(cutoff);
 * console.table(rows);
 * ```
 * @module
 */
import { join } from "node:path";
import type { DuckDBConnection } from "@duckdb/node-api";
import type { WebHdfs } from "../lib/lake/mod.ts";
import { ConfigError } from "../lib/env/mod.ts";
import {
  commitMart,
  type JobParams,
  JOBS,
  type JobSpec,
  loadJobSql,
  runId,
  sqlType,
  stagingFolder,
  uploadFolder,
} from "./marts.ts";
import { runSparkSteps, type SparkJobsOptions } from "./spark.ts";

/** The evaluation's SQL (`jobs/evaluate.sql`); `seed` orders the random baseline. */
export const EVALUATE_JOB: JobSpec = {
  name: "evaluate",
  kind: "view",
  key: ["method"],
  params: { seed: 1 },
};

/** The mart the evaluation writes: one row per method. */
export const QUALITY_MART: JobSpec = {
  name: "recommendation_quality",
  kind: "mart",
  key: ["method"],
};

/** The methods scored, in the order they are reported: the platform's, then the baselines. */
export const METHODS = ["recommender", "popular", "popular_in_category", "random"] as const;

/** One row of the mart `recommendation_quality`. */
export interface QualityRow {
  /** One of {@linkcode METHODS}. */
  method: string;
  /** Test users scored (the same for every method). */
  users: number;
  precision_at_5: number;
  recall_at_5: number;
  ndcg_at_5: number;
  /** Distinct products recommended to the test users / products in stock. */
  coverage: number;
}

/** Options of {@linkcode evaluateDuckDb}. */
export interface EvaluationOptions {
  /**
   * The cut-off (ISO time): training before it, test from it on.
   * @default the time of the event at `trainShare` of them
   */
  cutoff?: string;
  /** Share of the events before the default cut-off, in (0, 1). @default 0.8 */
  trainShare?: number;
  /** Parameters of the recommendations job ({@linkcode loadJobSql}). */
  recommendations?: JobParams;
  /** Seed of the random baseline (whole number ≥ 1). @default 1 */
  seed?: number;
}

/** What {@linkcode evaluateDuckDb} measured. */
export interface Evaluation {
  /** The cut-off used, ISO. */
  cutoff: string;
  /** User events before the cut-off (training) and from it on. */
  trainEvents: number;
  testEvents: number;
  /** One row per method, in the order of {@linkcode METHODS}. */
  rows: QualityRow[];
}

/**
 * Checks a `--cutoff` value: an ISO time (a date alone is midnight UTC, a time without offset
 * UTC). Returns it as ISO (UTC), or undefined when not given.
 */
export function parseCutoff(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === "") return undefined;
  const text = /^\d{4}-\d{2}-\d{2}$/.test(raw)
    ? `${raw}T00:00:00Z`
    : /^\d{4}-\d{2}-\d{2}T[\d:.]+$/.test(raw)
    ? `${raw}Z`
    : raw;
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text)
    ? Date.parse(text)
    : NaN;
  if (Number.isNaN(ms)) {
    throw new ConfigError(
      `Cannot use --cutoff as it must be an ISO time (2025-01-31T12:00:00Z): current value is '${raw}'`,
    );
  }
  return new Date(ms).toISOString();
}

/**
 * The recommendations job's SQL with its input `user_events` bound to `relation` (e.g. the
 * training events): every whole-word `user_events` renamed.
 */
export function bindUserEvents(sql: string, relation: string): string {
  return sql.replace(/\buser_events\b/g, relation);
}

const q = (s: string) => `'${s.replaceAll("'", "''")}'`;

/**
 * One step of the evaluation as an engine runs it: a view (`cache`: kept once computed — a
 * temporary table on DuckDB) or the mart, and its SQL.
 */
export interface EvaluationStep extends JobSpec {
  sql: string;
  cache?: boolean;
  collect?: boolean;
}

/**
 * The SQL of the one-row view `evaluation_cutoff`: the given cut-off, or the time of the event
 * at `trainShare` of them in time order (the smallest `at` at a position ≥ ⌈events × share⌉) —
 * a definition both engines compute alike, ties included.
 */
export function cutoffSql(
  engine: "duckdb" | "spark",
  options: Pick<EvaluationOptions, "cutoff" | "trainShare"> = {},
): string {
  const { cutoff, trainShare = 0.8 } = options;
  if (!(trainShare > 0 && trainShare < 1)) {
    throw new RangeError(`'trainShare' must be in (0, 1): current value is ${trainShare}`);
  }
  if (cutoff !== undefined) {
    const ms = Date.parse(cutoff);
    if (Number.isNaN(ms)) {
      throw new RangeError(`'cutoff' must be an ISO time: current value is '${cutoff}'`);
    }
    const at = q(new Date(ms).toISOString());
    return `select cast(${at} as ${sqlType("timestamp", engine)}) as cutoff`;
  }
  return [
    "select min(ranked.at) as cutoff",
    "from (",
    "  select e.at, row_number() over (order by e.at) as position, count(*) over () as events",
    "  from user_events e",
    ") ranked",
    `where ranked.position >= ceil(ranked.events * ${trainShare})`,
  ].join("\n");
}

/**
 * The evaluation as steps to run in order, in SQL both engines take: `products_current` (the
 * jobs' view of the catalogue), `evaluation_cutoff` ({@linkcode cutoffSql}), `train_events`
 * and `test_events` (the split), `recs_train` (the recommendations job on the training part),
 * then the mart `recommendation_quality`, collected.
 */
export async function evaluationSteps(
  engine: "duckdb" | "spark",
  options: EvaluationOptions = {},
): Promise<EvaluationStep[]> {
  const job = (name: string) => JOBS.find((j) => j.name === name)!;
  const view = (name: string, sql: string, cache = false): EvaluationStep => ({
    name,
    kind: "view",
    key: [],
    sql,
    cache,
  });
  const split = (op: string) =>
    `select e.* from user_events e cross join evaluation_cutoff c where e.at ${op} c.cutoff`;
  const recs = await loadJobSql(job("recommendations"), options.recommendations);
  return [
    view("products_current", await loadJobSql(job("products_current"))),
    view("evaluation_cutoff", cutoffSql(engine, options), true),
    // Spark inlines a view wherever it is read: the split and the recommendations are read by
    // several parts of the mart, so Spark keeps them once computed (a much smaller plan, each
    // computed once); DuckDB plans views well and keeps no copy of the events.
    view("train_events", split("<"), engine === "spark"),
    view("test_events", split(">="), engine === "spark"),
    view("recs_train", bindUserEvents(recs, "train_events"), engine === "spark"),
    {
      ...QUALITY_MART,
      sql: await loadJobSql(EVALUATE_JOB, { seed: options.seed ?? 1 }),
      collect: true,
    },
  ];
}

/** The mart's rows as an {@linkcode Evaluation}, methods in the order of {@linkcode METHODS}. */
export function evaluationOf(rows: readonly Record<string, unknown>[]): Evaluation {
  const order = (m: string) => (METHODS as readonly string[]).indexOf(m);
  const quality = rows.map((r) => ({
    method: String(r.method),
    users: Number(r.users),
    precision_at_5: Number(r.precision_at_5),
    recall_at_5: Number(r.recall_at_5),
    ndcg_at_5: Number(r.ndcg_at_5),
    coverage: Number(r.coverage),
  })).sort((a, b) => order(a.method) - order(b.method));
  const first = rows[0] ?? {};
  return {
    cutoff: first.cutoff == null ? "" : new Date(Date.parse(String(first.cutoff))).toISOString(),
    trainEvents: Number(first.train_events ?? 0),
    testEvents: Number(first.test_events ?? 0),
    rows: quality,
  };
}

async function scalar(con: DuckDBConnection, sql: string): Promise<unknown> {
  return (await con.runAndReadAll(sql)).getRows()[0]?.[0];
}

/**
 * Runs the evaluation on DuckDB. `con` holds `user_events` (user_id, product_id, type, at) and
 * the lake's `products` (or a `products_current` of its own, which is then used). Leaves the
 * views of {@linkcode evaluationSteps} (temporary) and the table `recommendation_quality` in
 * `con`.
 */
export async function evaluateDuckDb(
  con: DuckDBConnection,
  options: EvaluationOptions = {},
): Promise<Evaluation> {
  const own = await scalar(
    con,
    "SELECT count(*) FROM information_schema.tables WHERE table_name = 'products_current'",
  );
  for (const step of await evaluationSteps("duckdb", options)) {
    if (step.name === "products_current" && Number(own) > 0) continue;
    await con.run(
      step.kind === "mart"
        ? `CREATE OR REPLACE TABLE ${step.name} AS ${step.sql}`
        : step.cache
        ? `CREATE OR REPLACE TEMP TABLE ${step.name} AS ${step.sql}`
        : `CREATE OR REPLACE TEMP VIEW ${step.name} AS ${step.sql}`,
    );
  }
  const run = evaluationOf(
    (await con.runAndReadAll(`SELECT * FROM ${QUALITY_MART.name}`)).getRowObjectsJson(),
  );
  if (run.cutoff === "") {
    throw new Error("No user events to evaluate the recommendations on (user_events is empty)");
  }
  return run;
}

/**
 * Runs the evaluation on Spark (`runSparkSteps`: the lake read from `hdfs://`, any master) and
 * commits the mart `recommendation_quality` into the marts root, as `final:analytics` does.
 */
export async function evaluateSpark(
  spark: SparkJobsOptions,
  options: EvaluationOptions = {},
): Promise<Evaluation> {
  const run = await runSparkSteps(spark, await evaluationSteps("spark", options), [QUALITY_MART]);
  const rows = run.collected[QUALITY_MART.name] ?? [];
  return evaluationOf(rows);
}

/**
 * Writes the table `recommendation_quality` of `con` ({@linkcode evaluateDuckDb}) as the mart
 * `<martsRoot>/recommendation_quality/` on HDFS: one Parquet file, staged under the run's
 * `_tmp` folder and moved in by renames ({@linkcode commitMart}), like the other marts.
 */
export async function commitQualityMart(
  con: DuckDBConnection,
  hdfs: WebHdfs,
  martsRoot: string,
): Promise<void> {
  const out = await Deno.makeTempDir({ prefix: "quality-mart-" });
  try {
    const dir = join(out, QUALITY_MART.name);
    await Deno.mkdir(dir, { recursive: true });
    await con.run(
      `COPY (SELECT * FROM ${QUALITY_MART.name} ORDER BY ${QUALITY_MART.key.join(", ")}) TO ${
        q(join(dir, "part-0.parquet"))
      } (FORMAT parquet)`,
    );
    const staging = stagingFolder(martsRoot, runId());
    await uploadFolder(hdfs, dir, `${staging}/${QUALITY_MART.name}`);
    await commitMart(hdfs, QUALITY_MART, staging, martsRoot);
    await hdfs.delete(staging, { recursive: true }).catch(() => false);
  } finally {
    await Deno.remove(out, { recursive: true }).catch(() => {});
  }
}
