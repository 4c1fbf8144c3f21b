import assert from "node:assert/strict";
import type { Kafka } from "kafkajs";
import { DLQ_HEADERS, dlqTopic, ensureTopic } from "../../lib/kafka/mod.ts";
import { type ConsumedOrder, OrderConsumer } from "../../lib/course/practice2/consumer.ts";
import { OrderProducer, sampleOrder } from "../../lib/course/practice2/producer.ts";
import { orderCodec } from "../../lib/schemas/mod.ts";
import { eventually, runTask, spawnTask, testKafka, unique } from "../_stack.ts";
import { consoleRecords } from "../_console.ts";

const quiet = () => {};

async function withTopic(kafka: Kafka, prefix: string): Promise<string> {
  const topic = unique(prefix);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopic(admin, { topic, partitions: 3, replicationFactor: 2 });
  } finally {
    await admin.disconnect();
  }
  return topic;
}

async function committed(kafka: Kafka, groupId: string, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return t.partitions.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

Deno.test("practice 2 end to end through the tasks: topic, producer, single and batch consumers", async () => {
  const topicRun = await runTask("practice2:topic");
  assert.equal(topicRun.code, 0, topicRun.stderr);
  assert.match(topicRun.stdout, /Topic: orders\tPartitionCount: 3\tReplicationFactor: 2/);
  assert.equal(topicRun.stdout.match(/\tPartition: \d/g)?.length, 3);

  const produced = await runTask("practice2:producer", [], {
    SEND_MSG_COUNT: "20",
    SEND_MSG_INTERVAL_SECONDS: "0",
  });
  assert.equal(produced.code, 0, produced.stderr);
  assert.match(
    produced.stdout,
    /serialization error, message not sent: order does not match its schema: \/total_price must be number/,
  );
  assert.match(produced.stdout, /done: 20 orders sent, 1 refused by serialization/);
  const ids = [...produced.stdout.matchAll(/sent order ([0-9a-f-]{36})/g)].map((m) => m[1]);
  assert.equal(ids.length, 20);

  // Both consumers read every order (each in its own group); the backlog of earlier runs is fine.
  for (const task of ["practice2:consumer:single", "practice2:consumer:batch"]) {
    const run = await spawnTask(task, [], { BATCH_SIZE: task.endsWith("batch") ? "5" : "1" });
    try {
      await eventually(
        () => ids.every((id) => run.lines.some((l) => l.includes(id))),
        60_000,
        `${task} to print all 20 orders`,
      );
    } finally {
      run.child.kill("SIGINT");
    }
    const { status, stderr } = await run.done();
    assert.equal(status.code, 0, stderr);
    assert.ok(
      run.lines.some((l) => /^stopped: \d+ read, \d+ processed, 0 dead-lettered/.test(l)),
      run.lines.join("\n"),
    );
    if (task.endsWith("batch")) {
      assert.ok(run.lines.some((l) => l.startsWith("[batch] processed 5 orders")));
    }
  }
});

Deno.test("batch consumer: processes BATCH_SIZE at a time and commits once per batch", async () => {
  const kafka = await testKafka();
  const topic = await withTopic(kafka, "orders-batch");
  const producer = new OrderProducer(kafka, { topic });
  await producer.connect();
  await Promise.all(Array.from({ length: 25 }, (_, i) => producer.send(sampleOrder(i))));
  await producer.disconnect();

  const groupId = unique("g-batch");
  const batches: ConsumedOrder[][] = [];
  const logged: string[] = [];
  const consumer = new OrderConsumer(kafka, {
    batchSize: 10,
    batchTimeoutMs: 60_000,
    topic,
    groupId,
    log: (line) => void logged.push(line),
    onOrders: (b) => void batches.push(b),
  });
  await consumer.start();
  try {
    await eventually(() => batches.length === 2, 30_000, "two full batches");
    await eventually(
      async () => (await committed(kafka, groupId, topic)) === 20,
      10_000,
      "20 committed",
    );
    await eventually(
      () => logged.some((l) => l.startsWith("[batch] holding 5 of 10")),
      30_000,
      "the 5 leftover orders fetched and held",
    );
    assert.deepEqual(
      batches.map((b) => b.length),
      [10, 10],
      "5 leftover orders wait for a full batch",
    );
    assert.equal(consumer.stats.commits, 2);
  } finally {
    await consumer.stop();
  }
  // A graceful stop processes and commits what was gathered.
  assert.deepEqual(batches.map((b) => b.length), [10, 10, 5]);
  assert.equal(await committed(kafka, groupId, topic), 25);
  assert.equal(new Set(batches.flat().map((o) => o.order.order_id)).size, 25);
});

Deno.test("batch consumer killed with SIGKILL mid-batch: uncommitted orders are re-delivered (at-least-once)", async () => {
  const kafka = await testKafka();
  const topic = await withTopic(kafka, "orders-crash");
  const groupId = unique("g-crash");
  const produced = await runTask("practice2:producer", ["--topic", topic], {
    SEND_MSG_COUNT: "15",
    SEND_MSG_INTERVAL_SECONDS: "0",
  });
  assert.equal(produced.code, 0, produced.stderr);

  const first = await spawnTask(
    "practice2:consumer:batch",
    ["--topic", topic, "--group", groupId],
    {
      BATCH_SIZE: "10",
      BATCH_TIMEOUT_MS: "60000",
    },
  );
  await eventually(
    () => first.lines.some((l) => l.startsWith("[batch] processed 10 orders")),
    60_000,
    "the first batch",
  );
  await eventually(
    async () => (await committed(kafka, groupId, topic)) === 10,
    10_000,
    "the first commit",
  );
  // The kill must land mid-batch: the other 5 fetched and held, neither processed nor committed
  // (a line said after the first batch; one before it named records that batch then took).
  const processed = first.lines.findIndex((l) => l.startsWith("[batch] processed 10 orders"));
  const holding = await eventually(
    () => first.lines.slice(processed + 1).find((l) => l.startsWith("[batch] holding 5 of 10")),
    30_000,
    "the consumer holding the other 5 orders after its first batch",
  );
  const held = holding.split(": ")[1].split(";")[0].split(" ").sort();
  first.child.kill("SIGKILL");
  await first.done();
  assert.equal(await committed(kafka, groupId, topic), 10);
  const seenFirst = first.lines.filter((l) => l.startsWith("[batch] order")).length;
  assert.equal(seenFirst, 10);

  const second = await spawnTask("practice2:consumer:batch", [
    "--topic",
    topic,
    "--group",
    groupId,
    "--max-messages",
    "5",
  ], {
    BATCH_SIZE: "5",
  });
  const { status, stderr } = await second.done();
  assert.equal(status.code, 0, stderr);
  // Exactly the held records come again: the same partitions and offsets.
  const replayed = second.lines.filter((l) => l.startsWith("[batch] order")).map((l) => {
    const m = / \(partition (\d+), offset (\d+)\)$/.exec(l);
    assert.ok(m, `an order line names its partition and offset: ${l}`);
    return `p${m[1]}@${m[2]}`;
  }).sort();
  assert.deepEqual(replayed, held, "the replayed orders are the ones held when it was killed");
  assert.equal(await committed(kafka, groupId, topic), 15);
});

Deno.test("bad records go to <topic>.dlq with the reason, the consumer keeps running and the counts reconcile", async () => {
  const kafka = await testKafka();
  const topic = await withTopic(kafka, "orders-dlq");
  const raw = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await raw.connect();
  const good = (n: number) => ({
    key: `k${n}`,
    value: Buffer.from(orderCodec.encode(sampleOrder(n))),
  });
  const bad = [
    { key: "bad-json", value: Buffer.from("{oops") },
    { key: "missing", value: Buffer.from(JSON.stringify({ order_id: "x" })) },
    {
      key: "wrong-type",
      value: Buffer.from(JSON.stringify({ ...sampleOrder(1), total_price: "ten" })),
    },
  ];
  await raw.send({
    topic,
    acks: -1,
    messages: [good(1), bad[0], good(2), bad[1], good(3), bad[2], good(4)],
  });

  const groupId = unique("g-dlq");
  const seen: string[] = [];
  const consumer = new OrderConsumer(kafka, {
    batchSize: 1,
    topic,
    groupId,
    log: quiet,
    onOrders: (b) => void seen.push(...b.map((o) => o.order.order_id)),
  });
  await consumer.start();
  try {
    await eventually(() => consumer.stats.consumed === 7, 30_000, "7 records read");
    assert.equal(consumer.stats.deadLettered, 3);
    assert.equal(consumer.stats.processed, 4);
    // Still alive: a record produced after the bad ones is processed.
    await raw.send({ topic, acks: -1, messages: [good(5)] });
    await eventually(() => consumer.stats.processed === 5, 30_000, "the record after the bad ones");
    assert.equal(consumer.stats.consumed, consumer.stats.processed + consumer.stats.deadLettered);
  } finally {
    await consumer.stop();
    await raw.disconnect();
  }

  // What is really in the topics, read by Kafka's console consumer: every source record is
  // either processed or dead-lettered, once; a dead letter written twice fails here.
  const source = await consoleRecords(topic);
  const dead = await consoleRecords(dlqTopic(topic));
  assert.equal(source.length, 8, "records in the source topic");
  assert.equal(dead.length, 3, `dead letters: ${dead.map((d) => d.key).join(", ")}`);
  assert.equal(seen.length, new Set(seen).size, "no order processed twice");
  assert.equal(seen.length + dead.length, source.length, "source = processed + dead-lettered");
  const deadAt = new Set(
    dead.map((d) => `${d.headers[DLQ_HEADERS.partition]}/${d.headers[DLQ_HEADERS.offset]}`),
  );
  const processedIds = new Set(seen);
  for (const r of source) {
    const isDead = deadAt.has(`${r.partition}/${r.offset}`);
    const isProcessed = r.key!.startsWith("k") &&
      processedIds.has(JSON.parse(r.value!).order_id);
    assert.ok(isDead !== isProcessed, `${r.key} at ${r.partition}/${r.offset}: exactly one fate`);
  }
  const byKey: Record<string, Record<string, string>> = Object.fromEntries(
    dead.map((d) => [String(d.key), d.headers]),
  );
  assert.deepEqual(Object.keys(byKey).sort(), ["bad-json", "missing", "wrong-type"]);
  assert.equal(byKey["bad-json"][DLQ_HEADERS.stage], "decode");
  assert.match(byKey["bad-json"][DLQ_HEADERS.error], /not valid UTF-8 JSON/);
  assert.equal(byKey["missing"][DLQ_HEADERS.stage], "validate");
  assert.match(byKey["missing"][DLQ_HEADERS.error], /must have required property 'user_id'/);
  assert.match(byKey["wrong-type"][DLQ_HEADERS.error], /\/total_price must be number/);
  for (const h of Object.values(byKey)) {
    assert.equal(h[DLQ_HEADERS.topic], topic);
    assert.match(h[DLQ_HEADERS.partition], /^[0-2]$/);
    assert.match(h[DLQ_HEADERS.offset], /^\d+$/);
  }
});

Deno.test("bad env values and flags stop the tasks with a message naming them", async () => {
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    [
      "practice2:producer",
      [],
      { SEND_MSG_COUNT: "many" },
      /SEND_MSG_COUNT as it must be an integer: current value is 'many'/,
    ],
    [
      "practice2:producer",
      [],
      { SEND_MSG_INTERVAL_SECONDS: "-2" },
      /SEND_MSG_INTERVAL_SECONDS as it must be a number >= 0/,
    ],
    [
      "practice2:consumer",
      [],
      { BATCH_SIZE: "0" },
      /BATCH_SIZE as it must be between 1 and 100000: current value is 0/,
    ],
    [
      "practice2:consumer:batch",
      [],
      { BATCH_SIZE: "1" },
      /batch consumer as BATCH_SIZE must be > 1/,
    ],
    ["practice2:consumer", ["--bacth"], {}, /Unknown flag '--bacth'/],
    [
      "practice2:topic",
      [],
      { KAFKA_BOOTSTRAP_SERVERS: "localhost" },
      /KAFKA_BOOTSTRAP_SERVERS as each entry must be host:port/,
    ],
  ];
  for (const [task, args, env, message] of cases) {
    const r = await runTask(task, args, env);
    assert.equal(r.code, 2, `${task} ${JSON.stringify(env)}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});
