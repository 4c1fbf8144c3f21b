/**
 * Pure checks of the Connect/CDC/monitoring pieces: the experiment table and chart, the lag
 * arithmetic, change-event decoding, the connector configs — and that compose/extra.yaml and
 * compose/practice5.yaml stay in step with the local stack (same versions, same rule files,
 * same Prometheus jobs, the connector file the task registers); the real Compose parser runs in
 * tests/integration/compose_connect_test.ts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "yaml";
import { parsePrometheusText } from "../../lib/connect/client.ts";
import { debeziumConnection } from "../../lib/connect/postgres.ts";
import { EXTRA_TOPIC, extraSourceConfig } from "../../lib/course/extra/connector.ts";
import {
  type ExperimentResult,
  markdownTable,
  median,
  SEED_MATRIX,
  svgChart,
} from "../../lib/course/extra/experiments.ts";
import { committedOffsets, groupLag } from "../../lib/monitoring/lag.ts";
import type { Admin } from "kafkajs";
import { decodeChangeEvent, readConnectorFile } from "../../lib/course/practice5/cdc.ts";
import {
  DEBEZIUM_VERSION,
  KAFKA_VERSION,
  PROMETHEUS_PACKAGES,
  prometheusConfig,
} from "../../lib/stack/mod.ts";
import { PROJECT_ROOT } from "../../lib/env/paths.ts";

const compose = (name: string) =>
  parse(Deno.readTextFileSync(join(PROJECT_ROOT, "compose", name)), { merge: true });

Deno.test("the seed's matrix reaches the connector: each row's settings in the config the experiment registers", () => {
  // The seed's table (batch.max.rows, batch.size, linger.ms, compression.type, buffer.memory),
  // checked where it takes effect: in the Connect config built from each row.
  const seed = [
    [100, 500, 0, "none", 33554432],
    [1000, 65536, 10, "snappy", 67108864],
    [2000, 131072, 20, "lz4", 134217728],
  ];
  assert.equal(SEED_MATRIX.length, seed.length);
  SEED_MATRIX.forEach((row, i) => {
    const c = extraSourceConfig({ url: "postgres://u:p@db:5432/customers", ...row });
    assert.deepEqual(
      [
        Number(c["max.batch.size"]),
        Number(c["producer.override.batch.size"]),
        Number(c["producer.override.linger.ms"]),
        c["producer.override.compression.type"],
        Number(c["producer.override.buffer.memory"]),
      ],
      seed[i],
      `row ${i + 1} as the connector runs it`,
    );
    // Debezium's queue must hold a whole batch, or max.batch.size is silently capped.
    assert.ok(Number(c["max.queue.size"]) > Number(c["max.batch.size"]), `row ${i + 1} queue`);
  });
});

Deno.test("experiment table and chart show each configuration and the ratio to the first", () => {
  const results: ExperimentResult[] = SEED_MATRIX.map((c, i) => ({
    ...c,
    kops: [2, 5, 10][i],
    avgKops: 1,
    written: 100,
    seconds: 10,
  }));
  const md = markdownTable(results);
  assert.match(md, /\| 1 \(seed\) \| 100 \| 500 \| 0 \| none \| 33554432 \| 2\.0 \|.*\| 1\.0× \|/);
  assert.match(
    md,
    /\| 3 \(seed\) \| 2000 \| 131072 \| 20 \| lz4 \| 134217728 \| 10\.0 \|.*\| 5\.0× \|/,
  );
  const svg = svgChart(results, "t <&>");
  assert.equal((svg.match(/<rect x="330"/g) ?? []).length, 3);
  assert.ok(svg.includes("t &lt;&amp;&gt;"));
  assert.ok(svg.includes("10.0 kops/s"));
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.equal(median([]), 0);
});

Deno.test("lag: a group whose offsets name a deleted topic keeps the lag of the topics that exist", async () => {
  // The broker's answer for a coordinator that missed a deletion's clean-up: kafkajs throws for
  // the whole group when asked for all its topics, and answers when asked for existing ones.
  const asked: (string[] | undefined)[] = [];
  const admin = {
    fetchOffsets: ({ topics }: { groupId: string; topics?: string[] }) => {
      asked.push(topics);
      if (!topics) {
        return Promise.reject(
          Object.assign(new Error("This server does not host this topic-partition"), {
            type: "UNKNOWN_TOPIC_OR_PARTITION",
          }),
        );
      }
      return Promise.resolve(topics.map((topic) => ({
        topic,
        partitions: [{ partition: 0, offset: topic === "orders" ? "4" : "-1", metadata: null }],
      })));
    },
  } as unknown as Admin;
  let listed = 0;
  const existing = () => (listed++, Promise.resolve(["orders", "other"]));
  const committed = await committedOffsets(admin, "g", existing);
  assert.deepEqual(asked, [undefined, ["orders", "other"]]);
  assert.equal(listed, 1);
  assert.deepEqual(committed.map((t) => t.topic), ["orders"], "topics never committed left out");
  assert.deepEqual(groupLag(committed, { orders: { 0: 10 } }), [
    { topic: "orders", partition: 0, lag: 6 },
  ]);
});

Deno.test("lag: end minus committed, partitions without a commit left out, never negative", () => {
  assert.deepEqual(
    groupLag(
      [{
        topic: "t",
        partitions: [{ partition: 0, offset: "5" }, { partition: 1, offset: "-1" }, {
          partition: 2,
          offset: "9",
        }],
      }],
      { t: { 0: 12, 1: 3, 2: 8 } },
    ),
    [{ topic: "t", partition: 0, lag: 7 }, { topic: "t", partition: 2, lag: 0 }],
  );
});

Deno.test("change events decode with and without the schema envelope; junk is refused with a reason", () => {
  const e = decodeChangeEvent(
    '{"before":{"id":1,"q":1},"after":{"id":1,"q":2},"op":"u","source":{"table":"orders","lsn":42},"ts_ms":7}',
  );
  assert.deepEqual([e.op, e.opName, e.table, e.before?.q, e.after?.q, e.lsn], [
    "u",
    "update",
    "orders",
    1,
    2,
    42,
  ]);
  const wrapped = decodeChangeEvent(
    JSON.stringify({
      schema: {},
      payload: { op: "d", before: { id: 3 }, after: null, source: { table: "users" } },
    }),
  );
  assert.deepEqual([wrapped.opName, wrapped.after, wrapped.before?.id], ["delete", null, 3]);
  assert.throws(() => decodeChangeEvent("{oops"), /not JSON/);
  assert.throws(() => decodeChangeEvent('{"id":1}'), /field 'op' is undefined/);
  assert.throws(() => decodeChangeEvent(null), /tombstone/);
});

Deno.test("the extra source: MaskField on private_info, the seed's topic, tuning passed to the producer", () => {
  const c = extraSourceConfig({
    url: "postgres://u:p%40ss@db:5433/customers",
    batchMaxRows: 2000,
    compression: "lz4",
  });
  assert.equal(
    c["transforms.MaskField.type"],
    "org.apache.kafka.connect.transforms.MaskField$Value",
  );
  assert.equal(c["transforms.MaskField.fields"], "private_info");
  assert.equal(c["transforms.MaskField.replacement"], "CENSORED");
  assert.equal(c["transforms.route.replacement"], EXTRA_TOPIC);
  assert.equal(c["max.batch.size"], "2000");
  assert.equal(c["producer.override.compression.type"], "lz4");
  assert.deepEqual(debeziumConnection("postgres://u:p%40ss@db:5433/customers"), {
    "database.hostname": "db",
    "database.port": "5433",
    "database.user": "u",
    "database.password": "p@ss",
    "database.dbname": "customers",
  });
  assert.throws(
    () => extraSourceConfig({ url: "postgres://a@b/c", batchSize: 0 }),
    /'batchSize'.*current value is 0/,
  );
  assert.throws(() => extraSourceConfig({ url: "postgres://a@b/c", slot: "Bad-Slot" }), /'slot'/);
});

Deno.test("Prometheus text parsing keeps labels and values", () => {
  const rows = parsePrometheusText(
    '# HELP x\nkafka_connect_source_task_source_record_write_rate{connector="a",task="0"} 1.5E3\nup 1\n',
  );
  assert.deepEqual(rows, [
    {
      name: "kafka_connect_source_task_source_record_write_rate",
      labels: { connector: "a", task: "0" },
      value: 1500,
    },
    { name: "up", labels: {}, value: 1 },
  ]);
});

Deno.test("compose files run the local stack's versions, rules, dashboards and connector file", async () => {
  const lock = JSON.parse(
    await Deno.readTextFile(join(PROJECT_ROOT, "lib/stack/process/artifacts.lock.json")),
  );
  const jmxSha = lock.bundles["jmx-exporter"].files[0].sha256;
  for (const file of ["extra.yaml", "practice5.yaml"]) {
    const c = compose(file);
    const s = c.services;
    assert.equal(s["kafka-0"].image, `apache/kafka:${KAFKA_VERSION}`, file);
    assert.equal(s["kafka-connect"].image, `quay.io/debezium/connect:${DEBEZIUM_VERSION}`, file);
    assert.equal(
      s.prometheus.image,
      `prom/prometheus:v${PROMETHEUS_PACKAGES.prometheus.split("+")[0]}`,
    );
    assert.equal(
      s.alertmanager.image,
      `prom/alertmanager:v${PROMETHEUS_PACKAGES["prometheus-alertmanager"].split("-")[0]}`,
    );
    assert.equal(s["kafka-0"].environment.CLUSTER_ID, "abcdefghijklmnopqrstuv");
    assert.ok(s.postgres.command.includes("wal_level=logical"), `${file}: wal_level=logical`);
    assert.ok(s["jmx-agent"].command.join(" ").includes(jmxSha), `${file}: JMX agent checksum`);
    assert.ok(s.grafana.volumes.some((v: string) => v.startsWith("./grafana/dashboards:")));
    // Every bind-mounted file or folder exists.
    for (const svc of Object.values(s) as { volumes?: string[] }[]) {
      for (const v of svc.volumes ?? []) {
        const src = v.split(":")[0];
        if (src.startsWith(".")) await Deno.stat(join(PROJECT_ROOT, "compose", src));
      }
    }
    // Every deno task a service runs exists in deno.json.
    const tasks = JSON.parse(await Deno.readTextFile(join(PROJECT_ROOT, "deno.json"))).tasks;
    for (
      const [name, svc] of Object.entries(s) as [string, { command?: string[]; image: string }][]
    ) {
      if (svc.image.startsWith("denoland/deno")) {
        assert.equal(svc.command?.[0], "task", name);
        assert.ok(tasks[svc.command![1]], `${file}: ${name} runs deno task ${svc.command![1]}`);
      }
    }
  }
  // The compose Prometheus scrapes the same jobs the local stack's generated config does.
  const local = prometheusConfig({ dir: "/x", targets: { kafka: ["a:1"], connect: ["b:2"] } });
  const jobs = (cfg: { scrape_configs: { job_name: string }[] }) =>
    cfg.scrape_configs.map((j) => j.job_name).sort();
  const composeProm = parse(
    await Deno.readTextFile(join(PROJECT_ROOT, "compose/prometheus/prometheus.yml")),
  );
  assert.deepEqual(jobs(composeProm), jobs(local as never));
  assert.deepEqual(composeProm.rule_files.map((f: string) => f.split("/").pop()), [
    "alerts.yml",
    "alerts_final.yml",
  ]);
  // The connector file is the one practice5:connector registers.
  const def = await readConnectorFile();
  assert.equal(def.config["connector.class"], "io.debezium.connector.postgresql.PostgresConnector");
  assert.equal(def.config["table.include.list"], "public.users,public.orders");
});
