/**
 * Two engines, one answer: a generated activity set written straight into a lake on HDFS
 * (bypassing Kafka) for the jobs to read, and a row-for-row comparison of the marts two runs
 * committed. `bench:analytics` and the suite's Spark parity test
 * (`tests/integration/spark_parity_test.ts`) share it.
 *
 * The lake has the layout the lake sink writes (`<root>/<topic>/dt=…/hour=…/`, files named by
 * their offset range), files of up to `rowsPerFile` rows placed by their first record's hour.
 * Marts are equal when they have the same rows in the same key order, the same columns, equal
 * values, and numbers within a relative 1e-6 (the engines sum floating point in other orders).
 *
 * @example
 * ```ts
 * import { diffMarts, writeActivityLake } from "./parity.ts";
 * await writeActivityLake(hdfs, "/parity/raw", generateActivity({ users: 200 }));
 * // … run the jobs twice, into /parity/marts-a and /parity/marts-b …
 * const diffs = await diffMarts(hdfs, "/parity/marts-a", "/parity/marts-b");
 * ```
 * @module
 */
import {
  createParquetBuffer,
  fileName,
  type ParquetBuffer,
  partitionFolder,
  WebHdfs,
} from "../lib/lake/mod.ts";
import { type Activity, FINAL_LAKE_TABLES, flattenProduct } from "../lib/marketplace/mod.ts";
import { readMart } from "./duckdb.ts";
import { MARTS } from "./marts.ts";

/** Rows written per lake topic by {@linkcode writeActivityLake}. */
export type LakeCounts = Record<string, number>;

/**
 * Writes an activity set into a lake under `root` (one folder per topic of the final lake), as
 * Parquet files of up to `rowsPerFile` rows. Returns the rows written per topic.
 */
export async function writeActivityLake(
  hdfs: WebHdfs,
  root: string,
  data: Activity,
  { rowsPerFile = 200_000 }: { rowsPerFile?: number } = {},
): Promise<LakeCounts> {
  const rows: Record<string, Record<string, unknown>[]> = {
    products: data.products.map((p) => flattenProduct(p)),
    "user-events": data.events as unknown as Record<string, unknown>[],
    "user-requests": data.requests as unknown as Record<string, unknown>[],
    "user-responses": data.responses as unknown as Record<string, unknown>[],
  };
  const counts: LakeCounts = {};
  for (const t of FINAL_LAKE_TABLES) {
    const list = rows[t.topic] ?? [];
    const time = (r: Record<string, unknown>) =>
      Date.parse(String(r.at ?? r.updated_at ?? new Date().toISOString()));
    for (let start = 0; start < list.length; start += rowsPerFile) {
      const chunk = list.slice(start, start + rowsPerFile);
      const buf: ParquetBuffer = await createParquetBuffer("parquet-wasm", t.columns);
      chunk.forEach((r, i) =>
        buf.append(r, { partition: 0, offset: BigInt(start + i), timestamp: time(r) })
      );
      const folder = partitionFolder(root, t.topic, time(chunk[0]));
      await hdfs.mkdirs(folder);
      await hdfs.write(
        `${folder}/${fileName(t.topic, 0, BigInt(start), BigInt(start + chunk.length - 1))}`,
        await buf.encode(),
      );
    }
    counts[t.topic] = list.length;
  }
  return counts;
}

/** How two runs' copies of one mart compare. */
export interface MartDiff {
  /** The mart. */
  mart: string;
  /** Rows of the first run's mart. */
  rows: number;
  /** Rows of the second run's. */
  otherRows: number;
  /** What differs, one line each (at most `limit`); empty when the marts are equal. */
  differences: string[];
}

/** Whether two values of a mart cell are equal: numbers within a relative `tolerance`. */
export function sameValue(a: unknown, b: unknown, tolerance = 1e-6): boolean {
  if (typeof a === "number" && typeof b === "number") {
    return Math.abs(a - b) <= tolerance * Math.max(1, Math.abs(a), Math.abs(b));
  }
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * What differs between two copies of a mart (rows as {@linkcode readMart} returns them, in key
 * order): the row counts, then each row's columns and values, up to `limit` lines.
 */
export function diffRows(
  mart: string,
  a: Record<string, unknown>[],
  b: Record<string, unknown>[],
  { tolerance = 1e-6, limit = 10 }: { tolerance?: number; limit?: number } = {},
): string[] {
  const out: string[] = [];
  if (a.length !== b.length) out.push(`${mart}: ${a.length} rows ≠ ${b.length} rows`);
  for (let i = 0; i < Math.min(a.length, b.length) && out.length < limit; i++) {
    const ka = Object.keys(a[i]).sort(), kb = Object.keys(b[i]).sort();
    if (JSON.stringify(ka) !== JSON.stringify(kb)) {
      out.push(`${mart}: columns [${ka}] ≠ [${kb}]`);
      break;
    }
    for (const k of ka) {
      if (!sameValue(a[i][k], b[i][k], tolerance)) {
        out.push(
          `${mart}[${i}].${k}: ${JSON.stringify(a[i][k])} ≠ ${JSON.stringify(b[i][k])} (row ${
            JSON.stringify(a[i])
          })`,
        );
        if (out.length >= limit) break;
      }
    }
  }
  return out;
}

/** Compares every mart of {@linkcode MARTS} under two marts roots on HDFS, row for row. */
export async function diffMarts(
  hdfs: WebHdfs,
  martsRoot: string,
  otherRoot: string,
  options: { tolerance?: number; limit?: number } = {},
): Promise<MartDiff[]> {
  const out: MartDiff[] = [];
  for (const m of MARTS) {
    const a = await readMart(hdfs, m.name, martsRoot);
    const b = await readMart(hdfs, m.name, otherRoot);
    out.push({
      mart: m.name,
      rows: a.length,
      otherRows: b.length,
      differences: diffRows(m.name, a, b, options),
    });
  }
  return out;
}
