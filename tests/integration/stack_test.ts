import assert from "node:assert/strict";
import { join } from "node:path";
import { cmdline, isAlive, KafkaCluster, Stack, StackError } from "../../lib/stack/mod.ts";
import { eventually, removeTree, TEST_ENV, testKafka, testStack } from "../_stack.ts";
import { STACK_PORTS } from "../../lib/env/mod.ts";

Deno.test("the test stack serves: 3 brokers registered, a controller elected, PostgreSQL answers", async () => {
  const stack = await testStack();
  // Other test files may have added services (Connect, HDFS, …); these two are always there.
  const rows = (await stack.status()).filter((r) => /^(kafka-main-\d|postgres)$/.test(r.name));
  assert.deepEqual(rows.map((r) => [r.name, r.state]), [
    ["kafka-main-0", "running"],
    ["kafka-main-1", "running"],
    ["kafka-main-2", "running"],
    ["postgres", "running"],
  ]);
  assert.match(rows[3].health ?? "", /^serving \(PostgreSQL \d+/);
  const admin = (await testKafka()).admin();
  await admin.connect();
  try {
    const cluster = await admin.describeCluster();
    assert.equal(cluster.clusterId, "abcdefghijklmnopqrstuv");
    assert.deepEqual(cluster.brokers.map((b) => b.nodeId).sort(), [0, 1, 2]);
    assert.ok(cluster.controller !== null && cluster.controller >= 0);
  } finally {
    await admin.disconnect();
  }
});

Deno.test("a second up is a no-op: same pids, no restart", async () => {
  const stack = await testStack();
  const before = (await stack.status()).map((r) => r.pid);
  const t0 = Date.now();
  await stack.up();
  assert.deepEqual((await stack.status()).map((r) => r.pid), before);
  // Same pids above is the proof (a restart would change them); how long the health checks of
  // every service take on a loaded machine is not this test's business.
  // Late in the suite every Deno service of the stack still answers its /healthz (the lag
  // exporter once went unhealthy for good after topics were deleted, and up waited on it).
  const unhealthy = await eventually(
    async () => {
      // A Deno service's health is "serving", "HTTP <status>" or "starting" (other services
      // describe theirs in words).
      const bad = (await stack.status()).filter((r) =>
        /^(HTTP \d+|starting)$/.test(r.health ?? "")
      );
      return bad.length === 0 ? [] : (Date.now() - t0 > 30_000 ? bad : undefined);
    },
    60_000,
    "the Deno services' health",
  );
  assert.deepEqual(
    unhealthy.map((r: { name: string; health?: string }) => `${r.name}: ${r.health}`),
    [],
  );
});

Deno.test("a stale pid file is shown and replaced by up; down leaves no process behind", async () => {
  const dir = await Deno.makeTempDir({ dir: TEST_ENV.STACK_DIR, prefix: "own-" });
  const stack = new Stack({ dir, brokers: 1, postgres: false, portOffset: 21_600 });
  const node = stack.kafka.node(0);
  try {
    await Deno.mkdir(node.dir, { recursive: true });
    await Deno.writeTextFile(node.pidFile, "999999\n");
    assert.equal((await stack.status())[0].state, "stale");
    await stack.up();
    const [row] = await stack.status();
    assert.equal(row.state, "running");
    assert.notEqual(row.pid, 999999);
    assert.ok(cmdline(row.pid!).includes(node.config));
    assert.equal(
      JSON.parse(await Deno.readTextFile(join(dir, "endpoints.json"))).kafka.main,
      "localhost:30694",
    );

    const stopped = await stack.down();
    assert.deepEqual(stopped, ["main"]);
    assert.equal(isAlive(row.pid!), false, "no process may survive down");
    assert.equal((await stack.status())[0].state, "stopped");
    assert.equal(await Deno.stat(join(dir, "endpoints.json")).then(() => true, () => false), false);
  } finally {
    await stack.down();
    await removeTree(dir);
  }
});

Deno.test("a bad broker setting fails up with Kafka's own message", async () => {
  const dir = await Deno.makeTempDir({ dir: TEST_ENV.STACK_DIR, prefix: "broken-" });
  const cluster = new KafkaCluster({
    dir,
    name: "broken",
    brokers: 1,
    portBase: STACK_PORTS.kafka + 21_700,
    properties: { "num.network.threads": "many" },
  });
  try {
    await assert.rejects(() => cluster.start(), (e: Error) => {
      assert.ok(e instanceof StackError, String(e));
      assert.match(e.message, /Invalid value many for configuration num\.network\.threads/);
      return true;
    });
  } finally {
    await cluster.stop();
    await removeTree(dir);
  }
});

Deno.test("a node that dies during start-up fails up with the tail of its log", async () => {
  const dir = await Deno.makeTempDir({ dir: TEST_ENV.STACK_DIR, prefix: "dying-" });
  // 8 MB of heap is far too little for a broker: the JVM starts, then Kafka dies.
  const cluster = new KafkaCluster({
    dir,
    name: "dying",
    brokers: 1,
    portBase: STACK_PORTS.kafka + 21_800,
    heapMb: 8,
  });
  try {
    await assert.rejects(() => cluster.start(), (e: Error) => {
      assert.ok(e instanceof StackError, String(e));
      assert.match(e.message, /exited during start-up/);
      assert.match(e.message, /Last lines of .*server\.log/);
      assert.match(e.message, /OutOfMemoryError|heap/i);
      return true;
    });
    assert.equal((await cluster.status())[0].state, "stale");
  } finally {
    await cluster.stop();
    await removeTree(dir);
  }
});
