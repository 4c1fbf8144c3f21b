/**
 * `deno task demo:practice2` — practice 2 end to end on a real local cluster.
 *
 * Brings up the stack (3 KRaft nodes + PostgreSQL; a no-op when it is already up), creates
 * `orders` (3 partitions, RF 2), starts the single and the batch consumer, produces
 * SEND_MSG_COUNT orders (default 20) with the one deliberately unserializable order, writes one
 * malformed record to show the dead-letter topic, waits until both consumers have every order,
 * and prints what was produced and consumed. The stack keeps running afterwards
 * (`deno task stack down` stops it). Exit code 1 when a consumer missed an order.
 */
import { defineTask, envInt, envNumber, runMain, SERVICE_ENV, sleep } from "../../lib/env/mod.ts";
import {
  createKafka,
  describePartitions,
  dlqTopic,
  ensureTopic,
  formatDescription,
  topicConfig,
} from "../../lib/kafka/mod.ts";
import { type ConsumedOrder, OrderConsumer } from "../../lib/course/practice2/mod.ts";
import { OrderProducer, sampleOrder, unserializableOrder } from "../../lib/course/practice2/mod.ts";
import { ORDERS_TOPIC } from "../../lib/course/practice2/mod.ts";
import { SerializationError } from "../../lib/schemas/mod.ts";
import { Stack } from "../../lib/stack/mod.ts";

const step = (s: string) => console.log(`\n== ${s}`);

const SPEC = defineTask({
  task: "demo:practice2",
  summary:
    "Practice 2 end to end on a real local cluster: brings up the stack, creates orders, runs both consumers, produces orders (one unserializable, one malformed to the DLQ) and prints what each consumer got.",
  env: {
    ...SERVICE_ENV.stack,
    SEND_MSG_COUNT: { description: "orders to produce", default: "20" },
    SEND_MSG_INTERVAL_SECONDS: { description: "pause between orders", default: "0.1" },
  },
  examples: ["deno task demo:practice2"],
});

await runMain(async () => {
  const count = envInt("SEND_MSG_COUNT", { default: 20, min: 1, max: 100_000 });
  const intervalSec = envNumber("SEND_MSG_INTERVAL_SECONDS", { default: 0.1, min: 0 });

  step("local stack: 3 KRaft nodes (broker + controller) and PostgreSQL");
  const stack = new Stack({ ...(await Stack.load()).options, brokers: 3 });
  await stack.up();
  console.log(`Kafka ${stack.kafka.bootstrap()}  PostgreSQL ${stack.postgres?.url() ?? "-"}`);
  const kafka = createKafka({
    brokers: stack.kafka.bootstrap().split(","),
    clientId: "demo",
    logLevel: "ERROR",
  });

  step(`topic ${ORDERS_TOPIC.topic}`);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopic(admin, ORDERS_TOPIC);
  console.log(
    // Described exactly as `deno task practice2:topic` does: partitions and the topic's configs.
    formatDescription(
      ORDERS_TOPIC.topic,
      await describePartitions(admin, ORDERS_TOPIC.topic),
      await topicConfig(admin, ORDERS_TOPIC.topic),
    ),
  );
  await admin.disconnect();

  step("consumers: single (auto-commit) and batch (BATCH_SIZE=10, manual commit per batch)");
  const seen = { single: new Set<string>(), batch: new Set<string>() };
  const consumers = (["single", "batch"] as const).map((mode) =>
    new OrderConsumer(kafka, {
      batchSize: mode === "single" ? 1 : 10,
      batchTimeoutMs: 2_000,
      log: (line) => console.log(`  ${line}`),
      onOrders: (batch: ConsumedOrder[]) => {
        for (const o of batch) seen[mode].add(o.order.order_id);
        if (mode === "batch") console.log(`  [batch] got ${batch.length} orders`);
        else {console.log(
            `  [single] got order ${batch[0].order.order_id} (partition ${batch[0].partition})`,
          );}
      },
    })
  );
  await Promise.all(consumers.map((c) => c.start()));

  step(`producer: ${count} orders, one every ${intervalSec}s, plus one that cannot be serialized`);
  const producer = new OrderProducer(kafka);
  await producer.connect();
  const sent: string[] = [];
  for (let i = 1; i <= count; i++) {
    if (i === Math.ceil(count / 2)) {
      try {
        await producer.send(unserializableOrder());
      } catch (err) {
        if (!(err instanceof SerializationError)) throw err;
        console.log(`  serialization error, not sent: ${err.message}`);
      }
    }
    const order = sampleOrder(i);
    const meta = await producer.send(order);
    sent.push(order.order_id);
    console.log(
      `  sent ${order.order_id} user=${order.user_id} total=${order.total_price} → partition ${meta.partition} offset ${meta.offset}`,
    );
    if (intervalSec > 0) await sleep(intervalSec * 1000);
  }
  await producer.disconnect();

  step(
    `one malformed record straight onto ${ORDERS_TOPIC.topic}: it must land in ${
      dlqTopic(ORDERS_TOPIC.topic)
    }`,
  );
  const raw = kafka.producer();
  await raw.connect();
  await raw.send({
    topic: ORDERS_TOPIC.topic,
    acks: -1,
    messages: [{ key: "demo-bad", value: "{this is not json" }],
  });
  await raw.disconnect();

  const deadline = Date.now() + 60_000;
  const complete = () => sent.every((id) => seen.single.has(id) && seen.batch.has(id));
  while (!complete() && Date.now() < deadline) await sleep(200);
  await sleep(2_500); // let the malformed record reach both DLQ paths
  await Promise.all(consumers.map((c) => c.stop()));

  step("result");
  const rows = consumers.map((c) => ({
    consumer: `${c.mode} (${c.groupId})`,
    "orders read": c.stats.consumed,
    processed: c.stats.processed,
    "dead-lettered": c.stats.deadLettered,
    commits: c.mode === "batch" ? c.stats.commits : "auto",
    "all sent orders seen": sent.every((id) => seen[c.mode].has(id)) ? "yes" : "NO",
  }));
  console.table(rows);
  console.log(
    `produced ${sent.length} orders; 1 refused by serialization; 1 malformed record → ${
      dlqTopic(ORDERS_TOPIC.topic)
    }`,
  );
  console.log("The stack keeps running: `deno task stack status`, `deno task stack down`.");
  if (!complete()) {
    console.error("A consumer missed orders within 60 s — see the log above.");
    Deno.exit(1);
  }
}, SPEC);
