/**
 * The streams runtime on the real test stack: a zombie (an instance that stalls past its
 * session timeout while it holds a partition) is fenced by the partition's new owner, and
 * the output — read by Kafka's console consumer at read_committed — holds every record exactly
 * once.
 */
import assert from "node:assert/strict";
import { Partitioners } from "kafkajs";
import { eventually, testKafka, unique } from "../_stack.ts";
import { consoleRecords } from "../_console.ts";
import { StreamApp } from "../../lib/streams/app.ts";

Deno.test("streams: a stalled instance is fenced by the partition's new owner; output exactly once", async () => {
  const kafka = await testKafka("streams-test");
  const input = unique("st-in");
  const output = unique("st-out");
  const appId = unique("st-app");
  const total = 2_000;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic: input, numPartitions: 1, replicationFactor: 3 }],
  });
  const producer = kafka.producer({
    idempotent: true,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  await producer.send({
    topic: input,
    acks: -1,
    messages: Array.from({ length: total }, (_, i) => ({ value: String(i) })),
  });
  await producer.disconnect();

  const gate = Promise.withResolvers<void>();
  let stalled = false;
  const logs: Record<string, string[]> = { a: [], b: [] };
  const make = (name: "a" | "b") =>
    new StreamApp(kafka, {
      appId,
      sessionTimeoutMs: 6_000,
      log: (l) => logs[name].push(l),
      sinks: [{ topic: output, partitions: 1, replicationFactor: 3 }],
      sources: [{
        topic: input,
        decode: (v) => Number(v!.toString()),
        process: async (r, ctx) => {
          // Instance a stalls in the middle of its first batch, far past its session timeout.
          if (name === "a" && r.value === 500 && !stalled) {
            stalled = true;
            await gate.promise;
          }
          ctx.send(output, { value: `out-${r.value}` });
        },
      }],
    });
  const a = make("a");
  const b = make("b");
  try {
    await a.start();
    await eventually(() => stalled, 120_000, "instance a to stall");
    await b.start();
    // b gets the partition after a's session expires, fences a's transactional id and
    // processes everything from the committed offset.
    await eventually(() => b.stats.get(input)!.in === total, 180_000, "b to process all records");
    gate.resolve();
    await eventually(
      () => logs.a.some((l) => /fenced/.test(l)),
      30_000,
      `a's transaction to be fenced; a's log: ${logs.a.join("\n")}`,
    );
    // Every input offset committed (in the transactions that wrote the outputs): the output
    // is complete up to its end offsets now.
    await eventually(
      async () => {
        const [o] = await admin.fetchOffsets({ groupId: appId, topics: [input] });
        const at = o.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
        if (at === total) return true;
        throw new Error(`committed ${at}`);
      },
      60_000,
      `group ${appId} committing all ${total} input offsets`,
    );
    const seen = new Map<string, number>();
    for (const r of await consoleRecords(output, { readCommitted: true })) {
      seen.set(r.value!, (seen.get(r.value!) ?? 0) + 1);
    }
    const dups = [...seen.values()].filter((n) => n > 1).length;
    assert.equal(dups, 0, "no output twice (the zombie's transaction was not committed)");
    assert.equal(seen.size, total);
  } finally {
    gate.resolve();
    await Promise.all([a.stop(), b.stop()]);
    await admin.disconnect();
  }
});

Deno.test("streams: at-least-once mode writes every output and commits the offsets", async () => {
  const kafka = await testKafka("streams-test");
  const input = unique("st-alos-in");
  const output = unique("st-alos-out");
  const appId = unique("st-alos-app");
  const total = 3_000;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic: input, numPartitions: 3, replicationFactor: 3 }],
  });
  const producer = kafka.producer({
    idempotent: true,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  await producer.send({
    topic: input,
    acks: -1,
    messages: Array.from({ length: total }, (_, i) => ({ key: String(i), value: String(i) })),
  });
  await producer.disconnect();
  const app = new StreamApp(kafka, {
    appId,
    guarantee: "at_least_once",
    log: () => {},
    sinks: [{ topic: output, partitions: 3, replicationFactor: 3 }],
    sources: [{
      topic: input,
      decode: (v) => Number(v!.toString()),
      process: (r, ctx) => {
        if (r.value % 10 === 0) return; // filtered
        ctx.send(output, { key: r.key, value: `out-${r.value}` });
      },
    }],
  });
  try {
    await app.start();
    await eventually(
      async () => {
        const o = await admin.fetchOffsets({ groupId: appId, topics: [input] });
        return o[0].partitions.reduce((s, p) => s + Number(p.offset), 0) === total;
      },
      60_000,
      "all offsets committed",
    );
    const s = app.stats.get(input)!;
    assert.deepEqual(s, { in: total, out: total * 0.9, filtered: total * 0.1, dlq: 0 });
    const ends = await admin.fetchTopicOffsets(output);
    assert.equal(ends.reduce((n, p) => n + Number(p.offset), 0), total * 0.9);
  } finally {
    await app.stop();
    await admin.disconnect();
  }
});
