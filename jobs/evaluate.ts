/**
 * How good the recommendations are, measured: a time-based split of the user events at a
 * cut-off (default: the time of the event at 80 % of them), the recommendations job
 * (`jobs/recommendations.sql`) run on the events before it only, and `jobs/evaluate.sql` scoring
 * its top 5 — and that of three baselines (most popular, most popular in the user's favourite
 * category, random) — against what each user bought after it: precision@5, recall@5, NDCG@5 and
 * catalogue coverage, the mart `recommendation_quality`. The steps ({@linkcode evaluationSteps})
 * are SQL both engines take (Spark gives the same table, figure for figure); the runner here is
 * DuckDB's, and Spark's job runner could take the same list. The evaluation is not one of
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
  JOBS,
  type JobSpec,
  loadJobSql,
  runId,
  sqlType,
  stagingFolder,
  uploadFolder,
} from "./marts.ts";

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
  recommendations?: Readonly<Record<string, number>>;
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

/** One step of the evaluation as an engine runs it: a view (or the mart) and its SQL. */
export interface EvaluationStep {
  name: string;
  kind: "view" | "mart";
  key: string[];
  sql: string;
}

/**
 * The evaluation at `cutoff` as steps to run in order, in SQL both engines take (DuckDB's
 * runner is {@linkcode evaluateDuckDb}; `jobs/spark_job.py` runs such a list of views and
 * marts): `train_events` and `test_events` (the split), `recs_train` (the recommendations job
 * on the training part), then the mart `recommendation_quality`. `products_current` is
 * expected to exist.
 */
export async function evaluationSteps(
  cutoff: string,
  engine: "duckdb" | "spark",
  options: Pick<EvaluationOptions, "recommendations" | "seed"> = {},
): Promise<EvaluationStep[]> {
  const at = `cast(${q(cutoff)} as ${sqlType("timestamp", engine)})`;
  const recs = JOBS.find((j) => j.name === "recommendations")!;
  const view = (name: string, sql: string): EvaluationStep => ({
    name,
    kind: "view",
    key: [],
    sql,
  });
  return [
    view("train_events", `select e.* from user_events e where e.at < ${at}`),
    view("test_events", `select e.* from user_events e where e.at >= ${at}`),
    view(
      "recs_train",
      bindUserEvents(await loadJobSql(recs, options.recommendations), "train_events"),
    ),
    {
      name: QUALITY_MART.name,
      kind: "mart",
      key: QUALITY_MART.key,
      sql: await loadJobSql(EVALUATE_JOB, { seed: options.seed ?? 1 }),
    },
  ];
}

async function scalar(con: DuckDBConnection, sql: string): Promise<unknown> {
  return (await con.runAndReadAll(sql)).getRows()[0]?.[0];
}

/**
 * Runs the evaluation on DuckDB. `con` holds `user_events` (user_id, product_id, type, at) and
 * `products_current` — or the lake's `products`, from which the `products_current` job makes
 * it. Leaves the views `train_events`, `test_events`, `recs_train` (temporary) and the table
 * `recommendation_quality` in `con` ({@linkcode evaluationSteps}).
 */
export async function evaluateDuckDb(
  con: DuckDBConnection,
  options: EvaluationOptions = {},
): Promise<Evaluation> {
  const { trainShare = 0.8 } = options;
  if (!(trainShare > 0 && trainShare < 1)) {
    throw new RangeError(`'trainShare' must be in (0, 1): current value is ${trainShare}`);
  }
  const known = await scalar(
    con,
    "SELECT count(*) FROM information_schema.tables WHERE table_name = 'products_current'",
  );
  if (Number(known) === 0) {
    const view = JOBS.find((j) => j.name === "products_current")!;
    await con.run(`CREATE OR REPLACE TEMP VIEW products_current AS ${await loadJobSql(view)}`);
  }
  let cutoff = options.cutoff;
  if (cutoff !== undefined) {
    const ms = Date.parse(cutoff);
    if (Number.isNaN(ms)) {
      throw new RangeError(`'cutoff' must be an ISO time: current value is '${cutoff}'`);
    }
    cutoff = new Date(ms).toISOString();
  } else {
    const ms = await scalar(
      con,
      `SELECT epoch_ms(quantile_disc("at", ${trainShare})) FROM user_events`,
    );
    if (ms === null || ms === undefined) {
      throw new Error("No user events to evaluate the recommendations on (user_events is empty)");
    }
    cutoff = new Date(Number(ms)).toISOString();
  }
  for (const step of await evaluationSteps(cutoff, "duckdb", options)) {
    await con.run(
      step.kind === "view"
        ? `CREATE OR REPLACE TEMP VIEW ${step.name} AS ${step.sql}`
        : `CREATE OR REPLACE TABLE ${step.name} AS ${step.sql}`,
    );
  }
  const reader = await con.runAndReadAll(`SELECT * FROM ${QUALITY_MART.name}`);
  const rows = reader.getRowObjectsJson().map((r) => ({
    method: String(r.method),
    users: Number(r.users),
    precision_at_5: Number(r.precision_at_5),
    recall_at_5: Number(r.recall_at_5),
    ndcg_at_5: Number(r.ndcg_at_5),
    coverage: Number(r.coverage),
  }));
  const order = (m: string) => (METHODS as readonly string[]).indexOf(m);
  rows.sort((a, b) => order(a.method) - order(b.method));
  return {
    cutoff,
    trainEvents: Number(await scalar(con, "SELECT count(*) FROM train_events")),
    testEvents: Number(await scalar(con, "SELECT count(*) FROM test_events")),
    rows,
  };
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
