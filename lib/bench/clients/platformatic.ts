/**
 * @platformatic/kafka runners (pure JavaScript, Node ≥ 22.22 by its engines field; runs under
 * Deno 2.9). Idempotent: it forces acks=all and one request in flight per connection.
 *
 * @module
 */
import {
  Consumer,
  type Message,
  Producer,
  stringDeserializers,
  stringSerializers,
} from "@platformatic/kafka";
import type { DrillProducer } from "../../stack/mod.ts";
import { sleep } from "../../env/mod.ts";
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

/**
 * @platformatic/kafka's idempotent producer (acks=all) as lib/stack's `DrillProducer`, for
 * `deno task soak --client platformatic`: a candidate client is kept only if it passes the
 * broker drills as the project's producer does. The drill's 30 records go in one `send()`, so
 * they are acknowledged or failed together; keys are partitioned by the client (murmur2).
 */
export function platformaticDrillProducer(bootstrap: string): DrillProducer {
  let producer: Producer<string, string, string, string> | undefined;
  const open = () =>
    producer ??= new Producer({
      clientId: "drill-platformatic",
      bootstrapBrokers: bootstrap.split(","),
      idempotent: true,
      acks: -1,
      serializers: stringSerializers,
    });
  return {
    connect: async () => {
      await open().metadata({ topics: [] });
    },
    sendAll: async (topic, records) => {
      try {
        await open().send({ messages: records.map((r) => ({ topic, ...r })) });
        return records.map(() => undefined);
      } catch (err) {
        return records.map(() => err as Error);
      }
    },
    disconnect: async () => {
      await producer?.close();
    },
  };
}

/** Options of {@linkcode platformaticCopier}. */
export interface CopierOptions {
  bootstrap: string;
  input: string;
  output: string;
  group: string;
  /** Stable across restarts, so that a new incarnation fences the one it replaces. */
  transactionalId: string;
  /** Most records per transaction. @default 500 */
  maxBatch?: number;
  /**
   * A pause between a transaction's writes and its commit (fault injection: a kill then lands
   * in an open transaction more often). @default 0
   */
  crashWindowMs?: number;
}

/**
 * A consume-transform-produce loop on @platformatic/kafka's transactions, the shape of the
 * project's exactly-once processors (lib/streams): each batch's copies and its consumed offsets
 * (`addConsumer` + `addOffset`, fenced by the group generation as KIP-447 has it) commit in
 * one transaction, each copy to its input's partition. Reads read_committed. A failed
 * transaction ends the process (exit 1): its records were already taken from the stream, so
 * only a restart from the committed offsets reads them again — a supervisor restarts it, as
 * `deno task soak:eos` does. Runs until killed.
 */
export async function platformaticCopier(o: CopierOptions): Promise<never> {
  const brokers = o.bootstrap.split(",");
  const consumer = new Consumer({
    clientId: "eos-copier",
    groupId: o.group,
    bootstrapBrokers: brokers,
    sessionTimeout: 6_000,
    rebalanceTimeout: 6_000,
    heartbeatInterval: 1_000,
    deserializers: stringDeserializers,
  });
  const producer = new Producer({
    clientId: "eos-copier",
    bootstrapBrokers: brokers,
    idempotent: true,
    transactionalId: o.transactionalId,
    // "No producer yet" in InitProducerId, as the protocol has it (KIP-360). Without these,
    // @platformatic/kafka 2.12.1 sends producer id 0 and epoch 0, which the coordinator of a
    // transactional id that ran before takes for a stale producer: PRODUCER_FENCED on every
    // restart (measured with `deno task soak:eos`).
    producerId: -1n,
    producerEpoch: -1,
    serializers: stringSerializers,
  });
  const stream = await consumer.consume({
    topics: [o.input],
    mode: "committed",
    fallbackMode: "earliest",
    autocommit: false,
  });
  const maxBatch = o.maxBatch ?? 500;
  type In = Message<string, string, string, string>;
  let batch: In[] = [];
  let busy = false;
  const flush = async () => {
    if (busy || batch.length === 0) return;
    busy = true;
    stream.pause();
    const records = batch;
    batch = [];
    try {
      const tx = await producer.beginTransaction();
      await tx.send({
        messages: records.map((m) => ({
          topic: o.output,
          key: m.key,
          value: m.value,
          partition: m.partition,
        })),
      });
      if (o.crashWindowMs) await sleep(o.crashWindowMs, "fault injection: crash window");
      await tx.addConsumer(consumer);
      const last = new Map<number, In>();
      for (const m of records) last.set(m.partition, m);
      for (const m of last.values()) await tx.addOffset(m);
      await tx.commit();
    } catch (err) {
      console.error(`copier: a transaction of ${records.length} failed, exiting: ${err}`);
      Deno.exit(1);
    }
    busy = false;
    stream.resume();
  };
  stream.on("data", (m: In) => {
    batch.push(m);
    if (batch.length >= maxBatch) flush();
  });
  stream.on("error", (err: Error) => {
    console.error(`copier: the consumer stream failed, exiting: ${err.message}`);
    Deno.exit(1);
  });
  setInterval(flush, 50);
  return await new Promise<never>(() => {});
}
