/**
 * A timestamp reader that is not the system under test: {@linkcode watchArrivals} follows a
 * topic with a kafkajs consumer (read_committed, a group of its own, from where the topic
 * stood when it started) and notes, for every record `match` recognises, the wall-clock time
 * the batch holding it reached the reader. Latency hops of the benches are `arrival − sent`.
 *
 * The reader polls with a short wait (`maxWaitTimeInMs` 50), so an arrival is late by at most
 * that plus a fetch's round trip.
 *
 * @example
 * ```ts
 * import { watchArrivals } from "./arrivals.ts";
 * const w = await watchArrivals(kafkaB, "user-events", (key) => key?.startsWith("bench-") ? key : undefined);
 * // … produce …
 * console.log(w.arrivals.size);
 * await w.stop();
 * ```
 * @module
 */
import type { Kafka, KafkaMessage } from "kafkajs";

/** What {@linkcode watchArrivals} found so far, until stopped. */
export interface ArrivalWatch {
  /** Record id (as `match` named it) → epoch ms of its arrival at the reader (first seen). */
  arrivals: Map<string, number>;
  /** Kafka timestamp (ms) of each matched record, by id. */
  timestamps: Map<string, number>;
  stop: () => Promise<void>;
}

/** The id of a record to watch, or undefined to skip it. */
export type ArrivalMatch = (key: string | null, message: KafkaMessage) => string | undefined;

/** Follows `topic` from its current end; resolves once the reader has joined and is placed. */
export async function watchArrivals(
  kafka: Kafka,
  topic: string,
  match: ArrivalMatch,
): Promise<ArrivalWatch> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const consumer = kafka.consumer({
    groupId: `bench-reader-${crypto.randomUUID()}`,
    maxWaitTimeInMs: 50,
    readUncommitted: false,
  });
  const arrivals = new Map<string, number>(), timestamps = new Map<string, number>();
  await consumer.connect();
  const joined = new Promise<void>((resolve) =>
    consumer.on(consumer.events.GROUP_JOIN, () => resolve())
  );
  await consumer.subscribe({ topic, fromBeginning: false });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const now = Date.now();
      for (const m of batch.messages) {
        const id = match(m.key?.toString() ?? null, m);
        if (id === undefined || arrivals.has(id)) continue;
        arrivals.set(id, now);
        timestamps.set(id, Number(m.timestamp));
      }
      await Promise.resolve();
    },
  });
  for (const p of ends) consumer.seek({ topic, partition: p.partition, offset: p.offset });
  await joined;
  return {
    arrivals,
    timestamps,
    stop: async () => {
      await consumer.disconnect().catch(() => {});
    },
  };
}
