/**
 * kafkajs runners: the project's paths (PartitionedProducer, the eachBatch consumer) and kafkajs
 * tuned as far as it goes.
 *
 * @module
 */
import type { Kafka } from "kafkajs";
import { createKafka, PartitionedProducer } from "../../kafka/mod.ts";
import { type ConsumeJob, type ProduceJob, Tally } from "./types.ts";

const kafkaOf = (bootstrap: string): Kafka =>
  createKafka({ brokers: bootstrap.split(","), clientId: "bench", logLevel: "ERROR" });

/** The project's PartitionedProducer (one request in flight per partition, `batchSize`/request). */
export async function projectProducer(job: ProduceJob, batchSize: number): Promise<number> {
  const producer = new PartitionedProducer(kafkaOf(job.bootstrap), { lingerMs: 5, batchSize });
  await producer.connect();
  const window = batchSize * 6; // enough queued for every partition to fill its batches
  const t0 = performance.now();
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < job.records; i++) {
    pending.push(producer.send(job.topic, { value: job.value }));
    if (pending.length >= window) {
      await Promise.all(pending.splice(0));
      job.progress(i + 1);
    }
  }
  await Promise.all(pending);
  const seconds = (performance.now() - t0) / 1000;
  await producer.disconnect();
  return seconds;
}

/**
 * A bare idempotent kafkajs producer: per partition, `inFlight` sendBatch calls of `batch`
 * records outstanding at once; `maxInFlightRequests` on the connection is `inFlight` ×
 * partitions. With `inFlight` > 1 this is NOT failure-safe in kafkajs 2.2.4: a failed request
 * rewinds its partition's sequence while later ones are in flight (OUT_OF_ORDER_SEQUENCE, or
 * sequence numbers reused for other records), so it measures the happy path only.
 */
export async function kafkajsPipelined(
  job: ProduceJob,
  opts: { batch: number; inFlight: number },
): Promise<number> {
  const producer = kafkaOf(job.bootstrap).producer({
    idempotent: true,
    maxInFlightRequests: opts.inFlight * job.partitions,
  });
  await producer.connect();
  const messages = Array.from({ length: opts.batch }, () => ({ value: job.value }));
  let sent = 0;
  let acked = 0;
  const t0 = performance.now();
  const lane = async (partition: number) => {
    const mine = messages.map((m) => ({ ...m, partition }));
    while (sent < job.records) {
      const n = Math.min(opts.batch, job.records - sent);
      sent += n;
      await producer.sendBatch({
        acks: -1,
        topicMessages: [{ topic: job.topic, messages: n === opts.batch ? mine : mine.slice(0, n) }],
      });
      acked += n;
      job.progress(acked);
    }
  };
  const lanes: Promise<void>[] = [];
  for (let p = 0; p < job.partitions; p++) {
    for (let k = 0; k < opts.inFlight; k++) lanes.push(lane(p));
  }
  await Promise.all(lanes);
  const seconds = (performance.now() - t0) / 1000;
  await producer.disconnect();
  return seconds;
}

/** kafkajs consumer options of a run. */
export interface KafkajsConsumeOptions {
  mode: "batch" | "message" | "tuned";
}

/**
 * - `batch`: the project's batch path (practice 2's fetch settings, one awaited commit per batch);
 * - `message`: eachMessage with auto-commit;
 * - `tuned`: eachBatch, 3 partitions consumed concurrently, larger fetches, interval auto-commit.
 */
export async function kafkajsConsumer(
  job: ConsumeJob,
  opts: KafkajsConsumeOptions,
): Promise<number> {
  const tuned = opts.mode === "tuned";
  const consumer = kafkaOf(job.bootstrap).consumer({
    groupId: `bench-${opts.mode}-${Date.now().toString(36)}`,
    minBytes: tuned ? 1024 * 1024 : 64 * 1024,
    maxWaitTimeInMs: 100,
    maxBytesPerPartition: tuned ? 16 * 1024 * 1024 : 4 * 1024 * 1024,
    maxBytes: tuned ? 64 * 1024 * 1024 : 16 * 1024 * 1024,
  });
  await consumer.connect();
  await consumer.subscribe({ topic: job.topic, fromBeginning: true });
  const tally = new Tally(job.records);
  if (opts.mode === "batch") {
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        tally.add(batch.messages.length);
        await consumer.commitOffsets([{
          topic: job.topic,
          partition: batch.partition,
          offset: String(Number(batch.lastOffset()) + 1),
        }]);
      },
    });
  } else if (opts.mode === "tuned") {
    await consumer.run({
      autoCommit: true,
      autoCommitInterval: 1000,
      autoCommitThreshold: null,
      partitionsConsumedConcurrently: job.partitions,
      eachBatchAutoResolve: true,
      eachBatch: ({ batch }) => Promise.resolve(tally.add(batch.messages.length)),
    });
  } else {
    await consumer.run({ autoCommit: true, eachMessage: () => Promise.resolve(tally.add(1)) });
  }
  const seconds = await tally.done.promise;
  await consumer.disconnect();
  return seconds;
}
