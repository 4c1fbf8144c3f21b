/**
 * `deno task lake:verify <topic>` — copies `/lake/raw/<topic>` from HDFS and checks it with
 * DuckDB and pyarrow (pinned, installed once into a cached venv); prints their report.
 * Env: LAKE_ROOT (/lake/raw), WEBHDFS_URL (default: the local stack).
 */
import { ConfigError, envString, runMain } from "../../lib/env/mod.ts";
import { verifyLakeTopic, WebHdfs } from "../../lib/lake/mod.ts";

await runMain(async () => {
  const topic = Deno.args[0];
  if (!topic) throw new ConfigError("usage: deno task lake:verify <topic>");
  const report = await verifyLakeTopic(new WebHdfs(), envString("LAKE_ROOT", "/lake/raw"), topic);
  console.log(JSON.stringify(report, null, 2));
});
