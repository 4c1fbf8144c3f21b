/**
 * Private helper of the streams runtime: splitting a transaction's records into produce
 * requests the brokers accept.
 * @module
 */
import { Buffer } from "node:buffer";
import type { Message } from "kafkajs";

/** Largest payload of one sendBatch call, in bytes (estimated). */
export const CHUNK_BYTES = 8 * 1024 * 1024;
/** Largest share of one partition in one payload (a record batch), in bytes (estimated). */
export const PARTITION_CHUNK_BYTES = 900 * 1024;

/**
 * Splits messages into sendBatch payloads grouped by topic. kafkajs writes one record batch
 * per partition and a broker refuses a batch above the topic's max.message.bytes (1 MiB by
 * default), so each payload holds at most ~900 KiB per partition (a single larger record goes
 * alone) and 8 MiB in all; partitions are chosen here, with kafkajs' default partitioner.
 */
export function chunks(
  messages: { topic: string; message: Message }[],
  partitionOf: (topic: string, message: Message) => number,
): { topic: string; messages: Message[] }[][] {
  const out: { topic: string; messages: Message[] }[][] = [];
  let current = new Map<string, Message[]>();
  let perPartition = new Map<string, number>();
  let total = 0;
  const flush = () => {
    if (current.size === 0) return;
    out.push([...current].map(([topic, messages]) => ({ topic, messages })));
    current = new Map();
    perPartition = new Map();
    total = 0;
  };
  for (const { topic, message } of messages) {
    const partition = message.partition ?? partitionOf(topic, message);
    const m = message.partition === partition ? message : { ...message, partition };
    let size = sizeOf(m.value) + sizeOf(m.key) + 24;
    for (const [k, v] of Object.entries(m.headers ?? {})) size += k.length + sizeOf(v) + 8;
    const bucket = `${topic}:${partition}`;
    const used = perPartition.get(bucket) ?? 0;
    if (
      (used > 0 && used + size > PARTITION_CHUNK_BYTES) || (total > 0 && total + size > CHUNK_BYTES)
    ) {
      flush();
    }
    const list = current.get(topic) ?? [];
    list.push(m);
    current.set(topic, list);
    perPartition.set(bucket, (perPartition.get(bucket) ?? 0) + size);
    total += size;
  }
  flush();
  return out;
}

export function sizeOf(v: unknown): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === "string") return Buffer.byteLength(v, "utf8");
  return (v as Uint8Array).byteLength ?? 0;
}
