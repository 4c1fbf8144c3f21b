import assert from "node:assert/strict";
import { type Admin, ConfigResourceTypes } from "kafkajs";
import {
  createKafka,
  explainKafkaError,
  type KafkaAccessError,
  type KafkaClientOptions,
} from "../../lib/kafka/mod.ts";
import { consoleRecords, generateCa, type SecureUser, Stack } from "../../lib/stack/mod.ts";
import {
  type Access,
  CONSUMER_GROUP,
  tryDescribe,
  tryRead,
  tryWrite,
} from "../../lib/course/practice6/mod.ts";
import { removeTree, runTask, testStack, unique } from "../_stack.ts";

/** Whether the secure cluster ran before this file's first test (undefined: not checked yet). */
let secureWasRunning: boolean | undefined;

async function secure() {
  if (secureWasRunning === undefined) {
    const before = await testStack();
    secureWasRunning = before.secureKafka !== undefined &&
      (await before.secureKafka.status()).every((s) => s.state === "running");
  }
  const stack = await testStack({ secure: true });
  assert.ok(stack.secureKafka, "the test stack runs the secure cluster");
  return stack.secureKafka;
}

/** Connects and lists topics; returns the explained failure, or undefined on success. */
async function probe(options: KafkaClientOptions): Promise<KafkaAccessError | undefined> {
  const opts = { ...options, logLevel: "NOTHING" as const, retries: 0, connectionTimeout: 5_000 };
  const admin = createKafka(opts).admin({ retry: { retries: 0 } });
  try {
    await admin.connect();
    await admin.listTopics();
    return undefined;
  } catch (err) {
    return explainKafkaError(err, opts);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

Deno.test("practice6: setup, producer and consumer tasks behave as the seed shows", async () => {
  await secure();
  const setup = await runTask("practice6:setup");
  assert.equal(setup.code, 0, setup.stdout + setup.stderr);
  assert.match(setup.stdout, /User:producer.*topic:topic-2.*WRITE/);
  assert.match(setup.stdout, /User:consumer.*topic:topic-1.*READ/);
  const produced = await runTask("practice6:producer", [], { SEND_MSG_COUNT: "5" });
  assert.equal(produced.code, 0, produced.stdout + produced.stderr);
  assert.match(produced.stdout, /OK: wrote 5 message\(s\) to topic-1/);
  assert.match(produced.stdout, /OK: wrote 5 message\(s\) to topic-2/);
  const consumed = await runTask("practice6:consumer", [], {
    CONSUMER_GROUP: unique(CONSUMER_GROUP),
  });
  assert.equal(consumed.code, 0, consumed.stdout + consumed.stderr);
  assert.match(consumed.stdout, /OK: read \d+ message\(s\) from topic-1/);
  assert.match(
    consumed.stdout,
    /Error: User 'consumer' is not allowed to read topic 'topic-2'.*\(TOPIC_AUTHORIZATION_FAILED\)/,
  );
});

Deno.test("practice6: wrong transport, unknown CA, wrong password and unknown user are refused clearly", async () => {
  const cluster = await secure();
  const good = cluster.clientOptions("producer");
  assert.equal(await probe(good), undefined, "the correct settings connect");
  assert.equal(await probe(cluster.clientOptions("producer", "plain")), undefined, "PLAIN too");

  const plaintext = await probe({ brokers: good.brokers, securityProtocol: "PLAINTEXT" });
  assert.equal(plaintext?.kind, "tls-expected", String(plaintext?.message));
  assert.match(plaintext!.message, /expects TLS .* this client speaks PLAINTEXT/);

  const dir = await Deno.makeTempDir({ prefix: "other-ca-" });
  try {
    const otherCa = await generateCa(dir, "some-other-ca");
    const untrusted = await probe({ ...good, caFile: otherCa });
    assert.equal(untrusted?.kind, "untrusted-certificate", String(untrusted?.message));
    assert.match(untrusted!.message, /certificate is not trusted by the CA/);
  } finally {
    await removeTree(dir);
  }

  for (const mechanism of ["scram-sha-512", "plain"] as const) {
    const base = cluster.clientOptions("producer", mechanism);
    const wrong = await probe({ ...base, password: "not-the-password" });
    assert.equal(wrong?.kind, "authentication", String(wrong?.message));
    assert.match(wrong!.message, /Authentication of user 'producer' with SASL .* failed/);
    const nobody = await probe({ ...base, username: "mallory" });
    assert.equal(nobody?.kind, "authentication", String(nobody?.message));
    assert.match(nobody!.message, /user 'mallory'/);
  }
});

Deno.test({
  name: "practice6: ACL matrix — every user × topic × operation is allowed or denied as granted",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const cluster = await secure();
    const setup = await runTask("practice6:setup");
    assert.equal(setup.code, 0, setup.stdout + setup.stderr);
    const users: SecureUser[] = ["admin", "producer", "consumer"];
    const topics = ["topic-1", "topic-2"];
    const ops = ["write", "read", "describe"] as const;
    const expected: Record<string, boolean> = {};
    for (const t of topics) {
      for (const op of ops) expected[`admin ${t} ${op}`] = true; // super user
      expected[`producer ${t} write`] = true;
      expected[`producer ${t} describe`] = true;
      expected[`producer ${t} read`] = false;
      expected[`consumer ${t} write`] = false;
    }
    expected["consumer topic-1 read"] = true;
    expected["consumer topic-1 describe"] = true;
    expected["consumer topic-2 read"] = false;
    expected["consumer topic-2 describe"] = false;

    // Something to read in both topics.
    const adminOpts = cluster.clientOptions("admin");
    for (const t of topics) {
      const w = await tryWrite(createKafka(adminOpts), adminOpts, t, 1, `matrix-seed-${t}`);
      assert.ok(w.allowed, w.allowed ? "" : w.error.message);
    }
    const group = unique(`${CONSUMER_GROUP}-matrix`);
    const actual: Record<string, boolean> = {};
    const reasons: string[] = [];
    for (const user of users) {
      const opts = { ...cluster.clientOptions(user), logLevel: "NOTHING" as const };
      const kafka = createKafka(opts);
      for (const t of topics) {
        for (const op of ops) {
          let res: Access;
          if (op === "write") res = await tryWrite(kafka, opts, t, 1, `matrix-${user}`);
          else if (op === "read") res = await tryRead(kafka, opts, t, { group, idleMs: 0 });
          else res = await tryDescribe(kafka, opts, t);
          const cell = `${user} ${t} ${op}`;
          actual[cell] = res.allowed;
          if (!res.allowed) {
            reasons.push(`${cell}: ${res.error.message}`);
            assert.equal(
              res.error.kind,
              "authorization",
              `${cell} denied by an ACL: ${res.error.message}`,
            );
          }
        }
      }
    }
    assert.deepEqual(actual, expected, reasons.join("\n"));
    assert.ok(
      reasons.some((r) => /producer topic-1 read: .*GROUP_AUTHORIZATION_FAILED/.test(r)),
      reasons.join("\n"),
    );
    assert.ok(
      reasons.some((r) => /consumer topic-2 read: .*TOPIC_AUTHORIZATION_FAILED/.test(r)),
      reasons.join("\n"),
    );
  },
});

/** Runs an admin call as some principal; the refusal, explained, or undefined when allowed. */
async function tryAdmin(
  opts: KafkaClientOptions,
  action: string,
  call: (admin: Admin) => Promise<unknown>,
): Promise<KafkaAccessError | undefined> {
  const admin = createKafka({ ...opts, logLevel: "NOTHING" }).admin({ retry: { retries: 0 } });
  try {
    await admin.connect();
    await call(admin);
    return undefined;
  } catch (err) {
    // kafkajs wraps a refused createTopics in an aggregate: explain the broker's own answer.
    const inner = (err as { errors?: unknown[] }).errors?.[0];
    return explainKafkaError(inner ?? err, opts, action);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** Begins a transaction, writes one record, commits; the refusal, or undefined when allowed. */
async function tryTransaction(
  opts: KafkaClientOptions,
  topic: string,
  transactionalId: string,
): Promise<KafkaAccessError | undefined> {
  const producer = createKafka({ ...opts, logLevel: "NOTHING" }).producer({
    transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    retry: { retries: 1 }, // an idempotent producer refuses to run without retries
  });
  try {
    await producer.connect();
    const tx = await producer.transaction();
    await tx.send({ topic, messages: [{ value: `tx ${transactionalId}` }] });
    await tx.commit();
    return undefined;
  } catch (err) {
    return explainKafkaError(err, opts, `use transactional id '${transactionalId}'`);
  } finally {
    await producer.disconnect().catch(() => {});
  }
}

Deno.test({
  name:
    "practice6: ACL matrix, part 2 — create/alter/delete topics, transactional ids, anonymous clients",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const cluster = await secure();
    const setup = await runTask("practice6:setup");
    assert.equal(setup.code, 0, setup.stdout + setup.stderr);
    const actual: Record<string, string> = {};
    const expected: Record<string, string> = {};
    const users: SecureUser[] = ["admin", "producer", "consumer"];
    const txValue = Object.fromEntries(users.map((u) => [u, `tx ${unique(`p6-tx-${u}`)}`]));
    for (const user of users) {
      const opts = cluster.clientOptions(user);
      const allowed = user === "admin"; // the super user; no ACL grants the others these
      const scratch = unique(`p6-scratch-${user}`);
      const cells: [string, () => Promise<KafkaAccessError | undefined>][] = [
        [
          "create topic",
          () =>
            tryAdmin(opts, `create topic '${scratch}'`, async (a) => {
              const created = await a.createTopics({
                topics: [{ topic: scratch, numPartitions: 1, replicationFactor: 3 }],
                waitForLeaders: false,
              });
              if (!created) throw new Error(`createTopics: ${scratch} not created`);
            }),
        ],
        [
          "alter topic-1 config",
          () =>
            tryAdmin(opts, "alter the config of topic 'topic-1'", (a) =>
              a.alterConfigs({
                validateOnly: true,
                resources: [{
                  type: ConfigResourceTypes.TOPIC,
                  name: "topic-1",
                  configEntries: [{ name: "retention.ms", value: "604800000" }],
                }],
              })),
        ],
        [
          "delete topic",
          () =>
            tryAdmin(opts, "delete a topic", (a) =>
              // The admin deletes its scratch topic; the others try the seed's topic-2.
              a.deleteTopics({ topics: [allowed ? scratch : "topic-2"], timeout: 15_000 })),
        ],
        [
          "transactional write",
          () => tryTransaction(opts, "topic-1", txValue[user].slice(3)),
        ],
      ];
      for (const [op, run] of cells) {
        const err = await run();
        actual[`${user} ${op}`] = err ? `${err.kind}: ${err.message}` : "allowed";
        expected[`${user} ${op}`] = allowed ? "allowed" : `authorization: ${err?.message}`;
      }
    }
    assert.deepEqual(actual, expected);
    // The refusals name the ACL that is missing.
    assert.match(actual["producer create topic"], /(TOPIC|CLUSTER)_AUTHORIZATION_FAILED/);
    assert.match(actual["consumer delete topic"], /TOPIC_AUTHORIZATION_FAILED/);
    assert.match(actual["producer alter topic-1 config"], /AUTHORIZATION_FAILED/);
    // No ACL on a transactional id: the broker will not even name its coordinator to them.
    assert.match(actual["producer transactional write"], /AUTHORIZATION_FAILED/);
    assert.match(actual["consumer transactional write"], /AUTHORIZATION_FAILED/);
    // Nothing a refused user tried took effect: the seed's topics are still there.
    const admin = createKafka({ ...cluster.clientOptions("admin"), logLevel: "NOTHING" }).admin();
    await admin.connect();
    try {
      const topics = await admin.listTopics();
      assert.ok(topics.includes("topic-1") && topics.includes("topic-2"), String(topics));
      assert.ok(!topics.some((t) => /^p6-scratch-(producer|consumer)-/.test(t)), String(topics));
    } finally {
      await admin.disconnect();
    }
    // …and no refused transactional write is in topic-1, committed or not, read by Kafka's own
    // console consumer as admin; the admin's own transaction is there, so the reader sees them.
    const written = new Set(
      (await consoleRecords("topic-1", {
        kafka: cluster.clientOptions("admin"),
        commandConfig: cluster.secrets().javaClientProperties.admin,
      })).map((r) => r.value),
    );
    assert.ok(written.has(txValue.admin), `the admin's transactional record is in topic-1`);
    for (const user of ["producer", "consumer"]) {
      assert.ok(!written.has(txValue[user]), `${user}'s refused transactional write is in topic-1`);
    }

    // Anonymous clients: TLS without SASL, and no TLS at all, get nothing — not even a list.
    const good = cluster.clientOptions("producer");
    const anonymous: KafkaClientOptions = {
      brokers: good.brokers,
      securityProtocol: "SSL",
      caFile: good.caFile,
    };
    // The broker closes a connection that skips the SASL handshake; the same brokers answer a
    // client with SASL at the same moment, so the closed connection is the refusal, not an outage.
    const anon = await probe(anonymous);
    assert.equal(anon?.kind, "connection", String(anon?.message));
    assert.match(anon.message, /Closed connection/);
    assert.equal(await probe(good), undefined, "the same brokers answer the producer with SASL");
    const anonWrite = await tryWrite(
      createKafka({ ...anonymous, logLevel: "NOTHING", connectionTimeout: 5_000 }),
      anonymous,
      "topic-1",
      1,
      "anonymous",
    );
    assert.equal(anonWrite.allowed, false, "an anonymous client writes nothing");
    const plain = await probe({ brokers: good.brokers, securityProtocol: "PLAINTEXT" });
    assert.equal(plain?.kind, "tls-expected", String(plain?.message));
  },
});

// Teardown, not a test: runs after the file's tests, pass or fail, and leaves the shared test
// stack as found (the secure cluster stopped again if this file started it).
Deno.test.afterAll(async () => {
  if (secureWasRunning !== false) return;
  const stack = await testStack();
  if (!stack.secureKafka) return;
  await stack.secureKafka.stop();
  const plain = new Stack({ ...stack.options, secure: false });
  await plain.up();
});
