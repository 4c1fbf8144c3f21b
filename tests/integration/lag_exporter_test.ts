/**
 * The consumer-lag exporter (`deno task monitoring:lag-exporter`) against the test stack's main
 * cluster: it serves a group's lag, and it stays healthy when a topic it has read is deleted.
 * kafkajs' admin client keeps asking for the metadata of every topic it was ever asked about,
 * so after one deletion each refresh failed ("This server does not host this topic-partition")
 * and the stack's exporter answered 503 for good; it now starts a fresh admin client after a
 * failed round — and a round stuck in kafkajs' retries (the end offsets of a topic deleted after
 * the round listed it) is given up as failed after 10 s, so the series do not freeze.
 */
import assert from "node:assert/strict";
import { STACK_PORTS } from "../../lib/env/mod.ts";
import { eventually, spawnTask, TEST_ENV, testKafka, unique } from "../_stack.ts";

Deno.test("lag exporter: serves a group's lag and is healthy again after a topic it reads is deleted", async () => {
  const kafka = await testKafka("lag-exporter-test");
  const admin = kafka.admin();
  await admin.connect();
  const [gone, kept] = [unique("lagx-gone"), unique("lagx-kept")];
  const port = STACK_PORTS.lagExporter + Number(TEST_ENV.STACK_PORT_OFFSET) + 11;
  const url = `http://127.0.0.1:${port}`;
  const task = await spawnTask("monitoring:lag-exporter", [
    "--port",
    String(port),
    "--interval-ms",
    "500",
  ]);
  /** The lag the exporter serves for `group` on partition 0, or undefined. */
  const lagOf = async (group: string) => {
    const text = await (await fetch(`${url}/metrics`)).text();
    const m = text.match(
      new RegExp(
        `kafka_consumergroup_lag\\{group="${group}",topic="[^"]+",partition="0"[^}]*\\} (\\d+)`,
      ),
    );
    return m ? Number(m[1]) : undefined;
  };
  /** Lag collections the exporter has done (its own counter). */
  const rounds = async () => {
    const text = await (await fetch(`${url}/metrics`)).text();
    return Number(/^lag_exporter_rounds_total(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? NaN);
  };
  const health = async () => {
    const r = await fetch(`${url}/healthz`);
    await r.body?.cancel();
    return r.status;
  };
  try {
    await admin.createTopics({
      topics: [{ topic: gone }, { topic: kept }],
      waitForLeaders: true,
    });
    const producer = kafka.producer();
    await producer.connect();
    for (const topic of [gone, kept]) {
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: 7 }, (_, i) => ({ value: String(i) })),
      });
    }
    await producer.disconnect();
    for (const topic of [gone, kept]) {
      await admin.setOffsets({
        groupId: `${topic}-g`,
        topic,
        partitions: [{ partition: 0, offset: "2" }],
      });
    }
    // 7 records, committed at 2: a lag of 5, served for the topic about to be deleted.
    const first = await eventually(() => lagOf(`${gone}-g`), 60_000, `lag of ${gone}-g`)
      .catch(async (err) => {
        const metrics = await fetch(`${url}/metrics`).then((r) => r.text()).catch((e) => `${e}`);
        throw new Error(
          `${err.message}; exporter said: ${task.lines.slice(-5).join(" | ")}; ` +
            `lag series: ${
              metrics.split("\n").filter((l) => l.startsWith("kafka_consumergroup_lag")).slice(0, 5)
                .join(" | ")
            }`,
        );
      });
    assert.equal(first, 5);
    await admin.deleteTopics({ topics: [gone] });
    const deletedAt = await rounds();
    assert.ok(Number.isFinite(deletedAt), "the exporter counts its rounds");
    // Several rounds after the deletion: the deleted topic's series is gone and it is healthy.
    await eventually(
      async () => (await rounds()) >= deletedAt + 3 && (await lagOf(`${gone}-g`)) === undefined,
      30_000,
      `3 rounds after the deletion and the lag series of ${gone}-g gone`,
    ).catch(async (err) => {
      throw new Error(
        `${err.message}; rounds ${deletedAt} → ${await rounds()}, lag of ${gone}-g ${await lagOf(
          `${gone}-g`,
        )}, health ${await health()}; exporter said: ${task.lines.slice(-5).join(" | ")}`,
      );
    });
    await eventually(async () => (await health()) === 200, 20_000, "healthy after the deletion");
    const healthyAt = await rounds();
    await eventually(async () => (await rounds()) >= healthyAt + 3, 30_000, "3 more rounds");
    assert.equal(await health(), 200, "still healthy rounds later");
    assert.equal(await lagOf(`${kept}-g`), 5, "the other group's lag still served");
  } finally {
    task.child.kill("SIGTERM");
    await task.done();
    await admin.deleteTopics({ topics: [kept] }).catch(() => {});
    await admin.disconnect();
  }
});
