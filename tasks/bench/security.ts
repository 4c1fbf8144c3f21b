/**
 * `deno task bench:security [--records 200000] [--record-size 100] [--rounds 3] [--out bench-results]` —
 * what TLS costs a producer, measured on ONE cluster in one run: the secure cluster of
 * `deno task stack up --secure` serves the same users and ACLs on its EXTERNAL listener
 * (SASL_SSL) and on its INTERNAL listener (SASL_PLAINTEXT, no TLS). Rows:
 *
 *   - the project's producer (kafkajs, idempotent, acks=all, batched) over SASL_SSL and over
 *     SASL_PLAINTEXT, as the user `producer` with SCRAM-SHA-512;
 *   - Kafka's own `kafka-producer-perf-test` (ProducerPerformance, acks=all) over both
 *     listeners with the same user and mechanism — the reference;
 *   - for context, the project's producer over PLAINTEXT on the main cluster (no auth).
 *
 * Each row runs `--rounds` times, the listeners alternating, and reports the median (all samples
 * are saved); ratios are taken within each round, then the median over rounds. Prints records/s per row, the SASL_SSL ÷ plaintext ratio per client and the project ÷ Java
 * ratio per listener; saves bench-results/security.{json,md}. Figures, not assertions.
 */
import { join } from "node:path";
import type { Kafka } from "kafkajs";
import {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  ResourcePatternTypes,
} from "kafkajs";
import { defineTask, parseIntValue, runMain } from "../../lib/env/mod.ts";
import {
  createKafka,
  ensureTopic,
  KAFKA_ENV,
  type KafkaClientOptions,
  localSecureCluster,
  localSecurePassword,
  PartitionedProducer,
} from "../../lib/kafka/mod.ts";
import { localEndpoints } from "../../lib/env/mod.ts";
import { PROJECT_ROOT } from "../../lib/env/mod.ts";
import { markdownTable, producerPerfTest, Samples, writeReport } from "../../lib/bench/mod.ts";

const TOPIC = "bench-security";

interface Row {
  client: string;
  listener: string;
  records: number;
  seconds: number;
  recordsPerSec: number;
  mbPerSec: number;
  /** records/s of every round. */
  samples: number[];
}

async function denoProduce(
  kafka: Kafka,
  records: number,
  size: number,
): Promise<{ seconds: number }> {
  const producer = new PartitionedProducer(kafka, { lingerMs: 5, batchSize: 2_000 });
  await producer.connect();
  const value = "x".repeat(size);
  const started = performance.now();
  let pending: Promise<unknown>[] = [];
  for (let i = 0; i < records; i++) {
    pending.push(producer.send(TOPIC, { key: String(i), value }));
    if (pending.length >= 20_000) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
  await producer.flush();
  const seconds = (performance.now() - started) / 1000;
  await producer.disconnect();
  return { seconds };
}

async function javaProduce(
  bootstrap: string,
  propsFile: string,
  records: number,
  size: number,
): Promise<{ seconds: number; recordsPerSec: number }> {
  return await producerPerfTest({
    bootstrap,
    topic: TOPIC,
    records,
    recordSize: size,
    configFile: propsFile,
    props: ["acks=all", "linger.ms=5"],
  });
}

const SPEC = defineTask({
  task: "bench:security",
  summary:
    "What TLS costs a producer: the project's producer and Kafka's perf tool over SASL_SSL and SASL_PLAINTEXT on the secure cluster; saves bench-results/security.{json,md}.",
  flags: {
    records: { type: "string", default: "200000", valueName: "N", description: "records per row" },
    "record-size": {
      type: "string",
      default: "100",
      valueName: "BYTES",
      description: "bytes per record",
    },
    rounds: {
      type: "string",
      default: "3",
      valueName: "N",
      description: "rounds per row (median reported)",
    },
    out: {
      type: "string",
      default: "bench-results",
      valueName: "DIR",
      description: "output folder",
    },
  },
  env: {
    ...KAFKA_ENV,
  },
  examples: ["deno task bench:security --records 50000 --rounds 1"],
});

await runMain(async (cli) => {
  const flags = cli;
  const records = flags.values.records
    ? parseIntValue("--records", flags.values.records, { min: 1_000 })
    : 200_000;
  const size = flags.values["record-size"]
    ? parseIntValue("--record-size", flags.values["record-size"], { min: 1, max: 1_000_000 })
    : 100;
  const rounds = flags.values.rounds
    ? parseIntValue("--rounds", flags.values.rounds, { min: 1, max: 20 })
    : 3;
  const outDir = flags.values.out ?? join(PROJECT_ROOT, "bench-results");
  const sec = localSecureCluster();
  if (!sec) {
    throw new Error("No secure cluster is up: run `deno task stack up --brokers 3 --secure` first");
  }
  const secrets = JSON.parse(await Deno.readTextFile(sec.secretsFile));
  const password = localSecurePassword("producer")!;
  const saslSsl: KafkaClientOptions = {
    brokers: sec.bootstrap.split(","),
    securityProtocol: "SASL_SSL",
    caFile: sec.caFile,
    saslMechanism: "scram-sha-512",
    username: "producer",
    password,
    logLevel: "ERROR",
  };
  const saslPlain: KafkaClientOptions = {
    ...saslSsl,
    brokers: sec.internal.split(","),
    securityProtocol: "SASL_PLAINTEXT",
    caFile: undefined,
  };

  // Topic and ACL, as the super user.
  const adminOpts: KafkaClientOptions = {
    ...saslSsl,
    username: "admin",
    password: localSecurePassword("admin")!,
  };
  const admin = createKafka(adminOpts).admin();
  await admin.connect();
  await ensureTopic(admin, {
    topic: TOPIC,
    partitions: 6,
    replicationFactor: 3,
    config: { "min.insync.replicas": "2" },
  });
  await admin.createAcls({
    acl: ["WRITE", "DESCRIBE"].map((op) => ({
      resourceType: AclResourceTypes.TOPIC,
      resourceName: TOPIC,
      resourcePatternType: ResourcePatternTypes.LITERAL,
      principal: "User:producer",
      host: "*",
      operation: AclOperationTypes[op as "WRITE" | "DESCRIBE"],
      permissionType: AclPermissionTypes.ALLOW,
    })),
  });
  await admin.disconnect();

  // Java client configs over both listeners (same user, same mechanism).
  const jaas =
    `org.apache.kafka.common.security.scram.ScramLoginModule required username="producer" password="${password}";`;
  const javaSsl = join(secrets.dir, "bench-sasl-ssl.properties");
  const javaPlain = join(secrets.dir, "bench-sasl-plaintext.properties");
  await Deno.writeTextFile(
    javaSsl,
    [
      "security.protocol=SASL_SSL",
      "sasl.mechanism=SCRAM-SHA-512",
      `sasl.jaas.config=${jaas}`,
      `ssl.truststore.location=${secrets.truststore}`,
      "ssl.truststore.type=PKCS12",
      `ssl.truststore.password=${secrets.storePassword}`,
      "enable.idempotence=true",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  await Deno.writeTextFile(
    javaPlain,
    [
      "security.protocol=SASL_PLAINTEXT",
      "sasl.mechanism=SCRAM-SHA-512",
      `sasl.jaas.config=${jaas}`,
      "enable.idempotence=true",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );

  console.log(
    `bench:security — ${records} records of ${size} B, acks=all, idempotent, topic ${TOPIC} (6 partitions, RF 3)`,
  );
  const samples = new Samples();
  const key = (client: string, listener: string) => `${client}\u0000${listener}`;
  const sample = (client: string, listener: string, rps: number) => {
    samples.add(key(client, listener), rps);
    console.log(
      `  ${client.padEnd(26)} ${listener.padEnd(34)} ${
        String(Math.round(rps)).padStart(8)
      } records/s`,
    );
  };
  const P = "project (kafkajs)";
  const J = "kafka-producer-perf-test";
  const SSL = "SASL_SSL (secure EXTERNAL)";
  const PLAIN = "SASL_PLAINTEXT (secure INTERNAL)";
  const MAIN = "PLAINTEXT (main cluster, no auth)";
  // Warm-up (JIT, connections, topic leaders) so the first row is not penalised.
  await denoProduce(createKafka(saslSsl), Math.min(20_000, records), size);
  const main = localEndpoints().kafka.main;
  const mainKafka = main ? createKafka({ brokers: main.split(","), logLevel: "ERROR" }) : undefined;
  if (mainKafka) {
    const a = mainKafka.admin();
    await a.connect();
    await ensureTopic(a, {
      topic: TOPIC,
      partitions: 6,
      replicationFactor: Math.min(3, (await a.describeCluster()).brokers.length),
    });
    await a.disconnect();
  }
  for (let round = 1; round <= rounds; round++) {
    console.log(`round ${round}/${rounds}`);
    const order = round % 2 ? [SSL, PLAIN] : [PLAIN, SSL];
    for (const listener of order) {
      const opts = listener === SSL ? saslSsl : saslPlain;
      const d = await denoProduce(createKafka(opts), records, size);
      sample(P, listener, records / d.seconds);
    }
    for (const listener of order) {
      const j = listener === SSL
        ? await javaProduce(sec.bootstrap, javaSsl, records, size)
        : await javaProduce(sec.internal, javaPlain, records, size);
      sample(J, listener, j.recordsPerSec);
    }
    if (mainKafka) {
      const d = await denoProduce(mainKafka, records, size);
      sample(P, MAIN, records / d.seconds);
    }
  }
  const rows: Row[] = samples.labels().map((label) => {
    const [client, listener] = label.split("\u0000");
    const recordsPerSec = samples.median(label);
    return {
      client,
      listener,
      records,
      seconds: Math.round(records / recordsPerSec * 100) / 100,
      recordsPerSec: Math.round(recordsPerSec),
      mbPerSec: Math.round(recordsPerSec * size / 1e6 * 100) / 100,
      samples: samples.get(label).map(Math.round),
    };
  });
  console.log(`\nMedian of ${rounds} round(s):`);
  const table = markdownTable(
    ["client", "listener", "records/s", "MB/s"],
    rows.map((r) => [r.client, r.listener, r.recordsPerSec, r.mbPerSec]),
    ["left", "left", "right", "right"],
  );
  console.log(table);
  // Ratios pair the samples of one round (taken minutes apart, the machine's load drifts),
  // then take the median over rounds.
  const r2 = (x: number) => Math.round(x * 100) / 100;
  const ratios = {
    projectTlsOverPlain: r2(samples.ratio(key(P, SSL), key(P, PLAIN))),
    javaTlsOverPlain: r2(samples.ratio(key(J, SSL), key(J, PLAIN))),
    projectOverJavaTls: r2(samples.ratio(key(P, SSL), key(J, SSL))),
    projectOverJavaPlain: r2(samples.ratio(key(P, PLAIN), key(J, PLAIN))),
  };
  const summary =
    `SASL_SSL ÷ SASL_PLAINTEXT: project ${ratios.projectTlsOverPlain}, Java ${ratios.javaTlsOverPlain}. ` +
    `Project ÷ Java: ${ratios.projectOverJavaTls} (SASL_SSL), ${ratios.projectOverJavaPlain} (SASL_PLAINTEXT).`;
  console.log(`\n${summary}`);
  const md = await writeReport("security", {
    title: "bench:security",
    markdown: [
      `${records} records of ${size} B, acks=all, idempotent, 6 partitions, RF 3, user \`producer\` with SCRAM-SHA-512.`,
      `Median of ${rounds} round(s); ratios paired within a round, then the median; samples in security.json.`,
      table,
      summary,
    ].join("\n\n"),
    json: { records, recordSize: size, rounds, rows, ratios },
  }, outDir);
  console.log(`Saved ${md} and security.json`);
}, SPEC);
