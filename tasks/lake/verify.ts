/**
 * `deno task lake:verify <topic>` — copies `/lake/raw/<topic>` from HDFS and checks it with
 * DuckDB and pyarrow (pinned, installed once into a cached venv); prints their report.
 * Env: LAKE_ROOT (/lake/raw), WEBHDFS_URL (default: the local stack).
 */
import { ConfigError, defineTask, envString, runMain, SERVICE_ENV } from "../../lib/env/mod.ts";
import { verifyLakeTopic, WebHdfs } from "../../lib/lake/mod.ts";

const SPEC = defineTask({
  task: "lake:verify",
  summary:
    "Copies /lake/raw/<topic> from HDFS and checks it with DuckDB and pyarrow (pinned, in a cached venv); prints their report.",
  env: {
    ...SERVICE_ENV.webhdfs,
    LAKE_ROOT: { description: "HDFS folder of the raw zone", default: "/lake/raw" },
  },
  positionals: [
    { name: "TOPIC", description: "topic folder under LAKE_ROOT", required: true },
  ],
  examples: ["deno task lake:verify orders"],
});

await runMain(async (cli) => {
  const topic = cli.positional[0];
  if (!topic) throw new ConfigError("usage: deno task lake:verify <topic>");
  const report = await verifyLakeTopic(new WebHdfs(), envString("LAKE_ROOT", "/lake/raw"), topic);
  console.log(JSON.stringify(report, null, 2));
}, SPEC);
