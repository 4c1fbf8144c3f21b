import assert from "node:assert/strict";
import { KafkaCluster, TEST_BROKERS } from "../../lib/stack/mod.ts";
import { PROJECT_ROOT } from "../../lib/env/paths.ts";
import { ORDERS_TOPIC, PRACTICE2_ENV } from "../../lib/course/practice2/topics.ts";
import { OrderConsumer } from "../../lib/course/practice2/consumer.ts";
import { createKafka } from "../../lib/kafka/mod.ts";
import { composeConfig, denoTaskOf, kafkaDrift } from "../_compose.ts";

const FILE = "compose/practice2.yaml";
const tasks: Record<string, string> =
  JSON.parse(await Deno.readTextFile(`${PROJECT_ROOT}/deno.json`)).tasks;

Deno.test("compose/practice2.yaml passes docker compose config", async () => {
  const model = await composeConfig(FILE);
  assert.equal(model.name, "practice2");
  for (
    const s of [
      "kafka-0",
      "kafka-1",
      "kafka-2",
      "kafka-ui",
      "kafka-init",
      "kafka-producer",
      "single-kafka-consumer",
      "batch-kafka-consumer",
    ]
  ) {
    assert.ok(model.services[s], `service ${s}`);
  }
});

Deno.test("the 3-node compose files and the local stack agree on the cluster", async () => {
  for (const file of ["compose/practice3.yaml", "compose/practice4.yaml"]) {
    assert.deepEqual(
      kafkaDrift(await composeConfig(file), new KafkaCluster({ dir: "/unused", brokers: 3 })),
      [],
      file,
    );
  }
});

Deno.test("compose/practice2.yaml and the local stack agree on the cluster", async () => {
  const model = await composeConfig(FILE);
  // The cluster the integration tests run (TEST_BROKERS nodes), not a number written here.
  assert.deepEqual(
    kafkaDrift(model, new KafkaCluster({ dir: "/unused", brokers: TEST_BROKERS })),
    [],
  );
  // The check is real: a cluster of another shape or on other ports drifts.
  assert.ok(
    kafkaDrift(model, new KafkaCluster({ dir: "/unused", brokers: 3, portBase: 9093 })).length > 0,
  );
  assert.ok(kafkaDrift(model, new KafkaCluster({ dir: "/unused", brokers: 1 })).length > 0);
});

Deno.test("compose/practice2.yaml creates the topic the tasks use, and its services use the tasks' env", async () => {
  const model = await composeConfig(FILE);
  const init = [
    ...(model.services["kafka-init"].entrypoint ?? []),
    ...(model.services["kafka-init"].command ?? []),
  ].join(" ");
  assert.match(
    init,
    new RegExp(
      `--topic ${ORDERS_TOPIC.topic} --partitions ${ORDERS_TOPIC.partitions} --replication-factor ${ORDERS_TOPIC.replicationFactor}`,
    ),
  );
  for (const [k, v] of Object.entries(ORDERS_TOPIC.config ?? {})) {
    assert.match(init, new RegExp(`--config ${k}=${v}`));
  }

  const producer = model.services["kafka-producer"];
  assert.equal(denoTaskOf(producer), "practice2:producer");
  for (const name of PRACTICE2_ENV.producer) {
    assert.ok(producer.environment?.[name] !== undefined, `producer env ${name}`);
  }
  // The group each compose consumer really joins, as the consumer picks it from its env.
  const kafka = createKafka({ brokers: ["unused:9092"], logLevel: "NOTHING" });
  const groups: string[] = [];
  for (
    const [service, batch] of [["single-kafka-consumer", false], [
      "batch-kafka-consumer",
      true,
    ]] as const
  ) {
    const s = model.services[service];
    assert.ok(tasks[denoTaskOf(s)!], `${service} runs an existing task`);
    for (const name of PRACTICE2_ENV.consumer) {
      assert.ok(s.environment?.[name] !== undefined, `${service} env ${name}`);
    }
    const size = Number(s.environment?.BATCH_SIZE);
    assert.equal(
      size > 1,
      batch,
      `${service}: BATCH_SIZE=${size} selects the ${batch ? "batch" : "single"} consumer`,
    );
    const consumer = new OrderConsumer(kafka, { batchSize: size, log: () => {} });
    assert.equal(consumer.mode, batch ? "batch" : "single", service);
    groups.push(consumer.groupId);
  }
  // Two groups: each compose consumer reads every order, as the seed asks.
  assert.equal(new Set(groups).size, 2, `groups ${groups}`);
});

Deno.test("the env names compose sets are the ones the code reads", async () => {
  const sources = await Promise.all(
    ["tasks/practice2/producer.ts", "tasks/practice2/consumer.ts", "lib/kafka/client.ts"].map((f) =>
      Deno.readTextFile(`${PROJECT_ROOT}/${f}`)
    ),
  );
  for (const name of [...PRACTICE2_ENV.producer, ...PRACTICE2_ENV.consumer]) {
    assert.ok(sources.some((src) => src.includes(`"${name}"`)), `${name} is read somewhere`);
  }
});

Deno.test("compose/practice6.yaml passes docker compose config once its secrets are given, and names them when not", async () => {
  const secrets = Object.fromEntries(
    ["STORE", "ADMIN", "PRODUCER", "CONSUMER"].map((
      who,
    ) => [`PRACTICE6_${who}_PASSWORD`, `pw-${who.toLowerCase()}`]),
  );
  const model = await composeConfig("compose/practice6.yaml", secrets);
  assert.ok(["kafka-0", "kafka-1", "kafka-2"].every((s) => model.services[s]));
  await assert.rejects(
    () => composeConfig("compose/practice6.yaml"),
    /required variable PRACTICE6_[A-Z]+_PASSWORD is missing/,
  );
});
