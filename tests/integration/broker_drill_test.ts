/**
 * A broker drill as Kafka's system tests run them, on the test stack's main cluster (3 KRaft
 * nodes, each broker and controller): two of three nodes killed with SIGKILL during
 * production, below `min.insync.replicas=2` (and below the controller quorum). The project's
 * producer (lib/kafka's PartitionedProducer: idempotent, acks=all) must fail loudly — no
 * acknowledged record may be missing, none faked — and succeed again once one node returns.
 * (kafkajs' own producer fails this drill: after a send that timed out although the leader had
 * appended it, it reuses the sequence numbers and the broker acknowledges the next records as
 * that copy — acknowledged and lost. PartitionedProducer starts a new session after a give-up.) What is in the topic is read back with Kafka's
 * console consumer, and each partition's order is checked, not only the count.
 */
import assert from "node:assert/strict";
import { ensureTopic, PartitionedProducer } from "../../lib/kafka/mod.ts";
import { waitIsr } from "../../lib/course/practice4/mod.ts";
import { consoleRecords } from "../_console.ts";
import { testKafka, testStack, unique } from "../_stack.ts";
import { sleep } from "../../lib/env/mod.ts";

Deno.test({
  name:
    "broker drill: 2 of 3 brokers down under min ISR — the producer fails loudly, loses and fakes nothing, recovers when one returns",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const stack = await testStack();
    const kafka = await testKafka("broker-drill");
    const topic = unique("drill-minisr");
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopic(admin, {
      topic,
      partitions: 3,
      replicationFactor: 3,
      config: { "min.insync.replicas": "2" },
    });
    // Give up a batch at its first failure, so the drill sees failures while the nodes are down.
    const producer = new PartitionedProducer(kafka, {
      maxAttempts: 1,
      lingerMs: 2,
      ackTimeoutMs: 3_000,
      clientRetries: 1,
    });
    await producer.connect();
    const acked = new Set<string>();
    const failed: string[] = [];
    let seq = 0;
    /** Sends one batch (a key per partition slot, values carry a global sequence number). */
    const sendBatch = async (phase: string) => {
      const messages = Array.from({ length: 30 }, () => {
        const n = seq++;
        return { key: `k${n % 6}`, value: `${phase}:${n}` };
      });
      const results = await Promise.allSettled(messages.map((m) => producer.send(topic, m)));
      results.forEach((r, i) => {
        if (r.status === "fulfilled") acked.add(messages[i].value);
      });
      const refused = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
      if (refused.length === 0) return true;
      failed.push(`${phase}: ${(refused[0].reason as Error).message}`);
      return false;
    };
    try {
      for (let i = 0; i < 5; i++) assert.ok(await sendBatch("before"), failed.join("\n"));
      const ackedBefore = acked.size;

      // Two of three down: no partition can have 2 in-sync replicas, no controller quorum.
      await stack.kafka.stopNode(1, { hard: true });
      await stack.kafka.stopNode(2, { hard: true });
      const down: boolean[] = [];
      for (let i = 0; i < 2; i++) down.push(await sendBatch("down"));
      assert.deepEqual(down, [false, false], "every send fails while 2 of 3 are down");
      assert.equal(acked.size, ackedBefore, "nothing acknowledged while below min ISR");
      assert.ok(failed.length >= 2 && failed.every((f) => f.length > 6), failed.join("\n"));

      // One node back: quorum and ISR 2 again; the same producer succeeds.
      await stack.kafka.startNode(1);
      let recovered = false;
      for (let i = 0; i < 40 && !recovered; i++) {
        recovered = await sendBatch("after");
        if (!recovered) await sleep(1_000);
      }
      assert.ok(recovered, `no send succeeded after broker 1 returned:\n${failed.join("\n")}`);
      for (let i = 0; i < 3; i++) {
        assert.ok(await sendBatch("after"), String(failed.at(-1)));
      }
    } finally {
      await producer.disconnect().catch(() => {});
      // Leave the shared stack as found: every node up, every ISR full.
      for (const id of [1, 2]) if (!stack.kafka.alive(id)) await stack.kafka.startNode(id);
      await stack.kafka.waitReady();
      await waitIsr(admin, [topic], 3, 180_000).catch(() => {});
    }

    // What the topic really holds, by Kafka's console consumer.
    const records = await consoleRecords(topic);
    const values = records.map((r) => r.value!);
    const counts = new Map<string, number>();
    for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
    const lost = [...acked].filter((v) => !counts.has(v));
    const twice = [...counts].filter(([, n]) => n > 1).map(([v]) => v);
    console.log(
      `drill: ${acked.size} acknowledged, ${failed.length} failed sends, ${records.length} in the ` +
        `topic, ${lost.length} lost, ${twice.length} duplicated`,
    );
    assert.deepEqual(lost, [], "every acknowledged record is in the topic");
    assert.deepEqual(twice, [], "no record twice (idempotent producer)");
    // Per key (hence per partition), the sequence numbers rise with the offsets.
    const byKey = new Map<string, number[]>();
    for (const r of records) {
      const list = byKey.get(r.key!) ?? [];
      list.push(Number(r.value!.split(":")[1]));
      byKey.set(r.key!, list);
    }
    for (const [key, seqs] of byKey) {
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `order of key ${key}`);
    }
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  },
});
