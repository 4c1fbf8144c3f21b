/**
 * compose/extra.yaml and compose/practice5.yaml through the real Compose parser
 * (`docker compose config`), against the local stack: the Kafka node (the shared drift check),
 * Connect's image and ports, PostgreSQL with wal_level=logical, Prometheus/Alertmanager versions
 * and ports, and the tasks the Deno services run.
 */
import assert from "node:assert/strict";
import {
  DEBEZIUM_VERSION,
  KAFKA_VERSION,
  KafkaCluster,
  PROMETHEUS_PACKAGES,
} from "../../lib/stack/mod.ts";
import { PROJECT_ROOT } from "../../lib/env/paths.ts";
import { composeConfig, denoTaskOf, kafkaDrift } from "../_compose.ts";

const tasks: Record<string, string> =
  JSON.parse(await Deno.readTextFile(`${PROJECT_ROOT}/deno.json`)).tasks;

for (
  const [file, name, steps] of [
    ["compose/extra.yaml", "extra", ["extra:setup", "extra:connector", "monitoring:lag-exporter"]],
    [
      "compose/practice5.yaml",
      "practice5",
      [
        "practice5:init",
        "practice5:connector",
        "practice5:load",
        "practice5:consumer",
        "monitoring:lag-exporter",
      ],
    ],
  ] as const
) {
  Deno.test(`${file} passes docker compose config and agrees with the local stack`, async () => {
    const model = await composeConfig(file);
    assert.equal(model.name, name);
    const s = model.services;
    assert.equal(s["kafka-0"].image, `apache/kafka:${KAFKA_VERSION}`);
    assert.deepEqual(kafkaDrift(model, new KafkaCluster({ dir: "/unused", brokers: 1 })), []);
    assert.equal(s["kafka-connect"].image, `quay.io/debezium/connect:${DEBEZIUM_VERSION}`);
    const published = (svc: string, port: number) =>
      (s[svc].ports ?? []).some((p) => Number(p.published) === port);
    assert.ok(published("kafka-connect", 8083), "Connect REST on the seed's 8083");
    assert.ok(published("kafka-connect", 7081) && published("kafka-0", 7071), "JMX exporters");
    assert.ok(published("prometheus", 9090) && published("alertmanager", 9099));
    assert.ok(published("grafana", 3000), "Grafana on the seed's 3000");
    assert.ok(s.postgres.command!.includes("wal_level=logical"));
    assert.equal(
      s.prometheus.image,
      `prom/prometheus:v${PROMETHEUS_PACKAGES.prometheus.split("+")[0]}`,
    );
    assert.equal(
      s.alertmanager.image,
      `prom/alertmanager:v${PROMETHEUS_PACKAGES["prometheus-alertmanager"].split("-")[0]}`,
    );
    const run = Object.values(s).map(denoTaskOf).filter((t): t is string => !!t);
    assert.deepEqual([...run].sort(), [...steps].sort());
    for (const t of run) assert.ok(tasks[t], `deno task ${t} exists`);
  });
}
