import assert from "node:assert/strict";
import { join } from "node:path";
import {
  changedKeys,
  checkShape,
  describeReset,
  describeShape,
  executeReset,
  formatBytes,
  KafkaCluster,
  planReset,
  type Service,
  ShapeMismatchError,
  writeShape,
} from "../../lib/stack/mod.ts";

Deno.test("changedKeys: only invalidating keys the record has count; describeShape keeps order", () => {
  const old = { brokers: 3, portBase: 9092, clusterId: "x" };
  const asked = { brokers: 1, portBase: 9092, clusterId: "x", security: "plaintext" };
  assert.deepEqual(changedKeys(old, asked), ["brokers"]); // security was not recorded then
  assert.deepEqual(changedKeys(old, asked, ["portBase"]), []);
  assert.equal(describeShape(asked, ["brokers", "security"]), "brokers=1 security=plaintext");
  assert.equal(formatBytes(512), "512 B");
  assert.equal(formatBytes(1536 * 1024), "1.5 MB");
});

Deno.test("checkShape: new, same, empty, and a one-line refusal naming both shapes and both ways on", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "cluster.json");
    const base = {
      service: "kafka-main",
      folder: dir,
      file,
      holdsData: () => Promise.resolve(true),
    };
    assert.equal(await checkShape({ ...base, asked: { brokers: 1 } }), "new");
    await writeShape(file, { brokers: 3, portBase: 9092 });
    assert.equal(await checkShape({ ...base, asked: { brokers: 3, portBase: 9092 } }), "same");
    assert.equal(
      await checkShape({
        ...base,
        asked: { brokers: 1, portBase: 9092 },
        holdsData: () => Promise.resolve(false),
      }),
      "empty",
    );
    await assert.rejects(
      () =>
        checkShape({
          ...base,
          asked: { brokers: 1, portBase: 9092 },
          oldShapeHint: (old) => `\`deno task stack up --brokers ${old.brokers}\``,
        }),
      (e: Error) => {
        assert.ok(e instanceof ShapeMismatchError);
        assert.deepEqual(e.changed, ["brokers"]);
        assert.equal(
          e.message,
          `Refusing to start kafka-main: ${dir} holds ${
            formatBytes(JSON.stringify({ brokers: 3, portBase: 9092 }).length)
          } of data made with brokers=3, but brokers=1 was asked; nothing was changed. ` +
            "Run with the old shape (`deno task stack up --brokers 3`) or delete kafka-main's data with " +
            "`deno task stack reset kafka-main`",
        );
        return true;
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("KafkaCluster.holdsData: a fresh format is no data, a partition folder of any node is", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cluster = new KafkaCluster({ dir, brokers: 1 });
    assert.equal(await cluster.holdsData(), false);
    const data0 = join(cluster.node(0).dir, "data");
    await Deno.mkdir(data0, { recursive: true });
    await Deno.writeTextFile(join(data0, "meta.properties"), "cluster.id=x\n");
    await Deno.writeTextFile(join(data0, "bootstrap.checkpoint"), "");
    assert.equal(await cluster.holdsData(), false);
    // Node 2 of an earlier 3-node shape still counts.
    await Deno.mkdir(join(cluster.root, "node-2", "data", "orders-0"), { recursive: true });
    assert.equal(await cluster.holdsData(), true);
    assert.deepEqual(cluster.shape(), {
      brokers: 1,
      portBase: 9092,
      clusterId: "abcdefghijklmnopqrstuv",
      security: "plaintext",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("planReset: the named service only (by data or service name), unknown names listed, all without a name", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const stopped: string[] = [];
    const fake = (name: string): Service & { root: string } => ({
      name,
      root: join(dir, name),
      start: () => Promise.resolve(),
      stop: () => {
        stopped.push(name);
        return Promise.resolve();
      },
      status: () => Promise.resolve([]),
    });
    const main = new KafkaCluster({ dir, name: "main" });
    const pg = fake("postgres");
    const hdfs = fake("hdfs"); // no folder: nothing to delete
    await Deno.mkdir(join(main.root, "node-0"), { recursive: true });
    await Deno.writeTextFile(join(main.root, "cluster.json"), "{}");
    await Deno.mkdir(pg.root);
    await Deno.writeTextFile(join(pg.root, "PG_VERSION"), "15\n");
    const services = [main, pg, hdfs];

    for (const name of ["kafka-main", "main"]) {
      const plan = await planReset(services, name);
      assert.deepEqual(plan.items.map((i) => [i.name, i.folders]), [["kafka-main", [main.root]]]);
    }
    await assert.rejects(
      () => planReset(services, "kafka-nope"),
      /No service named 'kafka-nope'.*kafka-main, postgres/,
    );
    const all = await planReset(services);
    assert.deepEqual(all.items.map((i) => i.name), ["kafka-main", "postgres"]);
    assert.match(describeReset(all), /kafka-main: .*kafka-main \(\d+ B\)\n {2}postgres: /);

    assert.deepEqual(await executeReset(await planReset(services, "postgres")), ["postgres"]);
    assert.deepEqual(stopped, ["postgres"]);
    assert.equal(await Deno.stat(pg.root).then(() => true, () => false), false);
    assert.ok(await Deno.stat(join(main.root, "cluster.json")), "kafka-main's data stays");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
