/**
 * `deno task practice2:producer` — the seed's KafkaOrderProducer: sends SEND_MSG_COUNT orders,
 * one every SEND_MSG_INTERVAL_SECONDS, validated against the order schema, key = order id,
 * acks=all, idempotent. Halfway it also tries one deliberately unserializable order and logs
 * the serialization error without stopping.
 *
 * Env: SEND_MSG_COUNT (default 10, 0 = until Ctrl-C), SEND_MSG_INTERVAL_SECONDS (default 1),
 * KAFKA_BOOTSTRAP_SERVERS (default: the local stack). Flag: --topic NAME (default orders).
 */
import { defineTask, envInt, envNumber, runMain, sleep } from "../../lib/env/mod.ts";
import { createKafka, KAFKA_ENV, kafkaConfigFromEnv, requireTopic } from "../../lib/kafka/mod.ts";
import { OrderProducer, sampleOrder, unserializableOrder } from "../../lib/course/practice2/mod.ts";
import { SerializationError } from "../../lib/schemas/mod.ts";

const SPEC = defineTask({
  task: "practice2:producer",
  summary:
    "Sends SEND_MSG_COUNT orders (schema-validated, key = order id, acks=all, idempotent), one every SEND_MSG_INTERVAL_SECONDS; halfway it tries one unserializable order and logs the refusal.",
  flags: {
    topic: {
      type: "string",
      default: "orders",
      valueName: "NAME",
      description: "topic to send to",
    },
  },
  env: {
    ...KAFKA_ENV,
    SEND_MSG_COUNT: { description: "orders to send; 0 = until Ctrl-C", default: "10" },
    SEND_MSG_INTERVAL_SECONDS: { description: "pause between orders", default: "1" },
  },
  examples: ["SEND_MSG_COUNT=5 SEND_MSG_INTERVAL_SECONDS=0.2 deno task practice2:producer"],
});

await runMain(async (cli) => {
  const flags = cli;
  const count = envInt("SEND_MSG_COUNT", { default: 10, min: 0 });
  const intervalSec = envNumber("SEND_MSG_INTERVAL_SECONDS", { default: 1, min: 0 });
  const kafka = createKafka(kafkaConfigFromEnv({ clientId: "practice2-producer" }));
  const producer = new OrderProducer(kafka, { topic: flags.values.topic });
  const admin = kafka.admin();
  await admin.connect();
  await requireTopic(admin, producer.topic, "create it with `deno task practice2:topic`")
    .finally(() => admin.disconnect());
  await producer.connect();
  let stop = false;
  const onSignal = () => (stop = true);
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  let sent = 0;
  let refused = 0;
  const badAt = Math.max(1, Math.floor((count || 10) / 2));
  try {
    for (let i = 1; (count === 0 || i <= count) && !stop; i++) {
      if (i === badAt) {
        try {
          await producer.send(unserializableOrder());
        } catch (err) {
          if (!(err instanceof SerializationError)) throw err;
          refused++;
          console.log(`serialization error, message not sent: ${err.message}`);
        }
      }
      const order = sampleOrder(i);
      const meta = await producer.send(order);
      sent++;
      console.log(
        `sent order ${order.order_id} user=${order.user_id} total=${order.total_price} → ${producer.topic}` +
          ` partition ${meta.partition} offset ${meta.offset}`,
      );
      if (intervalSec > 0 && (count === 0 || i < count)) {
        await sleep(intervalSec * 1000);
      }
    }
  } finally {
    await producer.disconnect();
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
  console.log(`done: ${sent} orders sent, ${refused} refused by serialization`);
}, SPEC);
