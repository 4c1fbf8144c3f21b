/**
 * `deno task final:analytics [--engine duckdb|spark] [--since YYYY-MM-DD] [--master URL]
 * [--no-publish] [--top N]` — the analytics jobs of `jobs/*.sql` over the lake
 * (`/lake/raw`): each mart written as Parquet under `/lake/marts/<mart>/` (daily marts by
 * `dt`, only days from `--since` on replaced), then the recommendations published to topic
 * `recommendations` on cluster A as principal `analytics` (key = user). Prints the top rows of
 * each mart.
 *
 * Spark runs on the stack's standalone master when the stack runs one (`deno task stack up
 * --spark`), else in `local[2]`; `--master` names another (`spark://host:7077`, `yarn`). A
 * `spark://` master that does not answer fails at once, in one line naming what to start.
 *
 * Env: LAKE_ROOT (/lake/raw), MARTS_ROOT (/lake/marts), LAKE_TOPIC_PREFIX, WEBHDFS_URL,
 * HDFS_URL (fs.defaultFS for Spark; default: the stack's), KAFKA_* of cluster A (default: the
 * stack's secure cluster, user `analytics`).
 */
import { defaultStackDir, defineTask, flagInt, runMain, SERVICE_ENV } from "../../lib/env/mod.ts";
import { createKafka, KAFKA_ENV, secureKafkaConfigFromEnv } from "../../lib/kafka/mod.ts";
import { jobStatusDir, recordJobRun } from "../../lib/monitoring/mod.ts";
import {
  DEFAULT_MARTS_ROOT,
  PRINCIPALS,
  publishRecommendations,
  type RecommendationRow,
} from "../../lib/marketplace/mod.ts";
import { checkMaster, defaultMaster, requireSparkMaster, runSparkJobs } from "../../jobs/spark.ts";
import { readMart, runDuckDbJobs } from "../../jobs/duckdb.ts";
import { JOBS, MARTS, parseSince } from "../../jobs/marts.ts";
import {
  lakeLocationFromEnv,
  parseEngine,
  requireWebHdfs,
  sparkDefaultFs,
} from "../../jobs/engine.ts";
import { applyPlatformConfig } from "../../lib/marketplace/mod.ts";

const SPEC = defineTask({
  task: "final:analytics",
  summary:
    "The analytics jobs of jobs/*.sql over the lake (DuckDB or Spark): marts written as Parquet under MARTS_ROOT, recommendations published to cluster A.",
  flags: {
    engine: {
      type: "string",
      default: "duckdb",
      valueName: "ENGINE",
      description: "duckdb or spark",
    },
    since: {
      type: "string",
      default: "all days",
      valueName: "YYYY-MM-DD",
      description: "replace daily marts from this day on",
    },
    master: {
      type: "string",
      default: "the stack's Spark master when it runs one, else local[2]",
      valueName: "URL",
      description: "Spark master URL: local[N], spark://host:port, yarn",
    },
    "no-publish": { type: "boolean", description: "do not publish the recommendations" },
    top: {
      type: "string",
      default: "5",
      valueName: "N",
      description: "rows of each mart to print",
    },
  },
  env: {
    ...KAFKA_ENV,
    ...SERVICE_ENV.webhdfs,
    LAKE_ROOT: { description: "HDFS folder of the raw zone", default: "/lake/raw" },
    MARTS_ROOT: { description: "HDFS folder of the marts", default: DEFAULT_MARTS_ROOT },
    LAKE_TOPIC_PREFIX: { description: "prefix of the topic names", default: "" },
    HDFS_URL: { description: "fs.defaultFS for Spark", default: "the stack's" },
  },
  examples: [
    "deno task final:analytics",
    "deno task final:analytics --engine spark --no-publish",
    "deno task final:analytics --engine spark --master spark://spark-master:7077",
  ],
});

await runMain(async (cli) => {
  applyPlatformConfig("analytics");
  const flags = cli;
  const engine = parseEngine(flags.values.engine);
  const since = parseSince(flags.values.since);
  const master = checkMaster(flags.values.master ?? defaultMaster());
  if (engine === "spark") await requireSparkMaster(master);
  const top = flagInt(flags, "top", 5);
  const hdfs = await requireWebHdfs();
  const location = lakeLocationFromEnv();
  const started = performance.now();
  const stamp = () => `${((performance.now() - started) / 1000).toFixed(1)}s`;
  console.error(
    `final:analytics on ${engine === "spark" ? `spark (${master})` : engine}${
      since ? ` since ${since}` : ""
    }: ${JOBS.length} jobs`,
  );
  // Every run leaves a status file per engine for the platform exporter
  // (analytics_last_run_success, analytics_last_success_timestamp_seconds → the alerts).
  const statusDir = jobStatusDir(defaultStackDir());
  const job = `final-analytics-${engine}`;
  let run: Awaited<ReturnType<typeof runDuckDbJobs>>;
  try {
    run = engine === "duckdb"
      ? await runDuckDbJobs({
        hdfs,
        since,
        ...location,
        onJob: (name, done, total) =>
          console.error(
            `  [${"#".repeat(done).padEnd(total, ".")}] ${done}/${total} ${name} (${stamp()})`,
          ),
      })
      : await runSparkJobs({
        hdfs,
        since,
        master,
        defaultFs: sparkDefaultFs(),
        ...location,
        onMart: (name, rows) => console.error(`  ${name}: ${rows} rows (${stamp()})`),
      });
  } catch (err) {
    await recordJobRun(statusDir, { job, ok: false, error: (err as Error).message })
      .catch(() => {});
    throw err;
  }
  await recordJobRun(statusDir, {
    job,
    ok: true,
    rows: run.marts.reduce((n, m) => n + m.rows, 0),
  }).catch((err) => console.error(`could not record the run's status: ${err.message}`));
  console.log(
    `${engine}: ${MARTS.length} marts in ${run.seconds.toFixed(1)} s → ${location.martsRoot}`,
  );
  for (const m of run.marts) {
    console.log(`\n${m.name}: ${m.rows} rows (${m.seconds.toFixed(2)} s)`);
    const rows = await readMart(hdfs, m.name, location.martsRoot);
    if (rows.length) console.table(rows.slice(0, top));
  }
  if (!flags.booleans["no-publish"]) {
    const rows = await readMart(hdfs, "recommendations", location.martsRoot);
    const kafka = createKafka(
      secureKafkaConfigFromEnv(PRINCIPALS.analytics, { clientId: "final-analytics" }),
    );
    const users = await publishRecommendations(kafka, rows as unknown as RecommendationRow[], {
      model: `${engine}:recommendations`,
    });
    console.log(`\npublished recommendations for ${users} users to topic 'recommendations'`);
  }
}, SPEC);
