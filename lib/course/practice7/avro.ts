/**
 * Practice 7, task 1: a producer and a consumer of Avro users in the schema registry's wire
 * format. The producer registers (or finds) its schema version and prefixes each record with
 * the magic byte and the schema id; the consumer looks the writer's schema up by that id and
 * decodes into its own reader schema, so records written under an older compatible version
 * are read with the newer fields' defaults. Records that are not in the wire format, whose
 * schema the registry does not know, or whose Avro body does not decode, go to `<topic>.dlq`
 * with the reason; so do records read while the registry cannot be reached (after a few
 * retries, stage `registry`), and the consumer keeps going either way.
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
import { sleep } from "../../env/mod.ts";
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
  /** Where the registry is, named in dead letters' reasons. @default "the schema registry" */
  registryUrl?: string;
  /** Attempts at a registry that cannot be reached before the record is dead-lettered. @default 3 */
  registryAttempts?: number;
  /** Pause between those attempts, in ms. @default 500 */
  registryRetryMs?: number;
}

/** Why a record could not be decoded: the DLQ stage and the reason. */
export interface DecodeFailure {
  /** `decode` (bytes), `schema` (unknown schema id) or `registry` (registry unreachable). */
  stage: "decode" | "schema" | "registry";
  reason: string;
}

/**
 * Sorts a failure of the registry client's decode into its DLQ stage: the registry could not be
 * reached (refused connection, timeout, 5xx) or refused us (401/403), the schema id is
 * unknown to it (404), or the bytes themselves are bad.
 */
export function classifyDecodeError(
  err: unknown,
  schemaId: number,
  registryUrl = "the schema registry",
): DecodeFailure {
  const e = err as Error & { status?: number };
  const msg = String(e?.message ?? err);
  if (
    /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|socket hang up|timed? ?out/i.test(
      msg,
    ) || (e?.status !== undefined && e.status >= 500)
  ) {
    return {
      stage: "registry",
      reason: `schema registry at ${registryUrl} unreachable while looking up schema id ` +
        `${schemaId}: ${msg}`,
    };
  }
  if (e?.status === 401 || e?.status === 403) {
    return {
      stage: "registry",
      reason: `schema registry at ${registryUrl} refused the credentials (${e.status}) while ` +
        `looking up schema id ${schemaId}`,
    };
  }
  if (e?.status === 404 || /not found/i.test(msg)) {
    return { stage: "schema", reason: `schema id ${schemaId} is unknown to the registry: ${msg}` };
  }
  return {
    stage: "decode",
    reason: `Avro body does not decode with schema id ${schemaId}: ${msg}`,
  };
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
    const { registryAttempts = 3, registryRetryMs = 500 } = this.options;
    if (!Number.isInteger(registryAttempts) || registryAttempts < 1) {
      throw new RangeError(
        `Cannot consume as 'registryAttempts' must be a positive integer: current value is ${registryAttempts}`,
      );
    }
    const onDead = this.options.onDeadLetter ??
      ((reason, p, o) => console.error(`DLQ ${this.topic}/${p}@${o}: ${reason}`));
    await this.#consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const bytes = message.value ?? new Uint8Array();
        const id = wireSchemaId(bytes);
        let user: User | undefined;
        let failure: DecodeFailure | undefined;
        if (id === undefined) {
          failure = {
            stage: "decode",
            reason: message.value === null
              ? "no value (a tombstone): not in the schema registry wire format"
              : "not in the schema registry wire format (no magic byte 0 + schema id)",
          };
        }
        for (let attempt = 1; id !== undefined && user === undefined; attempt++) {
          try {
            user = await this.registry.decode(Buffer.from(bytes), {
              // deno-lint-ignore no-explicit-any
              [SchemaType.AVRO]: { readerSchema: this.options.readerSchema as any },
            });
          } catch (err) {
            failure = classifyDecodeError(err, id, this.options.registryUrl);
            if (failure.stage !== "registry" || attempt >= registryAttempts) break;
            await sleep(registryRetryMs * attempt);
          }
        }
        if (user === undefined) {
          const { stage, reason } = failure!;
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
            stage,
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
