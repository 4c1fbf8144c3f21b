import assert from "node:assert/strict";
import {
  createKafka,
  explainKafkaError,
  type KafkaAccessError,
  type KafkaClientOptions,
} from "../../lib/kafka/mod.ts";
import { generateCa, type SecureUser, Stack } from "../../lib/stack/mod.ts";
import {
  type Access,
  CONSUMER_GROUP,
  tryDescribe,
  tryRead,
  tryWrite,
} from "../../lib/course/practice6/mod.ts";
import { runTask, testStack, unique } from "../_stack.ts";

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
    await Deno.remove(dir, { recursive: true });
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

Deno.test("practice6: the shared test stack is left as found", async () => {
  const stack = await testStack();
  if (secureWasRunning !== false || !stack.secureKafka) return;
  // This file started the secure cluster: stop it and record the stack without it again.
  await stack.secureKafka.stop();
  const plain = new Stack({ ...stack.options, secure: false });
  await plain.up();
  assert.ok((await stack.secureKafka.status()).every((s) => s.state !== "running"));
});
