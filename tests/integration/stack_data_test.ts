/**
 * The local stack never deletes a user's data by itself (issue 17): a shape change is
 * refused with the way on and the data stays readable; `stack reset` deletes only the named
 * service's data; an interrupted first start recovers on the next `up`; the secure cluster
 * gains a newly added user in place. Each test runs its own small stack in a temp folder on
 * ports offset 14000–15100 and takes it down in a `finally`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import pg from "pg";
import {
  dataStatus,
  runKafkaTool,
  SecureKafkaCluster,
  ShapeMismatchError,
  Stack,
} from "../../lib/stack/mod.ts";
import { createKafka, ensureTopic, type KafkaClientOptions } from "../../lib/kafka/mod.ts";
import { KAFKA_CLIENT_PORTS, STACK_PORTS } from "../../lib/env/mod.ts";
import { removeTree, runTask } from "../_stack.ts";

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

/** Every file under a folder with its size and mtime: what "nothing was touched" compares. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name);
      if (e.isDirectory) await walk(p);
      else {
        const st = await Deno.lstat(p);
        out.push(`${p} ${st.size} ${st.mtime?.getTime()}`);
      }
    }
  };
  await walk(dir);
  return out.sort();
}

async function produce(options: KafkaClientOptions, topic: string, n: number): Promise<void> {
  const kafka = createKafka({ ...options, clientId: "stack-data-test", logLevel: "NOTHING" });
  const admin = kafka.admin();
  await admin.connect();
  // ensureTopic waits out kafkajs' "does not host this topic-partition" on a fresh cluster.
  await ensureTopic(admin, { topic, partitions: 1, replicationFactor: 1 });
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  await producer.send({
    topic,
    acks: -1,
    messages: Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `record-${i}` })),
  });
  await producer.disconnect();
}

/**
 * Records of a one-partition topic as Kafka's own console consumer reads them from the
 * beginning (assigned, no group: nothing waits for a group coordinator on a loaded machine).
 */
async function consoleCount(
  bootstrap: string,
  topic: string,
  expected: number,
  commandConfig?: string,
): Promise<number> {
  const out = await runKafkaTool("org.apache.kafka.tools.consumer.ConsoleConsumer", [
    "--bootstrap-server",
    bootstrap,
    "--topic",
    topic,
    "--partition",
    "0",
    "--offset",
    "earliest",
    "--max-messages",
    String(expected),
    "--timeout-ms",
    "60000",
    ...(commandConfig ? ["--consumer.config", commandConfig] : []),
  ], { what: "console consumer" }).catch((e) => String(e)); // exits 1 at the timeout
  return out.split("\n").filter((l) => /^record-\d+$/.test(l.trim())).length;
}

/** End offset of partition 0 (a second client's view: no more records than counted). */
async function endOffset(options: KafkaClientOptions, topic: string): Promise<number> {
  const admin = createKafka({ ...options, logLevel: "NOTHING" }).admin();
  await admin.connect();
  try {
    const [p0] = await admin.fetchTopicOffsets(topic);
    return Number(p0.high);
  } finally {
    await admin.disconnect();
  }
}

async function pgQuery<T>(url: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end();
  }
}

Deno.test("a shape change is refused with the way on and the data stays; reset deletes only the named service's data", async () => {
  const dir = await Deno.makeTempDir({ prefix: "stack-data-" });
  await Deno.chmod(dir, 0o755); // PostgreSQL runs as its own OS user when we are root
  const base = { dir, portOffset: 14_000, brokers: 1, postgres: true, jmx: false };
  const stack = new Stack(base);
  const env = { STACK_DIR: dir, STACK_PORT_OFFSET: "14000" };
  try {
    await stack.up();
    await produce({ brokers: stack.kafka.bootstrap().split(",") }, "kept-records", 25);
    await pgQuery(stack.postgres!.url(), "create table kept (id int); insert into kept values (7)");
    await stack.down();
    const kafkaDir = join(dir, "kafka-main");
    const before = await snapshot(kafkaDir);
    const savedOptions = await Deno.readTextFile(join(dir, "stack.json"));

    // In code: refused before anything is touched, with the old shape and the reset named.
    await assert.rejects(
      () => new Stack({ ...base, brokers: 3 }).up(),
      (e: Error) => {
        assert.ok(e instanceof ShapeMismatchError, String(e));
        assert.equal(e.message.includes("\n"), false, "one line");
        assert.match(e.message, /kafka-main/);
        assert.match(e.message, /holds [\d.]+ [KMG]?B of data made with brokers=1/);
        assert.match(e.message, /but brokers=3 was asked/);
        assert.match(e.message, /`deno task stack up --brokers 1`/);
        assert.match(e.message, /`deno task stack reset kafka-main`/);
        return true;
      },
    );
    // Through the task a user runs: one line on stderr, exit code 1.
    const refused = await runTask("stack", ["up", "--brokers", "3", "--no-jmx"], env);
    assert.equal(refused.code, 1, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /Refusing to start kafka-main: .* but brokers=3 was asked/);
    assert.deepEqual(await snapshot(kafkaDir), before, "the refused up touched the cluster");
    assert.equal(await exists(join(kafkaDir, "node-1")), false);
    assert.equal(await Deno.readTextFile(join(dir, "stack.json")), savedOptions);

    // With the old shape the records are all there, counted by Kafka's own consumer.
    await stack.up();
    assert.equal(await consoleCount(stack.kafka.bootstrap(), "kept-records", 25), 25);
    assert.equal(await endOffset(stack.kafka.clientConfig(), "kept-records"), 25);
    const rows = await dataStatus(stack.services);
    const kafkaRow = rows.find((r) => r.service === "kafka-main")!;
    assert.match(kafkaRow.shape, /^brokers=1 portBase=23092 clusterId=\S+ security=plaintext$/);
    assert.ok(kafkaRow.bytes > 0);
    assert.match(rows.find((r) => r.service === "postgres")!.shape, /^version=\d+$/);
    const status = await runTask("stack", ["status"], env);
    assert.match(status.stdout, /kafka-main.*brokers=1 portBase=23092/);

    // reset asks; without a terminal and without --yes it deletes nothing.
    const unconfirmed = await runTask("stack", ["reset", "kafka-main"], env);
    assert.notEqual(unconfirmed.code, 0);
    assert.match(unconfirmed.stdout, new RegExp(`kafka-main: ${kafkaDir} \\(`));
    assert.match(unconfirmed.stderr, /pass --yes/);
    assert.ok(await exists(join(kafkaDir, "cluster.json")));

    const reset = await runTask("stack", ["reset", "kafka-main", "--yes"], env);
    assert.equal(reset.code, 0, reset.stdout + reset.stderr);
    assert.match(reset.stdout, /Reset: kafka-main/);
    assert.equal(await exists(kafkaDir), false, "kafka-main's data is deleted");
    assert.equal((await stack.kafka.status())[0].state, "stopped", "reset stops the service");
    // PostgreSQL's data is untouched and it still serves.
    assert.deepEqual(await pgQuery(stack.postgres!.url(), "select id from kept"), [{ id: 7 }]);
    // The new shape is welcome now.
    await new Stack({ ...base, brokers: 3 }).kafka.checkShape();
  } finally {
    await stack.down();
    await removeTree(dir);
  }
});

Deno.test("an interrupted first start (port taken, initdb cut short) recovers on the next up", async () => {
  const dir = await Deno.makeTempDir({ prefix: "stack-first-" });
  await Deno.chmod(dir, 0o755);
  const stack = new Stack({ dir, portOffset: 15_000, brokers: 1, postgres: true, jmx: false });
  const taken = Deno.listen({ hostname: "127.0.0.1", port: KAFKA_CLIENT_PORTS.main + 15_000 });
  try {
    // An initdb that died half-way: PG_VERSION written, no server ever ran on it.
    await Deno.mkdir(join(dir, "postgres", "data", "base"), { recursive: true });
    await Deno.writeTextFile(join(dir, "postgres", "data", "PG_VERSION"), "15\n");
    await assert.rejects(() => stack.up(), /port 24094 is already in use/);
    // Kafka's storage was formatted before the port check; PostgreSQL redid its initdb.
    assert.ok(await exists(join(dir, "kafka-main", "node-0", "data", "meta.properties")));
    assert.ok(await exists(join(dir, "postgres", "data", "postmaster.opts")));
    // The formatted storage holds nothing yet, so even another shape (the natural answer to a
    // taken port: other ports) is welcome and not refused.
    await new Stack({ dir, portOffset: 15_100, brokers: 1, postgres: false, jmx: false }).kafka
      .checkShape();
    taken.close();
    await stack.up();
    assert.deepEqual((await stack.status()).map((r) => [r.name, r.state]), [
      ["kafka-main-0", "running"],
      ["postgres", "running"],
    ]);
    await produce({ brokers: stack.kafka.bootstrap().split(",") }, "after-recovery", 3);
    assert.equal(await consoleCount(stack.kafka.bootstrap(), "after-recovery", 3), 3);
    assert.deepEqual(await pgQuery(stack.postgres!.url(), "select 1 as one"), [{ one: 1 }]);
  } finally {
    try {
      taken.close();
    } catch { /* closed */ }
    await stack.down();
    await removeTree(dir);
  }
});

Deno.test("secure cluster: interrupted secrets generation recovers; a newly added user is added in place, data kept", async () => {
  const dir = await Deno.makeTempDir({ prefix: "stack-secure-" });
  const secure = new SecureKafkaCluster({
    dir,
    brokers: 1,
    portBase: STACK_PORTS.secureKafka + 47_000,
  });
  try {
    // Generation cut short: a CA key and nothing else.
    await Deno.mkdir(secure.secretsDir, { recursive: true });
    await Deno.writeTextFile(join(secure.secretsDir, "ca.key"), "half-written");
    await secure.start();
    await produce(secure.clientOptions("admin"), "secure-kept", 5);
    await secure.stop();

    // Secrets from before `analytics` existed (as after an upgrade that added a principal).
    const file = join(secure.secretsDir, "secrets.json");
    const old = JSON.parse(await Deno.readTextFile(file));
    delete old.users.analytics;
    delete old.javaClientProperties.analytics;
    await Deno.writeTextFile(file, JSON.stringify(old, null, 2));

    const again = new SecureKafkaCluster({
      dir,
      brokers: 1,
      portBase: STACK_PORTS.secureKafka + 47_000,
    });
    await again.start();
    const now = again.secrets();
    assert.equal(now.users.admin, old.users.admin, "existing users keep their passwords");
    assert.equal(now.users.producer, old.users.producer);
    assert.ok(now.users.analytics && now.users.analytics !== "");
    assert.equal(now.scramPending, undefined, "every SCRAM credential was set");
    // analytics authenticates with SCRAM-SHA-512 (set by ConfigCommand on the running cluster)
    // and with PLAIN (the JAAS config of this start).
    for (const mechanism of ["scram-sha-512", "plain"] as const) {
      const producer = createKafka({
        ...again.clientOptions("analytics", mechanism),
        logLevel: "NOTHING",
      }).producer();
      await producer.connect();
      await producer.disconnect();
    }
    // The data is all there, read by Kafka's console consumer as admin.
    assert.equal(
      await consoleCount(again.bootstrap(), "secure-kept", 5, now.javaClientProperties.admin),
      5,
    );
    assert.equal(await endOffset(again.clientOptions("admin"), "secure-kept"), 5);
  } finally {
    await secure.stop();
    await removeTree(dir);
  }
});
