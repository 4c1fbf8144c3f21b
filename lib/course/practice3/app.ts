/**
 * Practice 3's message filter on the streams runtime ({@linkcode ../streams/app.ts}):
 *
 * - `blocked_users` {user, blocked[, action]} → table `blocked_users` (`user` no longer
 *   receives messages from `blocked`; `action: "unblock"` lifts it);
 * - `forbidden_words` {action: add|remove, word} → table `forbidden_words`;
 * - `messages` {sender, recipient, text} → `filtered_messages` with forbidden words masked,
 *   unless the recipient has blocked the sender (then the message is filtered out).
 *
 * Both tables live in compacted changelog topics and are restored from them on start.
 * Exactly-once by default; invalid records go to `<topic>.dlq`.
 *
 * @example
 * ```ts
 * import { createPractice3App } from "./app.ts";
 * const app = await createPractice3App(kafka);
 * await app.start();
 * ```
 * @module
 */
import type { Kafka } from "kafkajs";
import { ensureTopic } from "../../kafka/mod.ts";
import { type Guarantee, StreamApp, type StreamAppOptions } from "../../streams/mod.ts";
import {
  blockCodec,
  type BlockCommand,
  type ChatMessage,
  messageCodec,
  wordCodec,
  type WordCommand,
} from "../../schemas/mod.ts";
import { blockKey, normalizeWord, WordMasker } from "./filter.ts";
import { PRACTICE3_APP_ID, practice3Topics, TOPICS } from "./topics.ts";

/** Options of {@linkcode createPractice3App}. */
export interface Practice3AppOptions {
  /** Application id. @default "practice3-filter" */
  appId?: string;
  /** @default "exactly_once" */
  guarantee?: Guarantee;
  /** Topic names (tests use their own). @default the seed's names */
  topics?: Partial<Record<keyof typeof TOPICS, string>>;
  /** Replication factor of created topics. @default min(3, brokers) */
  replicationFactor?: number;
  /** Passed to the runtime. */
  streams?: Partial<Pick<StreamAppOptions, "sessionTimeoutMs" | "concurrency" | "log">>;
}

/** Creates practice 3's topics when missing, and returns the (not yet started) processor. */
export async function createPractice3App(
  kafka: Kafka,
  options: Practice3AppOptions = {},
): Promise<StreamApp> {
  const { appId = PRACTICE3_APP_ID, guarantee = "exactly_once", streams = {} } = options;
  const topics = { ...TOPICS, ...options.topics };
  const admin = kafka.admin();
  await admin.connect();
  let rf: number;
  try {
    rf = options.replicationFactor ??
      Math.min(3, (await admin.describeCluster()).brokers.length);
    const rename: Record<string, string> = {
      [TOPICS.messages]: topics.messages,
      [TOPICS.filtered]: topics.filtered,
      [TOPICS.blocked]: topics.blocked,
      [TOPICS.words]: topics.words,
    };
    for (const spec of practice3Topics(rf)) {
      await ensureTopic(admin, { ...spec, topic: rename[spec.topic] });
    }
  } finally {
    await admin.disconnect();
  }
  const masker = new WordMasker();
  return new StreamApp(kafka, {
    appId,
    guarantee,
    replicationFactor: rf,
    ...streams,
    sinks: practice3Topics(rf).filter((s) => s.topic === TOPICS.filtered)
      .map((s) => ({ ...s, topic: topics.filtered })),
    tables: [{ name: "blocked_users" }, { name: "forbidden_words" }],
    sources: [
      {
        topic: topics.blocked,
        decode: (v) => blockCodec.decode(v),
        process: ({ value }: { value: BlockCommand }, ctx) => {
          const table = ctx.table<BlockCommand>("blocked_users");
          const key = blockKey(value.user, value.blocked);
          if (value.action === "unblock") table.delete(key);
          else table.set(key, { user: value.user, blocked: value.blocked });
        },
      },
      {
        topic: topics.words,
        decode: (v) => wordCodec.decode(v),
        process: ({ value }: { value: WordCommand }, ctx) => {
          const table = ctx.table<{ word: string }>("forbidden_words");
          const word = normalizeWord(value.word);
          if (value.action === "add") table.set(word, { word });
          else table.delete(word);
        },
      },
      {
        topic: topics.messages,
        decode: (v) => messageCodec.decode(v),
        process: ({ value }: { value: ChatMessage }, ctx) => {
          if (ctx.table("blocked_users").has(blockKey(value.recipient, value.sender))) return;
          const words = ctx.table<{ word: string }>("forbidden_words").committed;
          const out: ChatMessage = {
            sender: value.sender,
            recipient: value.recipient,
            text: masker.mask(value.text, words),
          };
          ctx.send(topics.filtered, { key: value.recipient, value: JSON.stringify(out) });
        },
      },
    ],
  });
}
