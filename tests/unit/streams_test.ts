/** The streams runtime's pure parts: splitting a transaction's records into produce requests. */
import assert from "node:assert/strict";
import type { Message } from "kafkajs";
import { chunks, PARTITION_CHUNK_BYTES } from "../../lib/streams/_chunks.ts";
import { onePartitionEach } from "../../lib/streams/_commit.ts";

const byKey = (_topic: string, m: Message) => Number(m.key) % 3;

Deno.test("chunks: no partition gets more than its share of a request; order kept per partition", () => {
  const value = "x".repeat(1000);
  const messages = Array.from({ length: 3000 }, (_, i) => ({
    topic: "out",
    message: { key: String(i % 3 === 0 ? 0 : i), value },
  }));
  const out = chunks(messages, byKey);
  assert.ok(out.length > 1, "3 MB split into several requests");
  const seen: string[] = [];
  for (const chunk of out) {
    const perPartition = new Map<number, number>();
    for (const { messages: ms } of chunk) {
      for (const m of ms) {
        assert.equal(m.partition, byKey("out", m), "partition chosen by the partitioner");
        perPartition.set(m.partition!, (perPartition.get(m.partition!) ?? 0) + 1_000);
        seen.push(m.key as string);
      }
    }
    for (const bytes of perPartition.values()) assert.ok(bytes <= PARTITION_CHUNK_BYTES);
  }
  assert.deepEqual(seen, messages.map((m) => m.message.key), "every record once, in order");
});

Deno.test("chunks: a record larger than a partition's share goes alone; explicit partitions kept", () => {
  const big = { topic: "dlq", message: { key: null, value: "y".repeat(2_000_000) } };
  const small = { topic: "out", message: { key: "1", value: "z", partition: 2 } };
  const out = chunks([small, big, small], () => 0);
  assert.equal(out.length, 1, "one request (8 MiB cap), two topics");
  const dlq = out[0].find((t) => t.topic === "dlq")!;
  assert.equal(dlq.messages.length, 1);
  assert.equal(
    out[0].find((t) => t.topic === "out")!.messages.every((m) => m.partition === 2),
    true,
  );
  assert.deepEqual(chunks([], () => 0), []);
});

Deno.test("onePartitionEach: a transaction's payload goes out one partition at a time, order kept", () => {
  const m = (p: number, v: string) => ({ partition: p, value: v });
  const split = onePartitionEach([
    { topic: "a", messages: [m(0, "1"), m(1, "2"), m(0, "3")] },
    { topic: "b", messages: [m(2, "4")] },
  ]);
  assert.deepEqual(
    split.map((s) => [s.topic, s.messages.map((x) => `${x.partition}:${x.value}`)]),
    [
      ["a", ["0:1", "0:3"]],
      ["a", ["1:2"]],
      ["b", ["2:4"]],
    ],
  );
});
