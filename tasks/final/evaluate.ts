/**
 * `deno task final:evaluate [--cutoff ISO-TIME] [--engine duckdb] [--seed N]` — how good the
 * recommendations are, measured over the lake (`/lake/raw`): the user events split at the
 * cut-off (default: the time of the event at 80 % of them), `jobs/recommendations.sql` run on
 * the earlier ones only, and `jobs/evaluate.sql` scoring its top 5 and three baselines' (most
 * popular, most popular in the user's favourite category, random) against what each user bought
 * after it: precision@5, recall@5, NDCG@5, catalogue coverage. Prints the table and writes it as
 * the mart `recommendation_quality` under MARTS_ROOT (staged, then moved in by renames, like
 * `final:analytics`'s marts).
 *
 * Env: LAKE_ROOT (/lake/raw), MARTS_ROOT (/lake/marts), LAKE_TOPIC_PREFIX, WEBHDFS_URL.
 */
import {
  ConfigError,
  defineTask,
  envString,
  flagInt,
  runMain,
  SERVICE_ENV,
} from "../../lib/env/mod.ts";
import { WebHdfs } from "../../lib/lake/mod.ts";
import { DEFAULT_MARTS_ROOT } from "../../lib/marketplace/mod.ts";
import { openDuckDb, openLakeViews } from "../../jobs/duckdb.ts";
import {
  commitQualityMart,
  evaluateDuckDb,
  parseCutoff,
  QUALITY_MART,
} from "../../jobs/evaluate.ts";

const SPEC = defineTask({
  task: "final:evaluate",
  summary:
    "Recommendation quality over the lake: a time-based split, the recommender against most-popular, popular-in-category and random baselines (precision, recall, NDCG at 5, coverage); writes the mart recommendation_quality.",
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
      description: "duckdb (the only engine the evaluation runs on so far)",
    },
    seed: {
      type: "string",
      default: "1",
      valueName: "N",
      description: "seed of the random baseline",
    },
  },
  env: {
    ...SERVICE_ENV.webhdfs,
    LAKE_ROOT: { description: "HDFS folder of the raw zone", default: "/lake/raw" },
    MARTS_ROOT: { description: "HDFS folder of the marts", default: DEFAULT_MARTS_ROOT },
    LAKE_TOPIC_PREFIX: { description: "prefix of the topic names", default: "" },
  },
  examples: [
    "deno task final:evaluate",
    "deno task final:evaluate --cutoff 2025-01-31T12:00:00Z",
  ],
});

await runMain(async (cli) => {
  const engine = cli.values.engine ?? "duckdb";
  if (engine !== "duckdb") {
    throw new ConfigError(
      `Cannot use --engine as it must be duckdb (the evaluation does not run on Spark yet): current value is '${engine}'`,
    );
  }
  const cutoff = parseCutoff(cli.values.cutoff);
  const seed = flagInt(cli, "seed", 1);
  const hdfs = new WebHdfs();
  try {
    await hdfs.list("/");
  } catch (err) {
    throw new ConfigError(
      `HDFS NameNode at ${hdfs.url} is unreachable (${(err as Error).message.split("\n")[0]}): ` +
        "start it with `deno task stack up --hdfs` or set WEBHDFS_URL",
    );
  }
  const location = {
    root: envString("LAKE_ROOT", "/lake/raw"),
    martsRoot: envString("MARTS_ROOT", DEFAULT_MARTS_ROOT),
    prefix: envString("LAKE_TOPIC_PREFIX", ""),
  };
  const started = performance.now();
  const con = await openDuckDb();
  try {
    const downloaded = await openLakeViews(con, { hdfs, ...location });
    console.error(`final:evaluate on duckdb: lake synced (${downloaded} files copied)`);
    const run = await evaluateDuckDb(con, { cutoff, seed });
    console.log(
      `cut-off ${run.cutoff}: ${run.trainEvents} training events, ${run.testEvents} test events, ` +
        `${run.rows[0]?.users ?? 0} test users`,
    );
    if (run.rows.length === 0) {
      console.log("no test user: no one bought, after the cut-off, something new to them");
    } else console.table(run.rows);
    await commitQualityMart(con, hdfs, location.martsRoot);
    console.log(
      `mart ${QUALITY_MART.name} → ${location.martsRoot}/${QUALITY_MART.name} ` +
        `(${((performance.now() - started) / 1000).toFixed(1)} s)`,
    );
  } finally {
    con.closeSync();
  }
}, SPEC);
