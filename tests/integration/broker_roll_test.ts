/**
 * Broker drills as Kafka's system tests run them, during production, on a 3-node KRaft cluster
 * of this file's own (a temp folder, ports offset by 16000 — below the ephemeral range that
 * client sockets take; it runs in the side lane beside the shared stack), through lib/stack's
 * BrokerDrill: the leader of a partition killed with SIGKILL; the active controller (as Kafka's
 * `kafka-metadata-quorum` names it) killed with SIGKILL; a rolling restart of all three nodes. Records keep going out the whole time through
 * the project's producer (idempotent, acks=all, `min.insync.replicas=2`); after each fault it
 * must acknowledge again. What Kafka's console consumer then reads must hold every acknowledged
 * record once, per key in the order sent — checked here from the raw records. One fixed
 * schedule; `deno task soak` repeats random ones.
 */
import assert from "node:assert/strict";
import { BrokerDrill, Stack } from "../../lib/stack/mod.ts";

Deno.test({
  name:
    "broker drills under load: leader kill, active-controller kill, rolling restart — nothing acknowledged is lost, duplicated or reordered",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "broker-roll-" });
    const stack = new Stack({ dir, portOffset: 16_000, brokers: 3, postgres: false, jmx: false });
    try {
      await stack.up();
      const drill = new BrokerDrill(stack.kafka, { log: (l) => console.log(`drill: ${l}`) });
      const before = await drill.activeController();
      await drill.start();
      for (const fault of ["leader-kill", "controller-kill", "roll"] as const) {
        await drill.inject(fault);
      }
      const { acked, failed, records, faults } = await drill.finish();
      // The controller may move between the question above and the kill: check the shape only.
      assert.ok(Number.isInteger(before));
      assert.match(faults[1], /active controller (\d) SIGKILLed, (?!\1)\d took over/);

      // What the topic really holds (Kafka's console consumer), against what was acknowledged.
      const counts = new Map<string, number>();
      for (const r of records) counts.set(r.value!, (counts.get(r.value!) ?? 0) + 1);
      const lost = [...acked].filter((v) => !counts.has(v));
      const twice = [...counts].filter(([, n]) => n > 1).map(([v]) => v);
      console.log(
        `drill: ${faults.join("; ")} — ${acked.size} acknowledged, ${failed.length} failed, ` +
          `${records.length} in the topic, ${lost.length} lost, ${twice.length} duplicated`,
      );
      assert.deepEqual(lost, [], "every acknowledged record is in the topic");
      assert.deepEqual(twice, [], "no record twice (idempotent producer)");
      // Records of every phase, i.e. the producer acknowledged again after each fault.
      for (const phase of ["warm-up", "1-leader-kill", "2-controller-kill", "3-roll"]) {
        assert.ok(
          records.some((r) => r.value!.startsWith(`${phase}:`)),
          `records of ${phase} in the topic`,
        );
      }
      // Per key (hence per partition), the sequence numbers rise with the offsets.
      const byKey = new Map<string, number[]>();
      for (const r of records) {
        const list = byKey.get(r.key!) ?? [];
        list.push(Number(r.value!.split(":")[1]));
        byKey.set(r.key!, list);
      }
      assert.equal(byKey.size, 6, "all six keys in the topic");
      for (const [key, seqs] of byKey) {
        assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `order of key ${key}`);
      }
    } finally {
      await stack.down();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
