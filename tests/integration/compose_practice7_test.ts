/**
 * compose/practice7.yaml through the real Compose parser (`docker compose config`), against the
 * local stack: the Kafka node, the registry and Hadoop versions, the ports, and the tasks the
 * Deno services run.
 */
import assert from "node:assert/strict";
import {
  APICURIO_VERSION,
  HADOOP_VERSION,
  KAFKA_VERSION,
  KafkaCluster,
} from "../../lib/stack/mod.ts";
import { PROJECT_ROOT } from "../../lib/env/paths.ts";
import { HADOOP_TOPIC } from "../../lib/course/practice7/mod.ts";
import { composeConfig, denoTaskOf, kafkaDrift } from "../_compose.ts";

const FILE = "compose/practice7.yaml";
const tasks: Record<string, string> =
  JSON.parse(await Deno.readTextFile(`${PROJECT_ROOT}/deno.json`)).tasks;

Deno.test("compose/practice7.yaml passes docker compose config and agrees with the local stack", async () => {
  const model = await composeConfig(FILE);
  assert.equal(model.name, "practice7");
  const s = model.services;
  assert.equal(s["kafka-0"].image, `apache/kafka:${KAFKA_VERSION}`);
  assert.deepEqual(kafkaDrift(model, new KafkaCluster({ dir: "/unused", brokers: 1 })), []);
  assert.ok(kafkaDrift(model, new KafkaCluster({ dir: "/unused", brokers: 3 })).length > 0);

  assert.equal(s["schema-registry"].image, `apicurio/apicurio-registry:${APICURIO_VERSION}`);
  assert.ok(
    s["schema-registry"].ports!.some((p) => Number(p.published) === 8081 && p.target === 8080),
    "the seed's registry port 8081",
  );
  // Docker Hub's apache/hadoop images trail Maven Central by a patch release: same minor.
  const minor = (v: string) => v.split(".").slice(0, 2).join(".");
  for (const name of ["namenode", "datanode"]) {
    assert.equal(minor(s[name].image!.split(":")[1]), minor(HADOOP_VERSION), name);
    assert.equal(s[name].environment!["HDFS-SITE.XML_dfs.webhdfs.enabled"], "true");
  }
  for (const port of [9870, 9000]) {
    assert.ok(s.namenode.ports!.some((p) => p.target === port && Number(p.published) === port));
  }

  for (
    const name of [
      "practice7-producer",
      "practice7-consumer",
      "practice7-hdfs-consumer",
      "lake-sink",
    ]
  ) {
    const task = denoTaskOf(s[name]);
    assert.ok(task && tasks[task], `${name} runs a deno task (${task})`);
    assert.equal(s[name].environment!.KAFKA_BOOTSTRAP_SERVERS, "kafka-0:9092");
    assert.equal(
      s[name].environment!.KAFKA_SCHEMA_REGISTRY_URL,
      "http://schema-registry:8080/apis/ccompat/v7",
    );
    assert.equal(s[name].environment!.WEBHDFS_URL, "http://namenode:9870/webhdfs/v1");
  }
  assert.ok(s["practice7-hdfs-consumer"].command!.includes(HADOOP_TOPIC.topic));
  assert.match(s["lake-sink"].environment!.LAKE_TOPICS!, /hadoop-topic=hadoop-event/);
  // The producer and the consumer services meet on one topic: each one's --topic, or the
  // default its task really prints in --help.
  const topicOf = async (name: string): Promise<string> => {
    const cmd = s[name].command!;
    const i = cmd.indexOf("--topic");
    if (i >= 0) return cmd[i + 1];
    const help = await new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", denoTaskOf(s[name])!, "--help"],
      cwd: PROJECT_ROOT,
      stdin: "null",
    }).output();
    const text = new TextDecoder().decode(help.stdout);
    const m = /--topic NAME .*\(default: ([^)]+)\)/.exec(text);
    assert.ok(m, `${name}: --help shows the default topic:\n${text}`);
    return m[1];
  };
  const written = await topicOf("practice7-producer");
  assert.equal(await topicOf("practice7-consumer"), written, "the consumer reads what is written");
});
