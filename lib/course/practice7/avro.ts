/**
 * Practice 7, task 1: a producer and a consumer of Avro users in the schema registry's wire
 * format. The producer registers (or finds) its schema version and prefixes each record with
 * the magic byte and the schema id; the consumer looks the writer's schema up by that id and
 * decodes into its own reader schema, so records written under an older compatible version
 * are read with the newer fields' defaults. Records that are not in the wire format, or whose
 * schema the registry does not know, go to `<topic>.dlq`.
 *
 * @example
 * ```ts
 * import { AvroUserProducer } from "./avro.ts";
 * const p = new AvroUserProducer(kafka, registry, { schema: USER_AVRO_V2 });
 * await p.connect();
 * await p.send({ name: "Ann", favorite_number: 7, email: "ann@example.com" });
 * await p.disconnect();
 * ```
 * @module
 */
import { type SchemaRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import type { Consumer, Kafka, Producer, RecordMetadata } from "kafkajs";
import { DeadLetters } from "../../kafka/mod.ts";
import type { User } from "../../schemas/mod.ts";
import { registerSchema, valueSubject } from "../../registry/mod.ts";
import { PRACTICE7_GROUPS, USERS_TOPIC } from "./topics.ts";

/** Options of an {@linkcode AvroUserProducer}. */
export interface AvroUserProducerOptions {
  /** Avro schema the records are written with (registered on connect). */
  schema: object;
  /** Topic. @default "practice7-users" */
  topic?: string;
}

/** See the module doc. */
export class AvroUserProducer {
  readonly topic: string;
  #producer: Producer;
  #schemaId?: number;

  constructor(
    kafka: Kafka,
    readonly registry: SchemaRegistry,
    readonly options: AvroUserProducerOptions,
  ) {
    this.topic = options.topic ?? USERS_TOPIC.topic;
    this.#producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  }

  /** Id of the schema in the registry (after connect). */
  get schemaId(): number {
    if (this.#schemaId === undefined) throw new Error("AvroUserProducer is not connected");
    return this.#schemaId;
  }

  /** Registers the schema (refused when incompatible) and connects the producer. */
  async connect(): Promise<void> {
    this.#schemaId = await registerSchema(
      this.registry,
      valueSubject(this.topic),
      this.options.schema,
    );
    await this.#producer.connect();
  }

  /** Encodes a user (checked against the schema) and sends it, acks=all. */
  async send(user: User): Promise<RecordMetadata> {
    const value = await this.registry.encode(this.schemaId, user);
    const [meta] = await this.#producer.send({
      topic: this.topic,
      acks: -1,
      messages: [{ key: user.name, value }],
    });
    return meta;
  }

  async disconnect(): Promise<void> {
    await this.#producer.disconnect();
  }
}

/** A decoded user with where it came from. */
export interface ReceivedUser {
  user: User;
  /** Id of the schema the record was written with (from its wire-format header). */
  writerSchemaId: number;
  partition: number;
  offset: string;
}

/** Options of an {@linkcode AvroUserConsumer}. */
export interface AvroUserConsumerOptions {
  /** Reader schema; records of older compatible versions are resolved into it. */
  readerSchema: object;
  /** Topic. @default "practice7-users" */
  topic?: string;
  /** Consumer group. @default "practice7-users-consumer" */
  groupId?: string;
  /** Called for each user. */
  onUser: (u: ReceivedUser) => void | Promise<void>;
  /** Called for each record sent to the DLQ. @default logs it */
  onDeadLetter?: (reason: string, partition: number, offset: string) => void;
}

/** Reads the wire-format header: magic byte 0, then the schema id (big-endian int32). */
export function wireSchemaId(bytes: Uint8Array): number | undefined {
  if (bytes.length < 5 || bytes[0] !== 0) return undefined;
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getInt32(1);
}

/** See the module doc. */
export class AvroUserConsumer {
  readonly topic: string;
  #consumer: Consumer;
  #producer: Producer;

  constructor(
    kafka: Kafka,
    readonly registry: SchemaRegistry,
    readonly options: AvroUserConsumerOptions,
  ) {
    this.topic = options.topic ?? USERS_TOPIC.topic;
    this.#consumer = kafka.consumer({
      groupId: options.groupId ?? PRACTICE7_GROUPS.users,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
    });
    this.#producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  }

  /** Joins the group and starts reading from the beginning of the topic. */
  async start(): Promise<void> {
    const dlq = new DeadLetters(this.#producer);
    await this.#producer.connect();
    await this.#consumer.connect();
    await this.#consumer.subscribe({ topic: this.topic, fromBeginning: true });
    const onDead = this.options.onDeadLetter ??
      ((reason, p, o) => console.error(`DLQ ${this.topic}/${p}@${o}: ${reason}`));
    await this.#consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const bytes = message.value ?? new Uint8Array();
        const id = wireSchemaId(bytes);
        let user: User;
        try {
          if (id === undefined) {
            throw new Error("not in the schema registry wire format (no magic byte 0 + schema id)");
          }
          user = await this.registry.decode(Buffer.from(bytes), {
            // deno-lint-ignore no-explicit-any
            [SchemaType.AVRO]: { readerSchema: this.options.readerSchema as any },
          });
        } catch (err) {
          const reason = (err as Error).message;
          await dlq.publish(
            {
              topic,
              partition,
              offset: message.offset,
              key: message.key,
              value: message.value,
              headers: message.headers,
            },
            reason,
            "decode",
          );
          onDead(reason, partition, message.offset);
          return;
        }
        await this.options.onUser({
          user: { ...user },
          writerSchemaId: id!,
          partition,
          offset: message.offset,
        });
      },
    });
  }

  async stop(): Promise<void> {
    await this.#consumer.disconnect();
    await this.#producer.disconnect();
  }
}
