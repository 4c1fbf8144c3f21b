/**
 * The independent reader itself (lib/stack's `consoleRecords`, Kafka's console consumer): what
 * it returns is the topic as of the call, whole, or it throws.
 *
 * - A transactional topic (kafkajs' transactional producer: committed, aborted, and one
 *   transaction held open across the call): read_committed returns exactly the committed
 *   records — the open transaction keeps the last stable offset below the high watermark and the
 *   read is whole at the stable offset — and read_uncommitted returns every record, the open
 *   transaction's too (it must reach the high watermark).
 * - A topic without transactions, one partition left empty: every record, stopped at the count.
 * - A read cut short: the broker holds each fetch after the first (the consumer asks for more
 *   bytes than a fetch can carry and lets the broker wait longer than the idle timeout the test
 *   gives the reader), so every run ends after the first record of many. The reader reads again,
 *   then throws naming the partition, the offset reached and the end offset; with the check off
 *   the same call returns the one record, i.e. the test fails. The same topic read with the
 *   defaults afterwards is whole.
 */
import assert from "node:assert/strict";
import type { Kafka, Transaction } from "kafkajs";
import { createKafka, ensureTopic, kafkaConfigFromEnv } from "../../lib/kafka/mod.ts";
import { consoleRecords } from "../_console.ts";
import { eventually, testStack, unique } from "../_stack.ts";

const OPTS = { sanitizeOps: false, sanitizeResources: false };

let kafka: Kafka;

/** Creates `topic` with `partitions` partitions, replicated to all three brokers. */
async function createTopic(topic: string, partitions: number): Promise<void> {
  if (!kafka) {
    await testStack();
    // Silent: kafkajs logs the coordinator's CONCURRENT_TRANSACTIONS answers to a transaction
    // begun while the last one is still completing as errors, and retries them; a send that
    // fails for good still rejects.
    kafka = createKafka(
      kafkaConfigFromEnv({ clientId: "console-reader-test", logLevel: "NOTHING" }),
    );
  }
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopic(admin, { topic, partitions, replicationFactor: 3 });
  } finally {
    await admin.disconnect();
  }
}

/** A transactional producer of its own (a fresh transactional id). */
async function transactionalProducer(topic: string) {
  const producer = kafka.producer({
    transactionalId: unique(`tx-${topic}`),
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  return producer;
}

/**
 * Sends `values` in `tx`, value i to partition i % partitions; one partition at a time, since
 * kafkajs adding several partitions to a transaction at once has the coordinator refuse all but
 * one (CONCURRENT_TRANSACTIONS, retried).
 */
async function sendIn(tx: Transaction, topic: string, values: string[], partitions: number) {
  for (let p = 0; p < partitions; p++) {
    const messages = values.filter((_, i) => i % partitions === p)
      .map((value) => ({ key: value, value, partition: p }));
    if (messages.length > 0) await tx.send({ topic, messages });
  }
}

const tagged = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `${tag}-${i}`);

Deno.test({
  name:
    "console reader: read_committed returns exactly the committed records with a transaction held open across the call; read_uncommitted every record",
  ...OPTS,
  fn: async () => {
    const topic = unique("reader-tx");
    await createTopic(topic, 3);
    const producer = await transactionalProducer(topic);
    const committed: string[] = [];
    const written: string[] = [];
    // Committed and aborted in turn, an aborted one last (its marker ends each partition).
    for (
      const [tag, commit] of [["c1", true], ["a1", false], ["c2", true], ["a2", false]] as const
    ) {
      const values = tagged(tag, 9);
      const tx = await producer.transaction();
      await sendIn(tx, topic, values, 3);
      await (commit ? tx.commit() : tx.abort());
      if (commit) committed.push(...values);
      written.push(...values);
    }
    const open = await producer.transaction();
    try {
      const pending = tagged("open", 3);
      await sendIn(open, topic, pending, 3);
      written.push(...pending);

      const records = await consoleRecords(topic, { readCommitted: true });
      assert.deepEqual(records.map((r) => r.value).sort(), [...committed].sort());
      for (const r of records) assert.equal(r.key, r.value);

      // read_uncommitted: the aborted records and the open transaction's too, each once.
      const all = await consoleRecords(topic);
      assert.deepEqual(all.map((r) => r.value).sort(), [...written].sort());
      // The open transaction's records lie at or past the last stable offset the admin lists
      // (kafkajs lists offsets read_committed): the read_committed read above had an end below
      // the high watermark and was whole there.
      const admin = kafka.admin();
      await admin.connect();
      const stable = new Map(
        (await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]),
      );
      await admin.disconnect();
      for (const r of all.filter((r) => r.value!.startsWith("open-"))) {
        assert.ok(r.offset >= stable.get(r.partition)!, JSON.stringify({ r, stable: [...stable] }));
      }
    } finally {
      await open.abort();
      await producer.disconnect();
    }
  },
});

Deno.test({
  name: "console reader: a topic without transactions is read whole, an empty partition too",
  ...OPTS,
  fn: async () => {
    const topic = unique("reader-plain");
    await createTopic(topic, 4);
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    const values = tagged("v", 30);
    try {
      // Partitions 0–2 only: partition 3 stays empty and has nothing to reach.
      await producer.send({
        topic,
        messages: values.map((value, i) => ({ key: value, value, partition: i % 3 })),
      });
    } finally {
      await producer.disconnect();
    }
    const records = await consoleRecords(topic);
    assert.deepEqual(records.map((r) => r.value).sort(), [...values].sort());
    for (const p of [0, 1, 2]) {
      assert.deepEqual(
        records.filter((r) => r.partition === p).map((r) => r.offset),
        Array.from({ length: 10 }, (_, i) => i),
        `partition ${p} in offset order`,
      );
    }
  },
});

Deno.test({
  name:
    "console reader: runs the broker holds short of the end are read again, then the reader throws naming the partition — never a short list",
  ...OPTS,
  fn: async () => {
    const topic = unique("reader-slow");
    await createTopic(topic, 1);
    const producer = await transactionalProducer(topic);
    const small = tagged("small", 20);
    try {
      // One record big enough to satisfy the reader's minimum fetch on its own, then small ones
      // no fetch can carry enough of (at most 1 KiB a fetch).
      let tx = await producer.transaction();
      await tx.send({ topic, messages: [{ key: "big", value: "b".repeat(200_000) }] });
      await tx.commit();
      tx = await producer.transaction();
      await sendIn(tx, topic, small, 1);
      await tx.commit();
    } finally {
      await producer.disconnect();
    }

    // The broker answers a fetch at once only with 100,000 bytes to give, else after 16 s: the
    // first fetch (the big record) comes at once, the next ones after the idle timeout.
    const slow = await Deno.makeTempFile({ prefix: "reader-slow-", suffix: ".properties" });
    try {
      await Deno.writeTextFile(
        slow,
        ["fetch.min.bytes=100000", "max.partition.fetch.bytes=1024", "fetch.max.wait.ms=16000"]
          .join("\n"),
      );
      // The big record (offset 0), its commit marker, the small ones, theirs: the end once the
      // last commit's marker is written (a commit returns before its markers are).
      const end = 2 + small.length + 1;
      const admin = kafka.admin();
      await admin.connect();
      try {
        await eventually(
          async () => Number((await admin.fetchTopicOffsets(topic))[0].high) === end,
          30_000,
          `the last stable offset of ${topic} at ${end}`,
        );
      } finally {
        await admin.disconnect();
      }
      await assert.rejects(
        consoleRecords(topic, { readCommitted: true, commandConfig: slow, idleMs: [8_000, 8_000] }),
        (e: Error) => {
          console.log(`  the reader threw: ${e.message}`);
          assert.match(e.message, new RegExp(`console consumer of ${topic} \\(read_committed\\)`));
          assert.match(e.message, /each of 2 run\(s\)/);
          // Partial, not empty: each run had the big record and stopped there.
          assert.match(e.message, new RegExp(`partition 0 reached 1 of ${end} \\(from 0\\)`));
          return true;
        },
      );
    } finally {
      await Deno.remove(slow);
    }

    // Nothing is wrong with the topic: read with the defaults it is whole.
    const records = await consoleRecords(topic, { readCommitted: true });
    assert.deepEqual(records.map((r) => r.key), ["big", ...small]);
  },
});
