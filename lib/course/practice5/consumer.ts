/**
 * Practice 5's consumer (the seed's `kafka-consumer`): reads Debezium's change events of users
 * and orders, decodes each against the change-event schema and hands it on. A record that is
 * not a change event goes, bytes unchanged, to `<topic>.dlq` with the reason in its headers; a
 * tombstone (the null value Debezium writes after a delete) is counted and skipped. At least
 * once: offsets are committed after the event (or its dead letter) is handled.
 *
 * @example
 * ```ts
 * import { ChangeEventConsumer } from "./consumer.ts";
 * const c = new ChangeEventConsumer({ kafka, topics: ["customers.public.users"], onEvent: console.log });
 * await c.start();
 * ```
 * @module
 */
import type { Consumer, Kafka, Producer } from "kafkajs";
import { DeadLetters, dlqTopic, ensureTopic } from "../../kafka/mod.ts";
import { type ChangeEvent, decodeChangeEvent } from "../../schemas/mod.ts";
import { counter } from "../../monitoring/mod.ts";

/** Options of a {@linkcode ChangeEventConsumer}. */
export interface ChangeEventConsumerOptions {
  kafka: Kafka;
  /** CDC topics to read. */
  topics: string[];
  /** Consumer group. @default "practice5-consumer" */
  group?: string;
  /** Start from the earliest offset when the group has none. @default false */
  fromBeginning?: boolean;
  /** Called with each valid change event. */
  onEvent: (
    event: ChangeEvent,
    where: { topic: string; partition: number; offset: string },
  ) => void;
  /** Called after a record was dead-lettered. */
  onDeadLetter?: (
    reason: string,
    where: { topic: string; partition: number; offset: string },
  ) => void;
}

const events = counter("practice5_change_events_total", "Change events consumed", ["table", "op"]);
const bad = counter("practice5_bad_messages_total", "Messages that were not change events (DLQ)");
const tombstones = counter("practice5_tombstones_total", "Tombstones skipped");

/** Consumes change events; malformed records go to the topic's DLQ. */
export class ChangeEventConsumer {
  readonly #consumer: Consumer;
  readonly #producer: Producer;
  /** Valid events handled, dead letters written, tombstones skipped. */
  readonly counts = { events: 0, deadLetters: 0, tombstones: 0 };

  constructor(readonly options: ChangeEventConsumerOptions) {
    const { kafka, group = "practice5-consumer" } = options;
    if (options.topics.length === 0) {
      throw new RangeError("Cannot consume as 'topics' must name at least one topic: it is empty");
    }
    this.#consumer = kafka.consumer({ groupId: group });
    this.#producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  }

  /** Connects, makes sure the DLQs exist, and starts consuming (returns once running). */
  async start(): Promise<void> {
    const { kafka, topics, fromBeginning = false } = this.options;
    const admin = kafka.admin();
    await admin.connect();
    try {
      for (const t of topics) {
        await ensureTopic(admin, { topic: dlqTopic(t), partitions: 1, replicationFactor: 1 });
      }
    } finally {
      await admin.disconnect();
    }
    await this.#producer.connect();
    const dlq = new DeadLetters(this.#producer);
    await this.#consumer.connect();
    for (const topic of topics) await this.#consumer.subscribe({ topic, fromBeginning });
    await this.#consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const where = { topic, partition, offset: message.offset };
        if (message.value === null) {
          this.counts.tombstones++;
          tombstones.inc();
          return;
        }
        let event: ChangeEvent;
        try {
          event = decodeChangeEvent(message.value);
        } catch (err) {
          const reason = (err as Error).message;
          await dlq.publish({ ...where, key: message.key, value: message.value }, reason, "decode");
          this.counts.deadLetters++;
          bad.inc();
          this.options.onDeadLetter?.(reason, where);
          return;
        }
        this.counts.events++;
        events.inc({ table: event.table, op: event.op });
        this.options.onEvent(event, where);
      },
    });
  }

  /** Stops consuming and disconnects. */
  async stop(): Promise<void> {
    await this.#consumer.disconnect().catch(() => {});
    await this.#producer.disconnect().catch(() => {});
  }
}
