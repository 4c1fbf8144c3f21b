/**
 * Counting a platform run's own records: on Kafka from the offsets the run started at (read to
 * the topics' ends with `readTopicRange`, read_committed), in the lake by the cluster-B offsets
 * its rows carry — each filtered to this run's product ids, user ids and request ids, so a
 * second run, or other writers on the same stack, still reconcile.
 *
 * @example
 * ```ts
 * import { countOf, readSince } from "./records.ts";
 * const seen = await readSince(kafka, { products: since.products }, (r) => r.key === "p-1");
 * console.log(countOf(seen, "products"));
 * ```
 * @module
 */
import type { Kafka } from "kafkajs";
import {
  type PartitionOffsets,
  readTopicRange,
  type TopicOffsets,
  type TopicRecord,
} from "../../kafka/mod.ts";
import { parseFileName, type WebHdfs } from "../../lake/mod.ts";
import { parquetRows } from "../marts.ts";
import { TOPICS } from "../topology.ts";

/** A record as the platform's checks read it: key and value as text. */
export interface Seen {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
}

/** The key and value of a record or lake row, for telling this run's from others'. */
export type RunRecord = Pick<Seen, "key" | "value">;

const decoder = new TextDecoder();

function seen(r: TopicRecord): Seen {
  return {
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    key: r.key ? decoder.decode(r.key) : null,
    value: r.value ? decoder.decode(r.value) : null,
  };
}

/**
 * Reads every record of the topics of `from` from the given offsets to the ends they have now
 * (read_committed, a throw-away group); the ones `keep` accepts.
 */
export async function readSince(
  kafka: Kafka,
  from: TopicOffsets,
  keep: (r: Seen) => boolean,
): Promise<Seen[]> {
  const records = await readTopicRange(kafka, {
    topics: Object.keys(from),
    from,
    keep: (r) => keep(seen(r)),
    groupId: `platform-check-${crypto.randomUUID()}`,
    timeoutMs: 90_000,
  });
  return records.map(seen);
}

/** How many of `records` are of `topic`. */
export function countOf(records: readonly Seen[], topic: string): number {
  return records.filter((r) => r.topic === topic).length;
}

/** This run's ids, by which its records are told from others'. */
export interface RunIds {
  productIds: ReadonlySet<string>;
  userIds: ReadonlySet<string>;
  requestIds: ReadonlySet<string>;
}

/**
 * Whether a record of `topic` is this run's: products by product id (the key), user events by
 * user id (in the value), requests and responses by request id (the key).
 */
export function ofRun(ids: RunIds, topic: string): (r: RunRecord) => boolean {
  return (r) => {
    if (topic === TOPICS.products) return ids.productIds.has(r.key ?? "");
    if (topic === TOPICS.userEvents) {
      try {
        return ids.userIds.has(JSON.parse(r.value ?? "{}").user_id);
      } catch {
        return false;
      }
    }
    return ids.requestIds.has(r.key ?? "");
  };
}

/**
 * Rows of this run in a lake topic: files whose offset range reaches the run's first cluster-B
 * offset, rows with `_offset` from there on that `keep` accepts (read with parquet-wasm).
 */
export async function lakeRows(
  hdfs: WebHdfs,
  topic: string,
  from: PartitionOffsets,
  keep: (r: RunRecord) => boolean,
): Promise<number> {
  const files = await hdfs.walk(`/lake/raw/${topic}`).catch(() => []);
  let n = 0;
  for (const f of files) {
    if (f.path.includes("/_tmp/")) continue;
    const parsed = parseFileName(f.path.split("/").pop()!);
    if (!parsed || Number(parsed.last) < (from[parsed.partition] ?? 0)) continue;
    const { rows } = parquetRows(await hdfs.read(f.path));
    for (const row of rows) {
      if (Number(row._offset) < (from[Number(row._partition)] ?? 0)) continue;
      const key = String((topic === TOPICS.products ? row.product_id : row.request_id) ?? "");
      if (keep({ key, value: JSON.stringify(row) })) n++;
    }
  }
  return n;
}
