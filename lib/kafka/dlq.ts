/**
 * Dead-letter topics: a record that cannot be decoded or validated is written, bytes
 * unchanged, to `<topic>.dlq` with headers naming the error, stage, source topic, partition
 * and offset, so nothing is lost and the pipeline keeps running.
 *
 * @example
 * ```ts
 * import { DeadLetters } from "./dlq.ts";
 * const dlq = new DeadLetters(producer);
 * await dlq.publish({ topic: "orders", partition: 0, offset: "42", key: null, value: bytes }, "bad JSON", "decode");
 * ```
 * @module
 */
import type { IHeaders, Producer } from "kafkajs";

/** Name of the dead-letter topic of a topic. */
export function dlqTopic(topic: string): string {
  return `${topic}.dlq`;
}

/** Header names written on dead letters. */
export const DLQ_HEADERS = {
  error: "dlq.error",
  stage: "dlq.stage",
  topic: "dlq.source.topic",
  partition: "dlq.source.partition",
  offset: "dlq.source.offset",
  timestamp: "dlq.timestamp",
} as const;

/** The source record of a dead letter. */
export interface SourceRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | Uint8Array | null;
  value: Buffer | Uint8Array | null;
  headers?: IHeaders;
}

/** Builds the dead-letter message for a source record. */
export function deadLetter(record: SourceRecord, error: string, stage: string) {
  return {
    key: record.key ? Buffer.from(record.key) : null,
    value: record.value ? Buffer.from(record.value) : null,
    headers: {
      ...(record.headers ?? {}),
      [DLQ_HEADERS.error]: error.slice(0, 4000),
      [DLQ_HEADERS.stage]: stage,
      [DLQ_HEADERS.topic]: record.topic,
      [DLQ_HEADERS.partition]: String(record.partition),
      [DLQ_HEADERS.offset]: record.offset,
      [DLQ_HEADERS.timestamp]: new Date().toISOString(),
    },
  };
}

/** Publishes dead letters with an idempotent producer (acks=all). */
export class DeadLetters {
  constructor(readonly producer: Producer) {}

  /** Writes one dead letter and waits for the broker's acknowledgement. */
  async publish(record: SourceRecord, error: string, stage: string): Promise<void> {
    await this.producer.send({
      topic: dlqTopic(record.topic),
      acks: -1,
      messages: [deadLetter(record, error, stage)],
    });
  }
}
