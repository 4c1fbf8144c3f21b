/**
 * Practice 7 on the real stack: Avro through the schema registry (Apicurio, Confluent API)
 * and Kafka → HDFS through the real NameNode/DataNode.
 */
import assert from "node:assert/strict";
import type { Kafka } from "kafkajs";
import {
  DLQ_HEADERS,
  dlqTopic,
  ensureTopic,
  readTopicUntil,
  type TopicRecord,
} from "../../lib/kafka/mod.ts";
import {
  AvroUserConsumer,
  AvroUserProducer,
  createRegistry,
  type ReceivedUser,
  registryConfigFromEnv,
  wireSchemaId,
} from "../../lib/course/practice7/mod.ts";
import { USER_AVRO_VERSIONS } from "../../lib/schemas/mod.ts";
import { consoleRecords } from "../_console.ts";
import { WebHdfs } from "../../lib/lake/webhdfs.ts";
import { SchemaRegistryServer } from "../../lib/stack/mod.ts";
import { eventually, runTask, TEST_ENV, testKafka, testStack, unique } from "../_stack.ts";

async function createTopic(kafka: Kafka, topic: string, partitions = 1): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopic(admin, { topic, partitions, replicationFactor: 1 });
  } finally {
    await admin.disconnect();
  }
}

/** Reads raw records of a topic from the beginning, to its end, until it holds `count`. */
async function readRaw(kafka: Kafka, topic: string, count: number): Promise<TopicRecord[]> {
  return await readTopicUntil(kafka, {
    topics: [topic],
    until: (records) => records.length >= count,
    what: `${count} records of ${topic}`,
    timeoutMs: 60_000,
  });
}

async function registryIdOf(subject: string, version: number): Promise<number> {
  // The stack's registry asks for basic auth when the test stack is secure (practice 6 ran).
  const { url, username, password } = registryConfigFromEnv();
  const headers: Record<string, string> = username
    ? { authorization: `Basic ${btoa(`${username}:${password}`)}` }
    : {};
  const res = await fetch(`${url}/subjects/${subject}/versions/${version}`, { headers });
  assert.equal(res.status, 200, `registry has ${subject} v${version}`);
  return (await res.json()).id;
}

Deno.test("practice 7 task 1: Avro round trip through the schema registry, old records read with the new schema", async () => {
  await testStack({ registry: true });
  const kafka = await testKafka();
  const topic = unique("p7-users");
  await createTopic(kafka, topic, 3);
  const v1 = await runTask("practice7:producer", ["--schema", "v1", "--topic", topic], {
    SEND_MSG_COUNT: "3",
  });
  assert.equal(v1.code, 0, v1.stderr);
  const v2 = await runTask("practice7:producer", ["--schema", "v2", "--topic", topic], {
    SEND_MSG_COUNT: "3",
  });
  assert.equal(v2.code, 0, v2.stderr);
  const id1 = await registryIdOf(`${topic}-value`, 1);
  const id2 = await registryIdOf(`${topic}-value`, 2);
  assert.notEqual(id1, id2);

  // The wire format: magic byte 0 and the id of the writer's schema, as the registry knows it.
  const raw = await readRaw(kafka, topic, 6);
  const ids = raw.map((m) => wireSchemaId(m.value!));
  assert.equal(ids.filter((i) => i === id1).length, 3, `v1 ids in ${ids}`);
  assert.equal(ids.filter((i) => i === id2).length, 3, `v2 ids in ${ids}`);
  for (const m of raw) assert.equal(m.value![0], 0, "magic byte");

  // A v2 reader reads the v1 records with the new field's default.
  const read = await runTask("practice7:consumer", [
    "--topic",
    topic,
    "--count",
    "6",
    "--group",
    unique("p7"),
  ]);
  assert.equal(read.code, 0, read.stderr);
  const lines = read.stdout.split("\n").filter((l) => l.startsWith("received "));
  assert.equal(lines.length, 6, read.stdout);
  const users = lines.map((l) => JSON.parse(l.slice("received ".length, l.indexOf(" (written"))));
  const old = users.filter((u) => u.name.startsWith("user-v1-"));
  assert.equal(old.length, 3);
  for (const u of old) assert.equal(u.email, null);
  for (const u of users.filter((u) => u.name.startsWith("user-v2-"))) {
    assert.match(u.email, /@example\.com$/);
  }
  assert.equal(lines.filter((l) => l.includes(`written with schema id ${id1}`)).length, 3);
});

/** An Avro consumer of `topic` that collects users and dead letters until stopped. */
function collectingConsumer(kafka: Kafka, topic: string, registryUrl?: string) {
  const config = registryConfigFromEnv();
  const url = registryUrl ?? config.url;
  const users: ReceivedUser[] = [];
  const dead: { reason: string; offset: string }[] = [];
  const consumer = new AvroUserConsumer(kafka, createRegistry({ ...config, url }), {
    readerSchema: USER_AVRO_VERSIONS.v2,
    topic,
    groupId: unique("p7-bad"),
    registryUrl: url,
    registryRetryMs: 50,
    onUser: (u) => void users.push(u),
    onDeadLetter: (reason, _p, offset) => void dead.push({ reason, offset }),
  });
  return { consumer, users, dead };
}

Deno.test("practice 7 task 1: malformed payloads go to the DLQ with the reason and the consumer keeps going", async () => {
  await testStack({ registry: true });
  const kafka = await testKafka();
  const topic = unique("p7-malformed");
  await createTopic(kafka, topic);
  const registry = createRegistry(registryConfigFromEnv());
  const producer = new AvroUserProducer(kafka, registry, {
    schema: USER_AVRO_VERSIONS.v2,
    topic,
  });
  await producer.connect();
  const raw = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await raw.connect();
  const id = producer.schemaId;
  const header = (schemaId: number) => {
    const b = Buffer.alloc(5);
    b.writeInt32BE(schemaId, 1);
    return b;
  };
  try {
    await producer.send({ name: "before", favorite_number: 1, email: "b@example.com" });
    await raw.send({
      topic,
      acks: -1,
      messages: [
        { key: "json", value: Buffer.from('{"name":"not avro"}') }, // offset 1
        { key: "tombstone", value: null }, // 2
        { key: "unknown-id", value: Buffer.concat([header(2_000_000_000), Buffer.from([2])]) }, // 3
        { key: "garbage", value: Buffer.concat([header(id), Buffer.from([0xff, 0xff, 0xff])]) }, // 4
        { key: "short", value: Buffer.from([0, 0]) }, // 5
      ],
    });
    await producer.send({ name: "after", favorite_number: 2, email: "a@example.com" }); // 6
  } finally {
    await raw.disconnect();
    await producer.disconnect();
  }
  const { consumer, users, dead } = collectingConsumer(kafka, topic);
  await consumer.start();
  try {
    await eventually(() => users.length === 2 && dead.length === 5, 60_000, "2 users, 5 dead");
  } finally {
    await consumer.stop();
  }
  // Still going: the user written after the bad records was read.
  assert.deepEqual(users.map((u) => [u.user.name, u.offset]), [["before", "0"], ["after", "6"]]);

  // The DLQ, read by Kafka's console consumer: each bad record once, bytes and reason.
  const letters = await consoleRecords(dlqTopic(topic));
  const got = letters.map((l) => [
    l.key,
    l.headers[DLQ_HEADERS.offset],
    l.headers[DLQ_HEADERS.stage],
    l.headers[DLQ_HEADERS.error],
  ]);
  assert.equal(letters.length, 5, JSON.stringify(got));
  const expected: [string, string, string, RegExp][] = [
    ["json", "1", "decode", /not in the schema registry wire format/],
    ["tombstone", "2", "decode", /no value \(a tombstone\)/],
    ["unknown-id", "3", "schema", /schema id 2000000000 is unknown to the registry/],
    ["garbage", "4", "decode", new RegExp(`Avro body does not decode with schema id ${id}`)],
    ["short", "5", "decode", /not in the schema registry wire format/],
  ];
  expected.forEach(([key, offset, stage, reason], i) => {
    const [k, o, st, err] = got[i];
    assert.deepEqual([k, o, st], [key, offset, stage], `dead letter ${i}`);
    assert.match(String(err), reason, `dead letter ${key}`);
  });
  assert.equal(letters[0].value, '{"name":"not avro"}', "the original bytes are kept");
  assert.equal(letters[1].value, null, "the tombstone stays a tombstone");
});

Deno.test("practice 7 task 1: with the registry unreachable, records go to the DLQ naming it and the consumer keeps going", async () => {
  await testStack({ registry: true });
  const kafka = await testKafka();
  const topic = unique("p7-noregistry");
  await createTopic(kafka, topic);
  const producer = new AvroUserProducer(kafka, createRegistry(registryConfigFromEnv()), {
    schema: USER_AVRO_VERSIONS.v2,
    topic,
  });
  await producer.connect();
  try {
    for (const name of ["one", "two", "three"]) {
      await producer.send({ name, favorite_number: 1, email: `${name}@example.com` });
    }
  } finally {
    await producer.disconnect();
  }
  // Nothing listens on port 1: the registry cannot be reached.
  const down = "http://127.0.0.1:1/apis/ccompat/v7";
  const { consumer, users, dead } = collectingConsumer(kafka, topic, down);
  await consumer.start();
  try {
    await eventually(() => dead.length === 3, 60_000, "3 dead letters");
  } finally {
    await consumer.stop();
  }
  assert.equal(users.length, 0, "nothing decoded without the registry, nothing faked");
  const letters = await consoleRecords(dlqTopic(topic));
  assert.deepEqual(letters.map((l) => l.headers[DLQ_HEADERS.offset]), ["0", "1", "2"]);
  for (const l of letters) {
    assert.equal(l.headers[DLQ_HEADERS.stage], "registry");
    assert.match(
      l.headers[DLQ_HEADERS.error],
      /schema registry at http:\/\/127\.0\.0\.1:1\/apis\/ccompat\/v7 unreachable .*ECONNREFUSED/,
    );
    assert.equal(l.headers[DLQ_HEADERS.topic], topic);
  }
});

Deno.test("practice 7 task 1: the registry refuses an incompatible change and the task says so", async () => {
  await testStack({ registry: true });
  const topic = unique("p7-compat");
  const ok = await runTask("practice7:schema", ["register", "v1", "--topic", topic]);
  assert.equal(ok.code, 0, ok.stderr);
  const bad = await runTask("practice7:schema", ["register", "incompatible", "--topic", topic]);
  assert.equal(bad.code, 1, bad.stdout + bad.stderr);
  assert.match(bad.stderr, /refused the new schema for subject '.*-value': it is incompatible/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /, "no stack trace");
  const producer = await runTask("practice7:producer", [
    "--schema",
    "incompatible",
    "--topic",
    topic,
  ]);
  assert.equal(producer.code, 1);
  assert.match(producer.stderr, /incompatible/);
  const versions = await runTask("practice7:schema", ["versions", "--topic", topic]);
  assert.match(versions.stdout, /versions \[1\]/, "the refused schema was not registered");
});

Deno.test("practice 7 task 1: a registry with auth (as the secure stack runs it) takes the credentials from env", async () => {
  await testStack();
  const registry = new SchemaRegistryServer({
    dir: `${TEST_ENV.STACK_DIR}/auth-registry`,
    port: 8089 + Number(TEST_ENV.STACK_PORT_OFFSET),
    auth: true,
  });
  try {
    await registry.start();
    const creds = registry.credentials()!;
    assert.equal((await Deno.stat(registry.credentialsFile)).mode! & 0o777, 0o600);
    const anonymous = await fetch(`${registry.url()}/subjects`);
    await anonymous.body?.cancel();
    assert.equal(anonymous.status, 401);
    const env = {
      KAFKA_SCHEMA_REGISTRY_URL: registry.url(),
      SCHEMA_REGISTRY_USERNAME: creds.username,
      SCHEMA_REGISTRY_PASSWORD: creds.password,
    };
    const topic = unique("p7-auth");
    const ok = await runTask("practice7:schema", ["register", "v1", "--topic", topic], env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /Registered v1 of .*-value .*schema id \d+/);
    const wrong = await runTask("practice7:schema", ["register", "v1", "--topic", topic], {
      ...env,
      SCHEMA_REGISTRY_PASSWORD: "wrong",
    });
    assert.notEqual(wrong.code, 0);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /refused the credentials of user 'registry' \(401\)/);
  } finally {
    await registry.stop();
  }
});

Deno.test("practice 7 task 2: hadoop-topic events are stored in HDFS and read back", async () => {
  await testStack({ hdfs: true });
  const kafka = await testKafka();
  const topic = unique("hadoop-topic");
  await createTopic(kafka, topic);
  const events = [1, 2, 3, 4, 5, 6].map((i) => ({
    event: `type_${(i % 3) + 1}`,
    message: `message_${i}`,
  }));
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic,
    acks: -1,
    messages: [
      ...events.slice(0, 3).map((e) => ({ value: JSON.stringify(e) })),
      { value: '{"event": "type_1"}' }, // no message: fails the schema
      ...events.slice(3).map((e) => ({ value: JSON.stringify(e) })),
    ],
  });
  await producer.disconnect();
  const dir = `/practice7/${topic}`;
  const run = await runTask("practice7:hdfs-consumer", ["--topic", topic, "--dir", dir]);
  assert.equal(run.code, 0, run.stderr);
  for (const e of events) {
    assert.ok(run.stdout.includes(`read back: ${JSON.stringify(e)}`), run.stdout);
  }

  // What is in HDFS, read independently of the task.
  const hdfs = new WebHdfs();
  const files = await hdfs.walk(dir);
  assert.ok(files.length >= 1);
  const stored = [];
  for (const f of files) {
    const text = new TextDecoder().decode(await hdfs.read(f.path));
    stored.push(...text.split("\n").filter(Boolean).map((l) => JSON.parse(l)));
  }
  assert.deepEqual(stored, events);

  // The invalid event went to the DLQ with its reason, and a second run finds nothing new.
  const [dead] = await readRaw(kafka, dlqTopic(topic), 1);
  assert.match(String(dead.headers![DLQ_HEADERS.error]), /message/);
  const again = await runTask("practice7:hdfs-consumer", ["--topic", topic, "--dir", dir]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /No new events/);

  // `stack status` shows HDFS's capacity and live DataNodes.
  const status = await runTask("stack", ["status"]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(
    status.stdout,
    /hdfs-namenode.*running.*1 live DataNode\(s\), capacity [\d.]+ GB, used [\d.]+ GB, free [\d.]+ GB/,
  );
  assert.match(status.stdout, /hdfs-datanode.*running.*serving/);
});
