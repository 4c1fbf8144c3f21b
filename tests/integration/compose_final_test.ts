/**
 * compose/final.yaml, the whole platform for Docker users, checked by the real Compose parser
 * (`docker compose config`) and against the local stack it must match: cluster A's nodes
 * (SecureKafkaCluster's properties; compose may add only its DOCKER listener), cluster B
 * (mirrorCluster), MirrorMaker 2's settings (MirrorMaker.properties vs
 * compose/final/mm2.properties), the principals each service runs as, the services' ports
 * (SERVICE_PORTS) and the env names their tasks declare, Prometheus' targets and rule files.
 * Each check is also broken once on purpose to show that it can fail.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../lib/env/paths.ts";
import { KAFKA_ENV } from "../../lib/kafka/mod.ts";
import { COMMON_ENV, SERVICE_ENV, STACK_PORTS } from "../../lib/env/mod.ts";
import { PRINCIPALS, SERVICE_PORTS } from "../../lib/marketplace/mod.ts";
import {
  defaultBrokerProperties,
  KafkaCluster,
  mirrorCluster,
  MirrorMaker,
  nodePorts,
  saslSslClientProperties,
  SECURE_USERS,
  SecureKafkaCluster,
} from "../../lib/stack/mod.ts";
import { composeConfig, type ComposeModel, denoTaskOf, kafkaDrift } from "../_compose.ts";

const FILE = "compose/final.yaml";
const PASSWORDS = [
  "STORE",
  "ADMIN",
  "SHOP_API",
  "PRODUCT_FILTER",
  "CLIENT_API",
  "CONNECT",
  "MIRROR_MAKER",
  "ANALYTICS",
  "POSTGRES",
];
const SECRETS = Object.fromEntries(
  PASSWORDS.map((w) => [`FINAL_${w}_PASSWORD`, `pw-${w.toLowerCase()}`]),
);
const tasks: Record<string, string> =
  JSON.parse(await Deno.readTextFile(`${PROJECT_ROOT}/deno.json`)).tasks;

let model: Promise<ComposeModel> | undefined;
const final = () =>
  model ??= composeConfig(FILE, {
    ...SECRETS,
    COMPOSE_PROFILES: "tools",
    PATH: Deno.env.get("PATH")!,
  });

/**
 * kafkaDrift compares broker settings with the stack's defaults; a cluster that overrides one
 * (cluster A and B turn auto-creation off) is compared here with its own node properties, and
 * the setting is taken out of the copy handed to kafkaDrift.
 */
function overridesDrift(m: ComposeModel, cluster: KafkaCluster, prefix: string): string[] {
  const defaults = defaultBrokerProperties(cluster.brokers);
  const drift: string[] = [];
  for (const id of cluster.nodeIds) {
    const env = m.services[`${prefix}${id}`]?.environment;
    if (!env) continue;
    const local = cluster.properties(id);
    for (const [prop, v] of Object.entries(local)) {
      if (!(prop in defaults) || defaults[prop] === v) continue;
      const key = `KAFKA_${prop.toUpperCase().replaceAll(".", "_")}`;
      if (String(env[key]) !== v) {
        drift.push(`${prefix}${id}: ${key} is '${env[key]}', the local stack has ${prop}=${v}`);
      }
      delete env[key];
    }
  }
  return drift;
}

/** kafkaDrift of `prefix`-nodes, node overrides of the defaults included. */
function clusterDrift(m: ComposeModel, cluster: KafkaCluster, prefix: string): string[] {
  const copy: ComposeModel = structuredClone(m);
  return [...overridesDrift(copy, cluster, prefix), ...kafkaDrift(copy, cluster, prefix)];
}

/** The local stack's secure cluster A (3 nodes, port base 11092), secrets of its own. */
async function localClusterA(
  portBase: number = STACK_PORTS.secureKafka,
): Promise<SecureKafkaCluster> {
  const dir = await Deno.makeTempDir({ prefix: "compose-final-" });
  const secrets = join(dir, "secrets", "kafka-secure");
  await Deno.mkdir(secrets, { recursive: true });
  const users = Object.fromEntries(SECURE_USERS.map((u) => [u, `pw-${u}`]));
  await Deno.writeTextFile(
    join(secrets, "secrets.json"),
    JSON.stringify({
      dir: secrets,
      caFile: join(secrets, "ca.crt"),
      truststore: join(secrets, "truststore.p12"),
      storePassword: "pw",
      users,
      javaClientProperties: users,
    }),
  );
  return new SecureKafkaCluster({ dir, brokers: 3, portBase });
}

const envOf = (m: ComposeModel, service: string, key: string) => {
  const v = m.services[service]?.environment?.[key];
  return v === null || v === undefined ? undefined : String(v);
};

/**
 * Drift of cluster A: the shared check on a copy of the model without the DOCKER listener (the
 * only listener compose may add: its containers' way in), plus the security settings.
 */
function secureDrift(m: ComposeModel, a: SecureKafkaCluster): string[] {
  const copy: ComposeModel = structuredClone(m);
  const drift: string[] = [];
  for (const id of a.cluster.nodeIds) {
    const s = copy.services[`kafka-${id}`];
    if (!s?.environment) continue;
    const map = String(s.environment.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP ?? "").split(",");
    s.environment.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP = map.filter((l) => l !== "DOCKER:SASL_SSL")
      .join(",");
    const local = a.cluster.properties(id);
    for (
      const prop of [
        "sasl.enabled.mechanisms",
        "sasl.mechanism.inter.broker.protocol",
        "sasl.mechanism.controller.protocol",
        "listener.name.controller.sasl.enabled.mechanisms",
        "listener.name.internal.sasl.enabled.mechanisms",
        "listener.name.external.sasl.enabled.mechanisms",
        "ssl.client.auth",
        "ssl.keystore.type",
        "ssl.truststore.type",
        "ssl.endpoint.identification.algorithm",
        "authorizer.class.name",
        "super.users",
        "allow.everyone.if.no.acl.found",
        "auto.create.topics.enable",
      ]
    ) {
      const key = `KAFKA_${prop.toUpperCase().replaceAll(".", "_")}`;
      const v = envOf(copy, `kafka-${id}`, key);
      if (v !== local[prop]) {
        drift.push(`kafka-${id}: ${key} is '${v}', the local stack has ${prop}=${local[prop]}`);
      }
    }
    // Every user of the platform can log in with PLAIN on every listener, as locally.
    for (const listener of ["CONTROLLER", "INTERNAL", "EXTERNAL"]) {
      const jaas =
        envOf(copy, `kafka-${id}`, `KAFKA_LISTENER_NAME_${listener}_PLAIN_SASL_JAAS_CONFIG`) ??
          "";
      for (const u of ["admin", ...Object.values(PRINCIPALS)]) {
        if (!jaas.includes(`user_${u}=`)) {
          drift.push(`kafka-${id}: ${listener} has no PLAIN user ${u}`);
        }
      }
    }
  }
  return [...drift, ...clusterDrift(copy, a.cluster, "kafka-")];
}

Deno.test("compose/final.yaml passes docker compose config once its secrets are given, and names them when not", async () => {
  const m = await final();
  assert.equal(m.name, "final");
  for (
    const s of [
      "kafka-0",
      "kafka-1",
      "kafka-2",
      "kafka-b-0",
      "mirror-maker",
      "postgres",
      "kafka-connect",
      "namenode",
      "datanode",
      "spark-master",
      "spark-worker",
      "prometheus",
      "alertmanager",
      "grafana",
      "kafka-ui",
      "shop-api",
      "product-filter",
      "client-api",
      "lake-sink",
      "platform-exporter",
    ]
  ) assert.ok(m.services[s], `service ${s}`);
  await assert.rejects(
    () => composeConfig(FILE, { PATH: Deno.env.get("PATH")! }),
    /required variable FINAL_[A-Z_]+_PASSWORD is missing/,
  );
  // No password is written in the file: every secret is a variable.
  const text = await Deno.readTextFile(join(PROJECT_ROOT, FILE));
  assert.doesNotMatch(text, /password="[^$]/);
});

Deno.test("compose/final.yaml and the local stack agree on cluster A, B and MirrorMaker 2", async () => {
  const m = await final();
  const a = await localClusterA();
  try {
    assert.deepEqual(secureDrift(m, a), []);
    // The check is real: another port base, or a compose without SASL on a listener, drifts.
    const other = await localClusterA(11093);
    assert.ok(secureDrift(m, other).some((d) => /EXTERNAL/.test(d)));
    await Deno.remove(join(other.secretsDir, "..", ".."), { recursive: true });
    const broken: ComposeModel = structuredClone(m);
    broken.services["kafka-1"].environment!.KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND = "true";
    broken.services["kafka-2"].environment!.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP =
      "CONTROLLER:SASL_PLAINTEXT,INTERNAL:SASL_PLAINTEXT,EXTERNAL:PLAINTEXT,DOCKER:SASL_SSL";
    assert.equal(secureDrift(broken, a).length, 2, secureDrift(broken, a).join("\n"));
    // Host ports are the local stack's (offset 0).
    for (const id of a.cluster.nodeIds) {
      assert.ok(
        m.services[`kafka-${id}`].ports?.some((p) =>
          Number(p.published) === nodePorts(STACK_PORTS.secureKafka, id).external
        ),
      );
    }
  } finally {
    await Deno.remove(join(a.secretsDir, "..", ".."), { recursive: true });
  }

  // Cluster B: the local mirror cluster (1 node, plaintext).
  const b = mirrorCluster({ dir: "/unused", brokers: 1 });
  assert.deepEqual(clusterDrift(m, b, "kafka-b-"), []);
  assert.ok(clusterDrift(m, mirrorCluster({ dir: "/unused", brokers: 2 }), "kafka-b-").length > 0);
  const autoCreate: ComposeModel = structuredClone(m);
  delete autoCreate.services["kafka-b-0"].environment!.KAFKA_AUTO_CREATE_TOPICS_ENABLE;
  assert.equal(clusterDrift(autoCreate, b, "kafka-b-").length, 1, "B's auto-creation is off");

  // MirrorMaker 2: compose/final/mm2.properties = the local settings, addresses in the network.
  const file = await Deno.readTextFile(join(PROJECT_ROOT, "compose/final/mm2.properties"));
  const composed = Object.fromEntries(
    file.split("\n").filter((l) => l.trim() && !l.startsWith("#")).map((l) => {
      const i = l.indexOf("=");
      return [l.slice(0, i), l.slice(i + 1)];
    }),
  );
  const dockerA = a.cluster.nodeIds.map((i) => `kafka-${i}:9095`).join(",");
  const local = new MirrorMaker({
    dir: "/unused",
    source: {
      bootstrap: dockerA,
      properties: saslSslClientProperties({
        username: PRINCIPALS.mirrorMaker,
        password: "x",
        truststore: "/secrets/truststore.p12",
        truststorePassword: "x",
      }),
    },
    target: { bootstrap: "kafka-b-0:9092" },
    replicationFactor: Math.min(3, b.brokers),
  }).properties();
  // Added by the service at start: secrets and the container's own address.
  const appended = [
    "A.sasl.jaas.config",
    "A.ssl.truststore.password",
    "listeners",
    "rest.advertised.host.name",
  ];
  for (const k of appended) delete local[k];
  assert.deepEqual(composed, local);
  const cmd = (m.services["mirror-maker"].command ?? []).join(" ");
  for (const k of appended) assert.ok(cmd.includes(`${k}=`), `mirror-maker appends ${k}`);
  assert.match(cmd, /username=\\?"mirror-maker\\?"/);
  // B's PLAINTEXT listener is what mm2.properties points at.
  assert.match(
    envOf(m, "kafka-b-0", "KAFKA_ADVERTISED_LISTENERS")!,
    /PLAINTEXT:\/\/kafka-b-0:9092/,
  );
});

/** Which principal each Deno service of the compose file runs as, and its task. */
const SERVICES: Record<
  string,
  { task: string; principal?: string; port?: keyof typeof SERVICE_PORTS }
> = {
  "final-setup": { task: "final:setup", principal: "admin" },
  "shop-api": { task: "final:shop-api", principal: PRINCIPALS.shopApi, port: "shop-api" },
  "product-filter": {
    task: "final:filter",
    principal: PRINCIPALS.productFilter,
    port: "product-filter",
  },
  "client-api": { task: "final:client-api", principal: PRINCIPALS.clientApi, port: "client-api" },
  "lake-sink": { task: "final:lake", port: "lake-sink" },
  "platform-exporter": { task: "final:exporter", principal: "admin", port: "platform-exporter" },
  "connectors-init": { task: "final:sink" },
  shop: { task: "final:shop" },
  analytics: { task: "final:analytics", principal: PRINCIPALS.analytics },
};

Deno.test("compose/final.yaml's Deno services run the tasks as their principals, on the topology's ports, with env their tasks read", async () => {
  const m = await final();
  const common = new Set([
    ...Object.keys(KAFKA_ENV),
    ...Object.keys(COMMON_ENV),
    ...Object.values(SERVICE_ENV).flatMap((g) => Object.keys(g)),
  ]);
  const problems: string[] = [];
  for (const [name, want] of Object.entries(SERVICES)) {
    const s = m.services[name];
    if (!s) {
      problems.push(`service ${name} is missing`);
      continue;
    }
    assert.equal(s.image, "denoland/deno:2.9.6", name);
    const task = denoTaskOf(s);
    if (task !== want.task) problems.push(`${name} runs '${task}', not ${want.task}`);
    if (!tasks[want.task]) problems.push(`${name}: no task ${want.task} in deno.json`);
    const user = envOf(m, name, "KAFKA_SASL_USERNAME");
    if (user !== want.principal) problems.push(`${name} runs as '${user}', not ${want.principal}`);
    if (want.principal) {
      const pw = envOf(m, name, "KAFKA_SASL_PASSWORD");
      const expected =
        SECRETS[`FINAL_${want.principal.toUpperCase().replaceAll("-", "_")}_PASSWORD`];
      if (pw !== expected) problems.push(`${name}: the password is not ${want.principal}'s`);
    }
    // Every env name is one the task (or the libraries it uses) reads.
    const source = await Deno.readTextFile(
      join(PROJECT_ROOT, tasks[want.task]?.split(" ").at(-1) ?? "missing"),
    ).catch(() => "");
    for (const key of Object.keys(s.environment ?? {})) {
      if (!common.has(key) && !source.includes(key)) {
        problems.push(`${name}: ${key} is read by neither ${want.task} nor the shared env`);
      }
    }
    if (want.port) {
      const port = SERVICE_PORTS[want.port];
      if (!s.ports?.some((p) => Number(p.published) === port && p.target === port)) {
        problems.push(`${name} does not publish ${port} (SERVICE_PORTS['${want.port}'])`);
      }
      const portEnv = Object.entries(s.environment ?? {}).filter(([k]) => /PORT$/.test(k));
      for (const [k, v] of portEnv) {
        if (Number(v) !== port) problems.push(`${name}: ${k}=${v}, the topology says ${port}`);
      }
    }
  }
  assert.deepEqual(problems, [], problems.join("\n"));
  // Every platform principal has its password variable and a SCRAM credential in compose.
  const scram = (m.services["kafka-scram"].command ?? []).join(" ");
  for (const p of Object.values(PRINCIPALS)) {
    const v = `FINAL_${p.toUpperCase().replaceAll("-", "_")}_PASSWORD`;
    assert.ok(SECRETS[v], `${v} is required`);
    assert.ok(scram.includes(`${p}:${v}`), `kafka-scram creates ${p}`);
  }
});

Deno.test("compose/final.yaml's Prometheus scrapes every service and loads the platform's rules; Grafana gets the dashboards", async () => {
  const m = await final();
  const prom = await Deno.readTextFile(join(PROJECT_ROOT, "compose/final/prometheus.yml"));
  for (const [service, port] of Object.entries(SERVICES).filter(([, s]) => s.port)) {
    assert.ok(prom.includes(`"${service}:${SERVICE_PORTS[port.port!]}"`), `scrapes ${service}`);
  }
  for (const job of ["kafka", "kafka-mirror", "connect", "mirror-maker", "deno"]) {
    assert.match(prom, new RegExp(`job_name: ${job}\\n`), `job ${job}`);
  }
  // The jobs the platform's alerts select exist.
  const alerts = await Deno.readTextFile(join(PROJECT_ROOT, "compose/prometheus/alerts_final.yml"));
  for (const job of new Set([...alerts.matchAll(/job="([^"]+)"/g)].map((x) => x[1]))) {
    assert.match(prom, new RegExp(`job_name: ${job}\\n`), `alerts_final.yml needs job ${job}`);
  }
  const mounts = JSON.stringify(m.services.prometheus);
  for (const f of ["alerts.yml", "alerts_final.yml", "final/prometheus.yml"]) {
    assert.ok(mounts.includes(f), `prometheus mounts ${f}`);
  }
  const grafana = JSON.stringify(m.services.grafana);
  assert.ok(grafana.includes("grafana/dashboards") && grafana.includes("grafana/provisioning"));
  for await (const d of Deno.readDir(join(PROJECT_ROOT, "compose/grafana/dashboards"))) {
    if (d.name.startsWith("final-")) {
      JSON.parse(await Deno.readTextFile(join(PROJECT_ROOT, "compose/grafana/dashboards", d.name)));
    }
  }
});
