/**
 * Practice 3, pure parts: word masking, the event schemas, and the compose file's agreement
 * with the local stack (same Kafka version, broker settings, tasks).
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { join } from "node:path";
import { blockKey, maskWords, wordsPattern } from "../../lib/course/practice3/filter.ts";
import { blockCodec, messageCodec, wordCodec } from "../../lib/schemas/chat.ts";
import { DeserializationError } from "../../lib/schemas/validator.ts";
import { defaultBrokerProperties, KAFKA_VERSION } from "../../lib/stack/mod.ts";
import { PROJECT_ROOT } from "../../lib/env/paths.ts";
import { practice3Topics, TOPICS } from "../../lib/course/practice3/topics.ts";

Deno.test("maskWords: whole words, case-insensitive, Cyrillic and Latin", () => {
  const words = ["плохоеслово", "Bad"];
  assert.equal(maskWords("Вот и плохоеслово", words), "Вот и ***********");
  assert.equal(maskWords("ПЛОХОЕСЛОВО! Плохоеслово.", words), "***********! ***********.");
  assert.equal(maskWords("a bad, BAD, bAd day", words), "a ***, ***, *** day");
  // Not inside other words, in either script.
  assert.equal(
    maskWords("badge rebad плохоесловоX Xплохоеслово", words),
    "badge rebad плохоесловоX Xплохоеслово",
  );
  assert.equal(maskWords("bad_thing bad-thing", words), "bad_thing ***-thing");
  assert.equal(maskWords("nothing here", []), "nothing here");
  // Regex metacharacters in a word are literal.
  assert.equal(maskWords("a+b c", ["a+b"]), "*** c");
  assert.equal(wordsPattern([]), undefined);
});

Deno.test("blockKey: distinct pairs stay distinct", () => {
  assert.notEqual(blockKey("a", "bc"), blockKey("ab", "c"));
  assert.equal(blockKey("Игорь", "Виктор"), blockKey("Игорь", "Виктор"));
});

Deno.test("practice 3 schemas accept the seed's examples and reject bad input with a reason", () => {
  const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  assert.deepEqual(
    messageCodec.decode(enc({ sender: "Игорь", recipient: "Андрей", text: "Вот и плохоеслово" })),
    {
      sender: "Игорь",
      recipient: "Андрей",
      text: "Вот и плохоеслово",
    },
  );
  assert.equal(blockCodec.decode(enc({ user: "Игорь", blocked: "Виктор" })).user, "Игорь");
  assert.equal(wordCodec.decode(enc({ action: "remove", word: "плохоеслово" })).action, "remove");
  assert.throws(
    () => messageCodec.decode(enc({ sender: "a", recipient: "b", text: "x".repeat(10_001) })),
    (e) =>
      e instanceof DeserializationError && e.stage === "validate" &&
      /text must NOT have more than 10000/.test(e.message),
  );
  assert.throws(
    () => wordCodec.decode(enc({ action: "add", word: "two words" })),
    /word must match pattern/,
  );
  assert.throws(
    () => blockCodec.decode(new TextEncoder().encode("{")),
    (e) => e instanceof DeserializationError && e.stage === "decode",
  );
});

Deno.test("compose/practice3.yaml agrees with the local stack", async () => {
  const doc = parse(await Deno.readTextFile(join(PROJECT_ROOT, "compose/practice3.yaml")), {
    merge: true,
  });
  const deno = JSON.parse(await Deno.readTextFile(join(PROJECT_ROOT, "deno.json")));
  const brokers = ["kafka-0", "kafka-1", "kafka-2"];
  const stack = defaultBrokerProperties(3);
  for (const name of brokers) {
    const svc = doc.services[name];
    assert.equal(svc.image, `apache/kafka:${KAFKA_VERSION}`, `${name} runs the stack's Kafka`);
    for (const [prop, value] of Object.entries(stack)) {
      const env = `KAFKA_${prop.toUpperCase().replaceAll(".", "_")}`;
      if (env in svc.environment) {
        assert.equal(String(svc.environment[env]), value, `${name} ${env}`);
      }
    }
    for (
      const prop of [
        "default.replication.factor",
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "group.initial.rebalance.delay.ms",
      ]
    ) {
      const env = `KAFKA_${prop.toUpperCase().replaceAll(".", "_")}`;
      assert.ok(env in svc.environment, `${name} sets ${env} like the stack`);
    }
  }
  const app = doc.services["practice3-app"];
  assert.equal(app.image, `denoland/deno:${Deno.version.deno}`);
  assert.deepEqual(app.command, ["deno", "task", "practice3:app"]);
  assert.equal(app.environment.KAFKA_BOOTSTRAP_SERVERS, brokers.map((b) => `${b}:9092`).join(","));
  for (const tool of ["practice3-send", "practice3-tail"]) {
    const task = doc.services[tool].entrypoint.at(-1);
    assert.ok(task in deno.tasks, `${tool} runs an existing task (${task})`);
  }
  assert.ok("practice3:app" in deno.tasks);
});

Deno.test("practice 3 topics: writable with one broker down, and big enough for the DLQ's oversized input", () => {
  for (const rf of [1, 2, 3]) {
    const specs = practice3Topics(rf);
    assert.equal(new Set(specs.map((t) => t.topic)).size, 4, "four distinct topics");
    for (const t of specs) {
      const isr = Number(t.config?.["min.insync.replicas"]);
      assert.equal(t.replicationFactor, rf, `${t.topic} rf`);
      // acks=all producers need min ISR replicas: with rf 3 one broker may die, and a
      // one- or two-node stack must still accept writes.
      assert.ok(isr >= 1 && isr <= rf, `${t.topic} rf ${rf}: min ISR ${isr}`);
      if (rf === 3) assert.equal(isr, 2, `${t.topic}: survives one broker down, not two`);
    }
  }
  const specs = practice3Topics(3);
  const byName = Object.fromEntries(specs.map((t) => [t.topic, t]));
  // Oversized records (a 1 MiB text, as tests/integration/practice3_test.ts sends) must reach
  // the app so it can dead-letter them with a reason; the broker default of 1 MiB would refuse.
  for (const input of [TOPICS.messages, TOPICS.blocked, TOPICS.words]) {
    assert.ok(
      Number(byName[input].config?.["max.message.bytes"]) > 1024 * 1024 + 1024,
      `${input} accepts a 1 MiB record with its envelope`,
    );
  }
  // The output keeps the input's parallelism (one processor task per input partition).
  assert.equal(byName[TOPICS.filtered].partitions, byName[TOPICS.messages].partitions);
});
