/**
 * `deno task bench:security [--records 200000] [--record-size 100] [--out bench-results]` —
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
 * Prints records/s per row, the SASL_SSL ÷ plaintext ratio per client and the project ÷ Java
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
import { parseFlags, parseIntValue, runMain } from "../../lib/config.ts";
import {
  BatchingProducer,
  createKafka,
  ensureTopic,
  type KafkaClientOptions,
  localSecureCluster,
  localSecurePassword,
} from "../../lib/kafka/mod.ts";
import { localEndpoints } from "../../lib/stack/endpoints.ts";
import { PROJECT_ROOT } from "../../lib/stack/paths.ts";
import { runKafkaTool } from "../../lib/practice4/reassign.ts";

const TOPIC = "bench-security";

interface Row {
  client: string;
  listener: string;
  records: number;
  seconds: number;
  recordsPerSec: number;
  mbPerSec: number;
}

async function denoProduce(
  kafka: Kafka,
  records: number,
  size: number,
): Promise<{ seconds: number }> {
  const producer = new BatchingProducer(kafka.producer({ idempotent: true }), {
    lingerMs: 5,
    batchSize: 5_000,
  });
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
  const out = await runKafkaTool("org.apache.kafka.tools.ProducerPerformance", [
    "--topic",
    TOPIC,
    "--num-records",
    String(records),
    "--record-size",
    String(size),
    "--throughput",
    "-1",
    "--producer.config",
    propsFile,
    "--producer-props",
    `bootstrap.servers=${bootstrap}`,
    "acks=all",
    "linger.ms=5",
  ], { heapMb: 384, what: "kafka-producer-perf-test" });
  const last = out.trim().split("\n").filter((l) => /records sent/.test(l)).at(-1) ?? "";
  const m = last.match(/([\d.]+) records sent, ([\d.]+) records\/sec/);
  if (!m) throw new Error(`Unexpected output of kafka-producer-perf-test:\n${out}`);
  const recordsPerSec = Number(m[2]);
  return { seconds: records / recordsPerSec, recordsPerSec };
}

await runMain(async () => {
  const flags = parseFlags(Deno.args, { string: ["records", "record-size", "out"], boolean: [] });
  const records = flags.values.records
    ? parseIntValue("--records", flags.values.records, { min: 1_000 })
    : 200_000;
  const size = flags.values["record-size"]
    ? parseIntValue("--record-size", flags.values["record-size"], { min: 1, max: 1_000_000 })
    : 100;
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
  const rows: Row[] = [];
  const add = (client: string, listener: string, seconds: number, rps?: number) => {
    const recordsPerSec = rps ?? records / seconds;
    const row = {
      client,
      listener,
      records,
      seconds: Math.round(seconds * 100) / 100,
      recordsPerSec: Math.round(recordsPerSec),
      mbPerSec: Math.round(recordsPerSec * size / 1e6 * 100) / 100,
    };
    rows.push(row);
    console.log(
      `  ${client.padEnd(28)} ${listener.padEnd(34)} ${
        String(row.recordsPerSec).padStart(8)
      } records/s`,
    );
  };
  // Warm-up (JIT, connections, topic leaders) so the first row is not penalised.
  await denoProduce(createKafka(saslSsl), Math.min(20_000, records), size);
  const dSsl = await denoProduce(createKafka(saslSsl), records, size);
  add("project (kafkajs)", "SASL_SSL (secure EXTERNAL)", dSsl.seconds);
  const dPlain = await denoProduce(createKafka(saslPlain), records, size);
  add("project (kafkajs)", "SASL_PLAINTEXT (secure INTERNAL)", dPlain.seconds);
  const jSsl = await javaProduce(sec.bootstrap, javaSsl, records, size);
  add("kafka-producer-perf-test", "SASL_SSL (secure EXTERNAL)", jSsl.seconds, jSsl.recordsPerSec);
  const jPlain = await javaProduce(sec.internal, javaPlain, records, size);
  add(
    "kafka-producer-perf-test",
    "SASL_PLAINTEXT (secure INTERNAL)",
    jPlain.seconds,
    jPlain.recordsPerSec,
  );
  const main = localEndpoints().kafka.main;
  if (main) {
    const kafka = createKafka({ brokers: main.split(","), logLevel: "ERROR" });
    const a = kafka.admin();
    await a.connect();
    await ensureTopic(a, {
      topic: TOPIC,
      partitions: 6,
      replicationFactor: Math.min(3, (await a.describeCluster()).brokers.length),
    });
    await a.disconnect();
    const d = await denoProduce(kafka, records, size);
    add("project (kafkajs)", "PLAINTEXT (main cluster, no auth)", d.seconds);
  }
  const rate = (c: string, l: string) =>
    rows.find((r) => r.client.startsWith(c) && r.listener.startsWith(l))!.recordsPerSec;
  const ratios = {
    projectTlsOverPlain: rate("project", "SASL_SSL") / rate("project", "SASL_PLAINTEXT"),
    javaTlsOverPlain: rate("kafka-producer", "SASL_SSL") / rate("kafka-producer", "SASL_PLAINTEXT"),
    projectOverJavaTls: rate("project", "SASL_SSL") / rate("kafka-producer", "SASL_SSL"),
    projectOverJavaPlain: rate("project", "SASL_PLAINTEXT") /
      rate("kafka-producer", "SASL_PLAINTEXT"),
  };
  const r2 = (x: number) => Math.round(x * 100) / 100;
  console.log(
    `\nSASL_SSL ÷ SASL_PLAINTEXT: project ${r2(ratios.projectTlsOverPlain)}, Java ${
      r2(ratios.javaTlsOverPlain)
    }`,
  );
  console.log(
    `project ÷ Java: over SASL_SSL ${r2(ratios.projectOverJavaTls)}, over SASL_PLAINTEXT ${
      r2(ratios.projectOverJavaPlain)
    }`,
  );
  await Deno.mkdir(outDir, { recursive: true });
  const result = {
    at: new Date().toISOString(),
    records,
    recordSize: size,
    rows,
    ratios: Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, r2(v)])),
  };
  await Deno.writeTextFile(join(outDir, "security.json"), JSON.stringify(result, null, 2) + "\n");
  const md = [
    `# bench:security (${result.at})`,
    "",
    `${records} records of ${size} B, acks=all, idempotent, 6 partitions, RF 3, user \`producer\` with SCRAM-SHA-512.`,
    "",
    "| client | listener | records/s | MB/s |",
    "| --- | --- | ---: | ---: |",
    ...rows.map((r) => `| ${r.client} | ${r.listener} | ${r.recordsPerSec} | ${r.mbPerSec} |`),
    "",
    `SASL_SSL ÷ SASL_PLAINTEXT: project ${result.ratios.projectTlsOverPlain}, Java ${result.ratios.javaTlsOverPlain}. ` +
    `Project ÷ Java: ${result.ratios.projectOverJavaTls} (SASL_SSL), ${result.ratios.projectOverJavaPlain} (SASL_PLAINTEXT).`,
    "",
  ].join("\n");
  await Deno.writeTextFile(join(outDir, "security.md"), md);
  console.log(`Saved ${join(outDir, "security.json")} and security.md`);
});
