/**
 * What the analytics tasks (`final:analytics`, `final:evaluate`) share before an engine runs:
 * the `--engine` flag checked, HDFS reached (or one line saying what to start), where the lake
 * and the marts are (LAKE_ROOT, MARTS_ROOT, LAKE_TOPIC_PREFIX), and HDFS as Spark names it
 * (HDFS_URL, else the stack's NameNode).
 *
 * @example
 * ```ts
 * import { lakeLocationFromEnv, parseEngine, requireWebHdfs } from "./engine.ts";
 * const engine = parseEngine("spark");
 * const hdfs = await requireWebHdfs();
 * console.log(engine, lakeLocationFromEnv().martsRoot, await hdfs.list("/"));
 * ```
 * @module
 */
import { envString, localEndpoints, ServiceUnreachableError, STACK_PORTS } from "../lib/env/mod.ts";
import { ConfigError } from "../lib/env/mod.ts";
import { WebHdfs } from "../lib/lake/mod.ts";
import { DEFAULT_MARTS_ROOT } from "../lib/marketplace/mod.ts";
import type { LakeLocation } from "./marts.ts";

/** The engines the jobs run on. */
export type Engine = "duckdb" | "spark";

/** Checks a `--engine` value (default duckdb). */
export function parseEngine(raw: string | undefined): Engine {
  const engine = raw ?? "duckdb";
  if (engine !== "duckdb" && engine !== "spark") {
    throw new ConfigError(
      `Cannot use --engine as it must be duckdb or spark: current value is '${engine}'`,
    );
  }
  return engine;
}

/**
 * A WebHDFS client (WEBHDFS_URL, else the stack's) whose NameNode answers; otherwise a
 * {@linkcode ServiceUnreachableError} naming what to start.
 */
export async function requireWebHdfs(): Promise<WebHdfs> {
  const hdfs = new WebHdfs();
  try {
    await hdfs.list("/");
  } catch (err) {
    throw new ServiceUnreachableError(
      "HDFS NameNode (WebHDFS)",
      hdfs.url,
      "`deno task stack up --hdfs`, or set WEBHDFS_URL",
      { cause: err },
    );
  }
  return hdfs;
}

/** Where the lake and the marts are: LAKE_ROOT, MARTS_ROOT, LAKE_TOPIC_PREFIX. */
export function lakeLocationFromEnv(): Required<LakeLocation> {
  return {
    root: envString("LAKE_ROOT", "/lake/raw"),
    martsRoot: envString("MARTS_ROOT", DEFAULT_MARTS_ROOT),
    prefix: envString("LAKE_TOPIC_PREFIX", ""),
  };
}

/** HDFS as Spark names it (fs.defaultFS): HDFS_URL, else the stack's NameNode. */
export function sparkDefaultFs(): string {
  const stack = localEndpoints().hdfsUrl as string | undefined;
  return envString("HDFS_URL", stack ?? `hdfs://localhost:${STACK_PORTS.hdfsRpc}`);
}
