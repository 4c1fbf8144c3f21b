/**
 * `deno task final:evaluate [--cutoff ISO-TIME] [--engine duckdb|spark] [--master URL]
 * [--seed N] [--similarity NAME]` — how good the recommendations are, measured over the lake
 * (`/lake/raw`): the user events split at the cut-off (default: the time of the event at 80 %
 * of them), `jobs/recommendations.sql` run on the earlier ones only, and `jobs/evaluate.sql`
 * scoring its top 5 and three baselines' (most popular, most popular in the user's favourite
 * category, random) against what each user bought after it: precision@5, recall@5, NDCG@5,
 * catalogue coverage. Prints the table and writes it as the mart `recommendation_quality`
 * under MARTS_ROOT (staged, then moved in by renames, like `final:analytics`'s marts).
 *
 * The same steps run on DuckDB or on Spark (the stack's standalone master when it runs one,
 * else `local[2]`; `--master` names another), figure for figure the same table.
 *
 * Env: LAKE_ROOT (/lake/raw), MARTS_ROOT (/lake/marts), LAKE_TOPIC_PREFIX, WEBHDFS_URL,
 * HDFS_URL (fs.defaultFS for Spark; default: the stack's).
 */
import {
  ConfigError,
  defineTask,
  flagInt,
  formatTable,
  runMain,
  SERVICE_ENV,
} from "../../lib/env/mod.ts";
import type { WebHdfs } from "../../lib/lake/mod.ts";
import { DEFAULT_MARTS_ROOT } from "../../lib/marketplace/mod.ts";
import { openDuckDb, openLakeViews } from "../../jobs/duckdb.ts";
import {
  commitQualityMart,
  evaluateDuckDb,
  evaluateSpark,
  type Evaluation,
  type EvaluationOptions,
  parseCutoff,
  QUALITY_MART,
} from "../../jobs/evaluate.ts";
import {
  type Engine,
  lakeLocationFromEnv,
  parseEngine,
  requireWebHdfs,
  sparkDefaultFs,
} from "../../jobs/engine.ts";
import { checkMaster, defaultMaster, requireSparkMaster } from "../../jobs/spark.ts";
import { type LakeLocation, SIMILARITIES } from "../../jobs/marts.ts";
import { applyPlatformConfig } from "../../lib/marketplace/mod.ts";

const SPEC = defineTask({
  task: "final:evaluate",
  summary:
    "Recommendation quality over the lake: a time-based split, the recommender against most-popular, popular-in-category and random baselines (precision, recall, NDCG at 5, coverage), on DuckDB or Spark; writes the mart recommendation_quality.",
  flags: {
    cutoff: {
      type: "string",
      default: "the time of the event at 80 % of them",
      valueName: "ISO-TIME",
      description: "train on the events before it, test on the purchases from it on",
    },
    engine: {
      type: "string",
      default: "duckdb",
      valueName: "ENGINE",
      description: "duckdb or spark",
    },
    master: {
      type: "string",
      default: "the stack's Spark master when it runs one, else local[2]",
      valueName: "URL",
      description: "Spark master URL: local[N], spark://host:port, yarn",
    },
    seed: {
      type: "string",
      default: "1",
      valueName: "N",
      description: "seed of the random baseline",
    },
    similarity: {
      type: "string",
      default: "cosine",
      valueName: "NAME",
      description: `the recommender's item similarity: ${Object.keys(SIMILARITIES).join(", ")}`,
    },
  },
  env: {
    ...SERVICE_ENV.webhdfs,
    LAKE_ROOT: { description: "HDFS folder of the raw zone", default: "/lake/raw" },
    MARTS_ROOT: { description: "HDFS folder of the marts", default: DEFAULT_MARTS_ROOT },
    LAKE_TOPIC_PREFIX: { description: "prefix of the topic names", default: "" },
    HDFS_URL: { description: "fs.defaultFS for Spark", default: "the stack's" },
  },
  examples: [
    "deno task final:evaluate",
    "deno task final:evaluate --cutoff 2025-01-31T12:00:00Z",
    "deno task final:evaluate --engine spark",
  ],
});

/** Checks `--similarity` (one of the recommendations job's choices). */
function parseSimilarity(raw: string | undefined): string {
  const name = raw ?? "cosine";
  if (!Object.hasOwn(SIMILARITIES, name)) {
    throw new ConfigError(
      `Cannot use --similarity as it must be one of ${
        Object.keys(SIMILARITIES).join(", ")
      }: current value is '${name}'`,
    );
  }
  return name;
}

/** The evaluation on DuckDB over a local copy of the lake; the mart committed to HDFS. */
async function onDuckDb(
  hdfs: WebHdfs,
  location: Required<LakeLocation>,
  options: EvaluationOptions,
): Promise<Evaluation> {
  const con = await openDuckDb();
  try {
    const downloaded = await openLakeViews(con, { hdfs, ...location });
    console.error(`final:evaluate on duckdb: lake synced (${downloaded} files copied)`);
    const run = await evaluateDuckDb(con, options);
    await commitQualityMart(con, hdfs, location.martsRoot);
    return run;
  } finally {
    con.closeSync();
  }
}

/** Prints the split and the table (a plain one, the figures as the mart holds them). */
function report(engine: Engine, run: Evaluation): void {
  console.log(
    `${engine}: cut-off ${run.cutoff}: ${run.trainEvents} training events, ` +
      `${run.testEvents} test events, ${run.rows[0]?.users ?? 0} test users`,
  );
  if ((run.rows[0]?.users ?? 0) === 0) {
    console.log("no test user: no one bought, after the cut-off, something new to them");
    return;
  }
  const f = (x: number) => x.toFixed(4);
  const rows = run.rows.map((r) => ({
    ...r,
    precision_at_5: f(r.precision_at_5),
    recall_at_5: f(r.recall_at_5),
    ndcg_at_5: f(r.ndcg_at_5),
    coverage: f(r.coverage),
  }));
  console.log(
    formatTable(rows, [
      "method",
      "users",
      { key: "precision_at_5", title: "PRECISION@5" },
      { key: "recall_at_5", title: "RECALL@5" },
      { key: "ndcg_at_5", title: "NDCG@5" },
      "coverage",
    ]).join("\n"),
  );
}

await runMain(async (cli) => {
  applyPlatformConfig("tool");
  const engine = parseEngine(cli.values.engine);
  const master = checkMaster(cli.values.master ?? defaultMaster());
  if (engine === "spark") await requireSparkMaster(master);
  const options: EvaluationOptions = {
    cutoff: parseCutoff(cli.values.cutoff),
    seed: flagInt(cli, "seed", 1),
    recommendations: { similarity: parseSimilarity(cli.values.similarity) },
  };
  const hdfs = await requireWebHdfs();
  const location = lakeLocationFromEnv();
  const started = performance.now();
  if (engine === "spark") console.error(`final:evaluate on spark (${master})`);
  const run = engine === "duckdb"
    ? await onDuckDb(hdfs, location, options)
    : await evaluateSpark({ hdfs, master, defaultFs: sparkDefaultFs(), ...location }, options);
  report(engine, run);
  console.log(
    `mart ${QUALITY_MART.name} → ${location.martsRoot}/${QUALITY_MART.name} ` +
      `(${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );
}, SPEC);
