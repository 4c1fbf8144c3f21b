/**
 * Practice 5's consumer against the real cluster: valid change events are printed, a record that
 * is not one lands in `<topic>.dlq` with the reason (read back with a separate consumer), a
 * tombstone is skipped, and the consumer carries on past both.
 */
import assert from "node:assert/strict";
import { DLQ_HEADERS, dlqTopic, ensureTopic } from "../../lib/kafka/mod.ts";
import { spawnTask, testKafka, unique } from "../_stack.ts";
import { pollUntil } from "../../lib/env/mod.ts";

Deno.test("practice5:consumer: junk goes to the DLQ with the reason, tombstones are skipped, events go on", async () => {
  const kafka = await testKafka("p5-consumer-test");
  const topic = unique("p5-cdc");
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopic(admin, { topic, partitions: 1, replicationFactor: 1 });
  await admin.disconnect();
  const event = (id: number) =>
    JSON.stringify({
      op: "c",
      before: null,
      after: { id, name: `u${id}` },
      source: { table: "users" },
    });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic,
    messages: [
      { key: "1", value: event(1) },
      { key: "2", value: "{not json" },
      { key: "3", value: null },
      { key: "4", value: JSON.stringify({ op: "x", after: {} }) },
      { key: "5", value: event(5) },
    ],
  });
  await producer.disconnect();

  const task = await spawnTask("practice5:consumer", [
    "--topics",
    topic,
    "--from-beginning",
    "--max",
    "2",
    "--group",
    unique("p5-group"),
  ]);
  const { status, stderr } = await task.done();
  assert.equal(status.code, 0, stderr);
  const printed = task.lines.filter((l) => l.includes("op=c"));
  assert.equal(printed.length, 2, task.lines.join("\n"));
  assert.match(printed[1], /"id":5/);

  // The DLQ, read with a consumer of our own: exactly the two bad records, with reasons.
  const dead: { key: string; error: string; offset: string }[] = [];
  const reader = kafka.consumer({ groupId: unique("p5-dlq-reader") });
  await reader.connect();
  await reader.subscribe({ topic: dlqTopic(topic), fromBeginning: true });
  await reader.run({
    eachMessage: async ({ message }) => {
      dead.push({
        key: String(message.key),
        error: String(message.headers?.[DLQ_HEADERS.error]),
        offset: String(message.headers?.[DLQ_HEADERS.offset]),
      });
      await Promise.resolve();
    },
  });
  await pollUntil("two dead letters", () => dead.length >= 2, { timeoutMs: 30_000 });
  await reader.disconnect();
  assert.deepEqual(dead.map((d) => [d.key, d.offset]), [["2", "1"], ["4", "3"]]);
  assert.match(dead[0].error, /not JSON/);
  assert.match(dead[1].error, /field 'op' is "x"/);
});
