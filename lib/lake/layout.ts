/**
 * Where the lake puts things: Hive-style partition folders by the Kafka record's time (UTC)
 * and file names that carry the topic, partition and the offset range they hold, as
 * Confluent's HDFS connector names them (`<topic>+<partition>+<first>+<last>.parquet`,
 * offsets zero-padded so names sort by offset).
 *
 * @example
 * ```ts
 * import { partitionFolder, fileName, parseFileName } from "./layout.ts";
 * partitionFolder("/lake/raw", "orders", Date.UTC(2025, 0, 2, 3)); // "/lake/raw/orders/dt=2025-01-02/hour=03"
 * fileName("orders", 0, 0n, 99n); // "orders+0+00000000000000000000+00000000000000000099.parquet"
 * parseFileName("orders+0+00000000000000000000+00000000000000000099.parquet"); // { topic, partition: 0, first: 0n, last: 99n }
 * ```
 * @module
 */

/** The partition folder of a record with Kafka timestamp `timestampMs`. */
export function partitionFolder(root: string, topic: string, timestampMs: number): string {
  const d = new Date(timestampMs);
  if (!Number.isFinite(d.getTime())) {
    throw new RangeError(`Cannot place a record with timestamp ${timestampMs} in the lake`);
  }
  const dt = d.toISOString().slice(0, 10);
  const hour = String(d.getUTCHours()).padStart(2, "0");
  return `${root.replace(/\/$/, "")}/${topic}/dt=${dt}/hour=${hour}`;
}

const pad = (n: bigint) => n.toString().padStart(20, "0");

/** Name of the file holding offsets `first`..`last` (inclusive) of a partition. */
export function fileName(topic: string, partition: number, first: bigint, last: bigint): string {
  return `${topic}+${partition}+${pad(first)}+${pad(last)}.parquet`;
}

/** What a lake file name says, or undefined when it is not one. */
export interface ParsedFileName {
  topic: string;
  partition: number;
  first: bigint;
  last: bigint;
}

/** Parses a name made by {@linkcode fileName}. */
export function parseFileName(name: string): ParsedFileName | undefined {
  const m = name.match(/^([A-Za-z0-9._-]+)\+(\d+)\+(\d{20})\+(\d{20})\.parquet$/);
  if (!m) return undefined;
  return { topic: m[1], partition: Number(m[2]), first: BigInt(m[3]), last: BigInt(m[4]) };
}

/** Folder of files being written (ignored by readers: its name starts with `_`). */
export function tempFolder(root: string, topic: string): string {
  return `${root.replace(/\/$/, "")}/${topic}/_tmp`;
}
