import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "yaml";
import { PROJECT_ROOT } from "../../lib/env/paths.ts";
import { brokerLoad, leaderSpread, nodePorts, planDifferences } from "../../lib/stack/mod.ts";
import { explainKafkaError } from "../../lib/kafka/errors.ts";
import { createKafka } from "../../lib/kafka/client.ts";
import { secureKafkaConfigFromEnv } from "../../lib/kafka/secure_config.ts";
import { BALANCED_TOPIC } from "../../lib/course/practice4/mod.ts";
import { PRACTICE6_ACLS, PRACTICE6_TOPICS } from "../../lib/course/practice6/mod.ts";

// deno-lint-ignore no-explicit-any
type Yaml = any;
const compose = async (name: string): Promise<Yaml> =>
  parse(await Deno.readTextFile(join(PROJECT_ROOT, "compose", name)));

Deno.test("brokerLoad, leaderSpread and planDifferences", () => {
  const parts = [
    { partition: 0, leader: 0, replicas: [0, 1, 2], isr: [0, 1, 2] },
    { partition: 1, leader: 0, replicas: [1, 2, 0], isr: [0, 1, 2] },
  ];
  const load = brokerLoad(parts, [0, 1, 2]);
  assert.deepEqual(load.map((l) => [l.broker, l.replicas, l.leaders, l.preferred]), [
    [0, 2, 2, 1],
    [1, 2, 0, 1],
    [2, 2, 0, 0],
  ]);
  assert.equal(leaderSpread(load), 2);
  const plan = {
    version: 1 as const,
    partitions: [
      { topic: "t", partition: 0, replicas: [0, 1, 2] },
      { topic: "t", partition: 1, replicas: [2, 0, 1] },
    ],
  };
  assert.deepEqual(planDifferences(plan, parts), ["t-1: replicas 1,2,0, planned 2,0,1"]);
});

Deno.test("explainKafkaError names the cause of each refusal", () => {
  const opts = { brokers: ["localhost:1"], username: "u", saslMechanism: "plain" as const };
  assert.equal(
    explainKafkaError(new Error("Closed connection"), { ...opts, securityProtocol: "PLAINTEXT" })
      .kind,
    "tls-expected",
  );
  assert.equal(
    explainKafkaError(new Error("self-signed certificate in certificate chain"), opts).kind,
    "untrusted-certificate",
  );
  assert.equal(
    explainKafkaError(
      new Error("SASL PLAIN authentication failed: Invalid username or password"),
      opts,
    )
      .kind,
    "authentication",
  );
  const authz = explainKafkaError(
    Object.assign(new Error("Not authorized to access topics"), {
      type: "TOPIC_AUTHORIZATION_FAILED",
    }),
    opts,
    "read topic 'topic-2'",
  );
  assert.equal(authz.kind, "authorization");
  assert.match(
    authz.message,
    /User 'u' is not allowed to read topic 'topic-2' \(TOPIC_AUTHORIZATION_FAILED\)/,
  );
});

Deno.test("compose/practice4.yaml matches the local stack and balanced_topic", async () => {
  const c = await compose("practice4.yaml");
  for (const id of [0, 1, 2]) {
    const svc = c.services[`kafka-${id}`];
    assert.equal(svc.environment.KAFKA_NODE_ID, id);
    assert.deepEqual(svc.ports, [`${nodePorts(9092, id).external}:9094`]);
  }
  const cmd = c.services["kafka-init"].command.join(" ");
  assert.match(cmd, new RegExp(`--topic ${BALANCED_TOPIC.topic} `));
  assert.match(cmd, new RegExp(`--partitions ${BALANCED_TOPIC.partitions} `));
  assert.match(cmd, new RegExp(`--replication-factor ${BALANCED_TOPIC.replicationFactor} `));
  assert.match(cmd, /min\.insync\.replicas=2/);
});

Deno.test("compose/practice6.yaml matches the secure profile, topics and ACLs", async () => {
  const c = await compose("practice6.yaml");
  const env = c["x-kafka-env"];
  assert.equal(
    env.KAFKA_AUTHORIZER_CLASS_NAME,
    "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
  );
  assert.equal(env.KAFKA_SUPER_USERS, "User:admin");
  assert.equal(env.KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND, "false");
  assert.equal(env.KAFKA_SASL_ENABLED_MECHANISMS, "PLAIN,SCRAM-SHA-512");
  assert.match(env.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP, /EXTERNAL:SASL_SSL/);
  const init = c.services["kafka-init"].command.join(" ");
  for (const t of PRACTICE6_TOPICS) {
    assert.match(init, new RegExp(`for t in .*${t.topic}`));
    assert.match(
      init,
      new RegExp(`--partitions ${t.partitions} --replication-factor ${t.replicationFactor}`),
    );
  }
  for (const a of PRACTICE6_ACLS) {
    const op = a.operation[0] + a.operation.slice(1).toLowerCase();
    const acl = init.split(";").find((s: string) =>
      s.includes(`--allow-principal ${a.principal}`) && s.includes(`--operation ${op}`) &&
      s.includes(`--${a.resourceType} ${a.resourceName}`)
    );
    assert.ok(acl, `compose grants ${JSON.stringify(a)}`);
    if (a.pattern === "prefixed") assert.match(acl!, /--resource-pattern-type prefixed/);
  }
  assert.equal(c.services["practice6-consumer"].command.at(-1), "practice6:consumer");
});

Deno.test("secureKafkaConfigFromEnv reads every secure setting from env", () => {
  const env = new Map(Object.entries({
    KAFKA_BOOTSTRAP_SERVERS: "kafka-a:9095,kafka-b:9095",
    KAFKA_SSL_CA_FILE: "/secrets/ca.crt",
    KAFKA_SASL_MECHANISM: "plain",
    KAFKA_SASL_USERNAME: "shop-api",
    KAFKA_SASL_PASSWORD: "s3cret",
  }));
  const cfg = secureKafkaConfigFromEnv("producer", {}, env);
  assert.deepEqual(cfg.brokers, ["kafka-a:9095", "kafka-b:9095"]);
  assert.equal(cfg.securityProtocol, "SASL_SSL");
  assert.equal(cfg.caFile, "/secrets/ca.crt");
  assert.equal(cfg.saslMechanism, "plain");
  assert.equal(cfg.username, "shop-api");
  assert.equal(cfg.password, "s3cret");
  assert.throws(
    () =>
      secureKafkaConfigFromEnv("producer", {}, new Map([...env, ["KAFKA_SASL_MECHANISM", "md5"]])),
    /KAFKA_SASL_MECHANISM/,
  );
});

Deno.test("createKafka refuses a missing or non-PEM CA file and SASL without credentials", async () => {
  const base = {
    brokers: ["localhost:1"],
    securityProtocol: "SASL_SSL" as const,
    username: "u",
    password: "p",
  };
  assert.throws(
    () => createKafka({ ...base, caFile: "/nonexistent/ca.crt" }),
    /KAFKA_SSL_CA_FILE='\/nonexistent\/ca.crt'/,
  );
  const notPem = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(notPem, "hello");
    assert.throws(() => createKafka({ ...base, caFile: notPem }), /holds no PEM certificate/);
  } finally {
    await Deno.remove(notPem);
  }
  assert.throws(
    () => createKafka({ ...base, password: undefined }),
    /SASL_SSL needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/,
  );
});
