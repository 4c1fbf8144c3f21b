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
import { ConfigError, parseFlags, runMain } from "../../lib/env/mod.ts";
import { createKafka, kafkaConfigFromEnv } from "../../lib/kafka/mod.ts";
import { practice3Env } from "../../lib/course/practice3/mod.ts";
import { blockCodec, messageCodec, wordCodec } from "../../lib/schemas/mod.ts";
import { SerializationError } from "../../lib/schemas/mod.ts";

const USAGE = "usage: deno task practice3:send message --sender S --recipient R --text T | " +
  "block --user U --blocked B [--unblock] | word add|remove WORD | raw --topic T --value V [--key K]";

await runMain(async () => {
  const flags = parseFlags(Deno.args, {
    string: ["sender", "recipient", "text", "user", "blocked", "topic", "value", "key"],
    boolean: ["unblock"],
  });
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
});
