/**
 * The two commit strategies of a partition's batch. Exactly-once: outputs, changelog records,
 * dead letters and the consumed offset in ONE transaction of the partition's producer.
 * At-least-once: outputs acknowledged first, then the offset committed by the consumer.
 * @module
 */
import type { Consumer, Message, Producer } from "kafkajs";
import { chunks } from "./_chunks.ts";
import { sleep } from "../env/mod.ts";

/** Where a batch came from and the offset to commit after it. */
export interface BatchPosition {
  group: string;
  topic: string;
  partition: number;
  nextOffset: bigint;
}

/** Picks the partition of an output message. */
export type PartitionOf = (topic: string, message: Message) => number;

/** Writes `messages` and the offset in one transaction; aborts and rethrows on any failure. */
export async function commitTransaction(
  producer: Producer,
  at: BatchPosition,
  messages: { topic: string; message: Message }[],
  partitionOf: PartitionOf,
  delayBeforeCommitMs = 0,
): Promise<void> {
  const txn = await producer.transaction();
  try {
    for (const chunk of chunks(messages, partitionOf)) {
      for (const single of onePartitionEach(chunk)) {
        await txn.sendBatch({ acks: -1, topicMessages: [single] });
      }
    }
    if (delayBeforeCommitMs > 0) await sleep(delayBeforeCommitMs, "fault injection: crash window");
    await txn.sendOffsets({
      consumerGroupId: at.group,
      topics: [{
        topic: at.topic,
        partitions: [{ partition: at.partition, offset: String(at.nextOffset) }],
      }],
    });
    await txn.commit();
  } catch (err) {
    await txn.abort().catch(() => {});
    throw err;
  }
}

/**
 * A payload split into one per partition (messages keep their order). In a transaction every
 * sendBatch goes to one broker: kafkajs 2.2.4 sends a payload that spans brokers as parallel
 * requests, and when one fails (e.g. CONCURRENT_TRANSACTIONS on AddPartitionsToTxn) it retries
 * before the others have answered, sending the records of a broker whose write is still in
 * flight again, with new sequence numbers — both copies then commit with the transaction (the
 * demo once counted 48 products for 37 sent). A one-partition request is retried only after it
 * failed.
 */
export function onePartitionEach(
  chunk: { topic: string; messages: Message[] }[],
): { topic: string; messages: Message[] }[] {
  const out: { topic: string; messages: Message[] }[] = [];
  for (const { topic, messages } of chunk) {
    const byPartition = new Map<number, Message[]>();
    for (const m of messages) {
      const list = byPartition.get(m.partition!) ?? [];
      list.push(m);
      byPartition.set(m.partition!, list);
    }
    for (const list of byPartition.values()) out.push({ topic, messages: list });
  }
  return out;
}

/** Writes `messages` (acks=all), then commits the offset: a crash repeats, never loses. */
export async function commitAtLeastOnce(
  producer: Producer,
  consumer: Consumer,
  at: BatchPosition,
  messages: { topic: string; message: Message }[],
  partitionOf: PartitionOf,
  delayBeforeCommitMs = 0,
): Promise<void> {
  for (const chunk of chunks(messages, partitionOf)) {
    await producer.sendBatch({ acks: -1, topicMessages: chunk });
  }
  if (delayBeforeCommitMs > 0) await sleep(delayBeforeCommitMs, "fault injection: crash window");
  await consumer.commitOffsets([
    { topic: at.topic, partition: at.partition, offset: String(at.nextOffset) },
  ]);
}
