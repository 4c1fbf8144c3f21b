import assert from "node:assert/strict";
import { join } from "node:path";
import { describePartitions } from "../../lib/kafka/mod.ts";
import {
  brokerLoad,
  leaderSpread,
  planDifferences,
  readPlan,
  runFailoverDrill,
  waitIsr,
} from "../../lib/course/practice4/mod.ts";
import { removeTree, runTask, testKafka, testStack, unique } from "../_stack.ts";
import { consoleRecords } from "../_console.ts";

Deno.test("practice4: reassignment ends exactly as planned with balanced leaders", async () => {
  await testStack();
  const kafka = await testKafka("practice4-test");
  const topic = unique("balanced");
  const admin = kafka.admin();
  await admin.connect();
  const dir = await Deno.makeTempDir({ prefix: "practice4-" });
  try {
    // Every partition on replicas 0,1,2: broker 0 leads all 8, the worst case to rebalance.
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{
        topic,
        replicaAssignment: Array.from({ length: 8 }, (_, partition) => ({
          partition,
          replicas: [0, 1, 2],
        })),
      }],
    });
    const before = brokerLoad(await describePartitions(admin, topic), [0, 1, 2]);
    assert.equal(leaderSpread(before), 8, "the starting point must be unbalanced");

    const res = await runTask("practice4:reassign", ["--topic", topic, "--dir", dir]);
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.match(res.stdout, /The cluster matches the plan/);

    const plan = await readPlan(join(dir, "reassignment.json"));
    assert.equal(plan.partitions.length, 8);
    assert.ok(plan.partitions.every((p) => p.topic === topic && p.replicas.length === 3));
    const after = await describePartitions(admin, topic);
    assert.deepEqual(planDifferences(plan, after), [], "replicas equal the plan");
    for (const p of plan.partitions) {
      const now = after.find((x) => x.partition === p.partition)!;
      assert.equal(
        now.leader,
        p.replicas[0],
        `partition ${p.partition} led by its preferred replica`,
      );
      assert.equal(now.isr.length, 3);
    }
    const load = brokerLoad(after, [0, 1, 2]);
    assert.ok(leaderSpread(load) <= 1, `leaders balanced: ${JSON.stringify(load)}`);
    for (const f of ["rebalance_topic.json", "rollback.json", "before.json", "after.json"]) {
      await Deno.stat(join(dir, f));
    }
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
    await removeTree(dir);
  }
});

Deno.test({
  name: "practice4: 200,000 records survive SIGKILL of broker 1 exactly once, ISR 3 → 2 → 3",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const stack = await testStack();
    const kafka = await testKafka("practice4-failover-test");
    const topic = unique("failover");
    const events: string[] = [];
    try {
      const report = await runFailoverDrill({
        kafka,
        cluster: stack.kafka,
        topic,
        records: 200_000,
        broker: 1,
        hard: true,
        onEvent: (e) => events.push(`${e.t}s ${e.event} isr=${e.isr}`),
      });
      const why = events.join("\n");
      assert.equal(report.verify.lost, 0, why);
      assert.equal(report.verify.duplicated, 0, why);
      assert.equal(report.verify.distinct, 200_000, why);
      assert.equal(report.verify.total, 200_000, why);
      assert.equal(report.minIsr, 2, `ISR went to 2: ${why}`);
      assert.deepEqual(report.finalIsr, Array(8).fill(3), `ISR back to 3: ${why}`);
      assert.ok(events.some((e) => /SIGKILL broker 1/.test(e)));
      assert.equal(report.live.distinct, 200_000, "the live consumer saw every id");
      // Counted again by Kafka's own console consumer, a reader that is not the drill's.
      const counts = new Uint32Array(200_000);
      let strays = 0;
      for (const r of await consoleRecords(topic)) {
        const id = Number(r.key);
        if (Number.isInteger(id) && id >= 0 && id < counts.length) counts[id]++;
        else strays++;
      }
      assert.equal(strays, 0, "records of the topic with a key the drill did not send");
      assert.equal(counts.filter((n) => n === 0).length, 0, "ids missing (console consumer)");
      assert.equal(counts.filter((n) => n > 1).length, 0, "ids twice (console consumer)");
    } finally {
      // Leave the shared stack as found: broker 1 up and every ISR full. A failure here is
      // reported after the drill's own outcome, which it must not hide.
      console.log(events.join("\n"));
      if (!stack.kafka.alive(1)) await stack.kafka.startNode(1);
      await stack.kafka.waitReady();
      const admin = kafka.admin();
      await admin.connect();
      try {
        const topics = (await admin.listTopics()).filter((t) =>
          t === topic || t === "__consumer_offsets"
        );
        await waitIsr(admin, topics, 3, 180_000);
        await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      } finally {
        await admin.disconnect();
      }
    }
  },
});
