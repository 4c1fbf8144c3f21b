/**
 * Access probes: try to write, read or describe a topic as some principal and return what the
 * cluster said, instead of throwing. The ACL drills of practice 6 and the final project assert
 * these outcomes against their declared ACL tables.
 *
 * @example
 * ```ts
 * import { tryWrite } from "./probes.ts";
 * const access = await tryWrite(kafkaAsShopApi, options, "input-products");
 * if (!access.allowed) console.log(access.error.message);
 * ```
 * @module
 */
import { type Kafka, Partitioners } from "kafkajs";
import { explainKafkaError, KafkaAccessError } from "./errors.ts";
import type { KafkaClientOptions } from "./client.ts";
import { sleep } from "../env/mod.ts";

/** Outcome of one access attempt. */
export type Access =
  | { allowed: true; detail: string }
  | { allowed: false; error: KafkaAccessError };

/** Sends `count` messages to `topic` (acks=all); denied access is returned, not thrown. */
export async function tryWrite(
  kafka: Kafka,
  options: Partial<KafkaClientOptions>,
  topic: string,
  count = 1,
  prefix = "message",
): Promise<Access> {
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    retry: { retries: 1 },
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  try {
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: count }, (_, i) => ({
        key: `${prefix}-${i}`,
        value: JSON.stringify({ id: `${prefix}-${i}`, text: `${prefix} ${i}`, at: new Date() }),
      })),
    });
    return { allowed: true, detail: `wrote ${count} message(s) to ${topic}` };
  } catch (err) {
    return { allowed: false, error: explainKafkaError(err, options, `write to topic '${topic}'`) };
  } finally {
    await producer.disconnect().catch(() => {});
  }
}

/** Options of {@linkcode tryRead}. */
export interface TryReadOptions {
  /** Consumer group to read in (the principal needs READ on it). */
  group: string;
  /** Messages to wait for; 0 = only join the group and read what is there. @default 1 */
  min?: number;
  /** Give up after this long, in ms. @default 20000 */
  timeoutMs?: number;
  /** Once `min` messages (or the group join, for 0) arrived, stop after this quiet time. @default 1500 */
  idleMs?: number;
}

const COORDINATOR_BUSY =
  /coordinator is loading|coordinator is not available|not the correct coordinator|GROUP_LOAD_IN_PROGRESS|COORDINATOR_NOT_AVAILABLE|NOT_COORDINATOR/i;

/**
 * Reads `topic` from the beginning (or the group's committed offsets) until `min` messages and
 * then `idleMs` of quiet, or `timeoutMs`. Denied access is returned, not thrown.
 */
export async function tryRead(
  kafka: Kafka,
  options: Partial<KafkaClientOptions>,
  topic: string,
  readOptions: TryReadOptions,
): Promise<Access & { values?: string[] }> {
  const { group, min = 1, timeoutMs = 20_000, idleMs = 1_500 } = readOptions;
  const consumer = kafka.consumer({
    groupId: group,
    // A group coordinator still loading (a fresh cluster) is worth waiting for; every other
    // failure (authorization above all) is the answer and ends the attempt.
    retry: {
      retries: 10,
      restartOnFailure: (e) =>
        Promise.resolve(
          COORDINATOR_BUSY.test(`${e.message} ${(e as { type?: string }).type ?? ""}`),
        ),
    },
    allowAutoTopicCreation: false,
  });
  const values: string[] = [];
  let failure: unknown;
  let joined = false;
  let lastAt = Date.now();
  const { CRASH, GROUP_JOIN } = consumer.events;
  consumer.on(CRASH, (e) => {
    if (!e.payload.restart) failure = e.payload.error;
  });
  consumer.on(GROUP_JOIN, () => {
    joined = true;
    lastAt = Date.now();
  });
  const action = `read topic '${topic}' in group '${group}'`;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        values.push(message.value?.toString() ?? "");
        lastAt = Date.now();
        return Promise.resolve();
      },
    });
    const deadline = Date.now() + timeoutMs;
    const done = () => joined && values.length >= min && Date.now() - lastAt >= idleMs;
    while (!done() && failure === undefined && Date.now() < deadline) {
      await sleep(100);
    }
    if (failure !== undefined) {
      return { allowed: false, error: explainKafkaError(failure, options, action) };
    }
    if (values.length < min || !joined) {
      return {
        allowed: false,
        error: new KafkaAccessError(
          "other",
          `Read ${values.length} of ${min} message(s) from '${topic}' in ${timeoutMs} ms`,
        ),
      };
    }
    return { allowed: true, detail: `read ${values.length} message(s) from ${topic}`, values };
  } catch (err) {
    return { allowed: false, error: explainKafkaError(err, options, action) };
  } finally {
    await consumer.disconnect().catch(() => {});
  }
}

/** Fetches the metadata of `topic` (DESCRIBE). */
export async function tryDescribe(
  kafka: Kafka,
  options: Partial<KafkaClientOptions>,
  topic: string,
): Promise<Access> {
  const admin = kafka.admin({ retry: { retries: 0 } });
  try {
    await admin.connect();
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    return {
      allowed: true,
      detail: `${topic} has ${meta.topics[0]?.partitions.length ?? 0} partitions`,
    };
  } catch (err) {
    return {
      allowed: false,
      error: explainKafkaError(err, options, `describe topic '${topic}'`),
    };
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
