/**
 * @platformatic/kafka runners (pure JavaScript, Node ≥ 22.22 by its engines field; runs under
 * Deno 2.9). Idempotent: it forces acks=all and one request in flight per connection.
 *
 * @module
 */
import { Consumer, Producer } from "@platformatic/kafka";
import { type ConsumeJob, type ProduceJob, sendInLanes, Tally } from "./types.ts";

/** `send()` calls of `perPartition` records for every partition, `outstanding` at once. */
export async function platformaticProducer(
  job: ProduceJob,
  opts: { perPartition: number; outstanding: number },
): Promise<number> {
  const producer = new Producer({
    clientId: "bench-platformatic",
    bootstrapBrokers: job.bootstrap.split(","),
    idempotent: true,
    acks: -1,
  });
  await producer.metadata({ topics: [job.topic] });
  const seconds = await sendInLanes(
    job,
    job.records,
    opts.perPartition * job.partitions,
    opts.outstanding,
    async (n) => {
      const messages = new Array(n);
      for (let i = 0; i < n; i++) {
        messages[i] = { topic: job.topic, value: job.value, partition: i % job.partitions };
      }
      await producer.send({ messages });
    },
  );
  await producer.close();
  return seconds;
}

/** A consumer stream from the earliest offsets, auto-commit every second. */
export async function platformaticConsumer(job: ConsumeJob): Promise<number> {
  const consumer = new Consumer({
    clientId: "bench-platformatic",
    groupId: `bench-platformatic-${Date.now().toString(36)}`,
    bootstrapBrokers: job.bootstrap.split(","),
    minBytes: 1024 * 1024,
    maxWaitTime: 100,
    maxBytesPerPartition: 16 * 1024 * 1024,
  });
  const stream = await consumer.consume({
    topics: [job.topic],
    mode: "earliest",
    autocommit: 1000,
  });
  const tally = new Tally(job.records);
  stream.on("data", () => tally.add(1));
  const seconds = await tally.done.promise;
  await stream.close();
  await consumer.close(true);
  return seconds;
}
