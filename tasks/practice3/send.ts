/**
 * `deno task practice3:send` — sends one practice 3 event, validated against its schema:
 *
 *   message --sender Игорь --recipient Андрей --text "Вот и плохоеслово"   → messages
 *   block --user Игорь --blocked Виктор [--unblock]                        → blocked_users
 *   word add|remove плохоеслово                                            → forbidden_words
 *   raw --topic messages --value '{"sender": 1}'   (unvalidated: to see the dead-letter topic)
 *
 * Env: KAFKA_BOOTSTRAP_SERVERS, PRACTICE3_TOPIC_PREFIX.
 */
import { ConfigError, defineTask, runMain } from "../../lib/env/mod.ts";
import { createKafka, KAFKA_ENV, kafkaConfigFromEnv } from "../../lib/kafka/mod.ts";
import { practice3Env } from "../../lib/course/practice3/mod.ts";
import { blockCodec, messageCodec, wordCodec } from "../../lib/schemas/mod.ts";
import { SerializationError } from "../../lib/schemas/mod.ts";

const USAGE = "usage: deno task practice3:send message --sender S --recipient R --text T | " +
  "block --user U --blocked B [--unblock] | word add|remove WORD | raw --topic T --value V [--key K]";

const SPEC = defineTask({
  task: "practice3:send",
  summary:
    "Sends one practice 3 event, validated against its schema: a message, a block/unblock, a forbidden word, or a raw unvalidated record (to see the dead-letter topic).",
  flags: {
    sender: { type: "string", valueName: "NAME", description: "message: who sends" },
    recipient: { type: "string", valueName: "NAME", description: "message: who receives" },
    text: { type: "string", valueName: "TEXT", description: "message: the text" },
    user: { type: "string", valueName: "NAME", description: "block: who blocks" },
    blocked: { type: "string", valueName: "NAME", description: "block: who is blocked" },
    unblock: { type: "boolean", description: "block: lift the block instead" },
    topic: { type: "string", valueName: "NAME", description: "raw: target topic" },
    value: { type: "string", valueName: "TEXT", description: "raw: the record value, sent as is" },
    key: { type: "string", valueName: "KEY", description: "raw: the record key" },
  },
  env: {
    ...KAFKA_ENV,
    PRACTICE3_TOPIC_PREFIX: { description: "prefix of every practice 3 topic", default: "" },
  },
  positionals: [
    {
      name: "KIND",
      description: "what to send",
      required: true,
      choices: ["message", "block", "word", "raw"],
    },
    { name: "ARGS", description: "word: add|remove WORD", variadic: true },
  ],
  usage: [
    "message --sender S --recipient R --text T",
    "block --user U --blocked B [--unblock]",
    "word add|remove WORD",
    "raw --topic T --value V [--key K]",
  ],
  examples: [
    'deno task practice3:send message --sender Игорь --recipient Андрей --text "Вот и плохоеслово"',
    "deno task practice3:send word add плохоеслово",
  ],
});

await runMain(async (cli) => {
  const flags = cli;
  const { topics } = practice3Env();
  const [kind, ...rest] = flags.positional;
  const need = (name: string) => {
    const v = flags.values[name];
    if (v === undefined) throw new ConfigError(`'${kind}' needs --${name}. ${USAGE}`);
    return v;
  };
  let topic: string;
  let key: string | null;
  let value: Uint8Array | string;
  try {
    switch (kind) {
      case "message": {
        const m = { sender: need("sender"), recipient: need("recipient"), text: need("text") };
        [topic, key, value] = [topics.messages, m.recipient, messageCodec.encode(m)];
        break;
      }
      case "block": {
        const b = {
          user: need("user"),
          blocked: need("blocked"),
          action: flags.booleans.unblock ? "unblock" as const : "block" as const,
        };
        [topic, key, value] = [topics.blocked, b.user, blockCodec.encode(b)];
        break;
      }
      case "word": {
        const [action, word] = rest;
        if ((action !== "add" && action !== "remove") || !word) {
          throw new ConfigError(`'word' needs add|remove and a word. ${USAGE}`);
        }
        [topic, key, value] = [topics.words, word, wordCodec.encode({ action, word })];
        break;
      }
      case "raw":
        [topic, key, value] = [need("topic"), flags.values.key ?? null, need("value")];
        break;
      default:
        throw new ConfigError(`Unknown kind '${kind ?? ""}'. ${USAGE}`);
    }
  } catch (err) {
    if (err instanceof SerializationError) throw new ConfigError(err.message);
    throw err;
  }
  const kafka = createKafka(kafkaConfigFromEnv({ clientId: "practice3-send" }));
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const [meta] = await producer.send({
      topic,
      acks: -1,
      messages: [{ key, value: typeof value === "string" ? value : Buffer.from(value) }],
    });
    console.log(`sent to ${topic} partition ${meta.partition} offset ${meta.baseOffset}`);
  } finally {
    await producer.disconnect();
  }
}, SPEC);
