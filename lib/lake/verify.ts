/**
 * Verification of a lake topic by readers no one here wrote: the topic's folder is copied
 * from HDFS over WebHDFS (layout kept), then DuckDB and pyarrow (pinned, in a cached venv)
 * read it through `verify_lake.py`: rows, duplicates, partition folders against record
 * times, column types, and file names against the offsets inside.
 *
 * @example
 * ```ts
 * import { verifyLakeTopic } from "./verify.ts";
 * const report = await verifyLakeTopic(hdfs, "/lake/raw", "orders");
 * console.log(report.rows, report.distinct_offsets);
 * ```
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PYTHON_PACKAGES, pythonEnv } from "../stack/mod.ts";
import { run } from "../stack/mod.ts";
import type { WebHdfs } from "./webhdfs.ts";

/** What `verify_lake.py` reports. */
export interface LakeReport {
  rows: number;
  distinct_offsets: number;
  distinct_order_ids: number;
  duckdb_types: Record<string, string>;
  pyarrow_types: Record<string, string>;
  wrong_folder: number;
  partitions: Record<string, { rows: number; min: number; max: number }>;
  files: number;
  file_ranges_end: Record<string, number>;
  range_gaps_or_overlaps: number;
  bad_files: string[];
  dlq_in_parquet?: number;
  dlq?: number;
}

/** Copies `<root>/<topic>` (without `_tmp`) to a local folder; returns how many files. */
export async function copyLakeTopic(
  hdfs: WebHdfs,
  root: string,
  topic: string,
  target: string,
): Promise<number> {
  const base = `${root.replace(/\/$/, "")}/${topic}`;
  const files = (await hdfs.walk(base)).filter((f) => !f.path.includes("/_tmp/"));
  let i = 0;
  const worker = async () => {
    while (i < files.length) {
      const f = files[i++];
      const local = join(target, f.path.slice(base.length + 1));
      await Deno.mkdir(join(local, ".."), { recursive: true });
      await Deno.writeFile(local, await hdfs.read(f.path));
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return files.length;
}

/** Copies a topic's lake folder and checks it with DuckDB and pyarrow. */
export async function verifyLakeTopic(
  hdfs: WebHdfs,
  root: string,
  topic: string,
  dlqOffsets: [number, number][] = [],
): Promise<LakeReport> {
  const tmp = await Deno.makeTempDir({ prefix: `lake-verify-${topic}-` });
  try {
    await copyLakeTopic(hdfs, root, topic, join(tmp, "data"));
    const py = await pythonEnv("lake-check", [PYTHON_PACKAGES.pyarrow, PYTHON_PACKAGES.duckdb]);
    const args = [
      fileURLToPath(new URL("./verify_lake.py", import.meta.url)),
      join(tmp, "data"),
      topic,
    ];
    if (dlqOffsets.length) {
      await Deno.writeTextFile(join(tmp, "dlq.json"), JSON.stringify(dlqOffsets));
      args.push(join(tmp, "dlq.json"));
    }
    const out = await run(py.python, args, { what: "verify_lake.py (DuckDB + pyarrow)" });
    return JSON.parse(out.trim().split("\n").pop()!);
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}
