/**
 * kafka-ts runners (pure TypeScript; its producer is always idempotent with acks=all and keeps
 * one request in flight per partition).
 *
 * @module
 */
import { createKafkaClient } from "kafka-ts";
import { type ConsumeJob, firstBroker, type ProduceJob, sendInLanes, Tally } from "./types.ts";

const clientOf = (bootstrap: string) =>
  createKafkaClient({ clientId: "bench-kafka-ts", bootstrapServers: [firstBroker(bootstrap)] });

/** `send()` calls of `perCall` records, `outstanding` at once, up to `maxBatchSize` per request. */
export async function kafkaTsProducer(
  job: ProduceJob,
  opts: { perCall: number; outstanding: number; maxBatchSize: number },
): Promise<number> {
  const producer = clientOf(job.bootstrap).createProducer({ maxBatchSize: opts.maxBatchSize });
  // kafka-ts 1.5 takes string values (UTF-8 encoded by it); the payload is ASCII, so same bytes.
  const value = job.value.toString("latin1");
  await producer.send([{ topic: job.topic, value, partition: 0 }]); // connect, init pid
  let next = 0;
  // The first record above counts: job.records - 1 go out in the timed lanes.
  const seconds = await sendInLanes(
    job,
    job.records - 1,
    opts.perCall,
    opts.outstanding,
    async (n) => {
      const messages = new Array(n);
      for (let i = 0; i < n; i++) {
        messages[i] = { topic: job.topic, value, partition: next++ % job.partitions };
      }
      await producer.send(messages);
    },
    1,
  );
  await producer.close();
  return seconds;
}

/** A group consumer from the earliest offsets (it commits after every onBatch). */
export async function kafkaTsConsumer(job: ConsumeJob): Promise<number> {
  const tally = new Tally(job.records);
  const consumer = await clientOf(job.bootstrap).startConsumer({
    groupId: `bench-kafka-ts-${Date.now().toString(36)}`,
    topics: [job.topic],
    fromTimestamp: -2n,
    minBytes: 1024 * 1024,
    maxWaitMs: 100,
    partitionMaxBytes: 16 * 1024 * 1024,
    onBatch: (messages) => Promise.resolve(tally.add(messages.length)),
  });
  const seconds = await tally.done.promise;
  await consumer.close();
  return seconds;
}
