/**
 * `deno task final:exporter [--port P] [--interval-ms 5000] [--stack-dir DIR]` — the platform
 * exporter: the health of cluster A (the secure main cluster, read over SASL_SSL as `admin`)
 * and cluster B (the mirror) — brokers alive, under-replicated and offline partitions, end
 * offsets per topic (DLQ growth), lag of every consumer group (the filter, the JDBC sink's
 * `connect-final-products-jdbc`, the lake sink) — and the analytics jobs' last runs from
 * `<stack>/monitoring/jobs/*.json`, all on /metrics (labels `cluster="A"|"B"`). It registers
 * itself with the stack's Prometheus (file service discovery) and serves /healthz.
 *
 * Env: FINAL_A_BOOTSTRAP (default: the stack's secure cluster), FINAL_B_BOOTSTRAP (default: the
 * stack's mirror cluster; empty: none), KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD /
 * KAFKA_SSL_CA_FILE for A (default: the stack's admin), EXPORTER_HOST (address /metrics listens
 * on; default 127.0.0.1, 0.0.0.0 in a container), STACK_DIR.
 */
import {
  defaultStackDir,
  defineTask,
  envString,
  localEndpoints,
  parseIntValue,
  runMain,
  sleep,
} from "../../lib/env/mod.ts";
import {
  createKafka,
  KAFKA_ENV,
  kafkaConfigFromEnv,
  secureKafkaConfigFromEnv,
} from "../../lib/kafka/mod.ts";
import {
  collectClusterHealth,
  exportJobStatuses,
  jobStatusDir,
  serveMetrics,
} from "../../lib/monitoring/mod.ts";
import { registerScrapeTarget } from "../../lib/stack/mod.ts";
import { servicePort } from "../../lib/marketplace/mod.ts";
import { applyPlatformConfig } from "../../lib/marketplace/mod.ts";

const SPEC = defineTask({
  task: "final:exporter",
  summary:
    "The platform exporter: health of clusters A and B, group lag, DLQ growth and the analytics jobs on /metrics; registers with the stack's Prometheus.",
  flags: {
    port: {
      type: "string",
      default: "the topology's port + STACK_PORT_OFFSET",
      valueName: "PORT",
      description: "port of /metrics",
    },
    "interval-ms": {
      type: "string",
      default: "5000",
      valueName: "MS",
      description: "how often to read",
    },
    "stack-dir": {
      type: "string",
      default: "STACK_DIR or .stack",
      valueName: "DIR",
      description: "stack folder",
    },
  },
  env: {
    ...KAFKA_ENV,
    FINAL_A_BOOTSTRAP: { description: "cluster A", default: "the stack's secure cluster" },
    FINAL_B_BOOTSTRAP: {
      description: "cluster B; empty: none",
      default: "the stack's mirror cluster",
    },
    EXPORTER_HOST: {
      description: "address /metrics listens on (0.0.0.0 in a container)",
      default: "127.0.0.1",
    },
  },
  examples: ["deno task final:exporter"],
});

await runMain(async (cli) => {
  applyPlatformConfig("platform-exporter");
  const flags = cli;
  const stackDir = flags.values["stack-dir"] ?? defaultStackDir();
  const port = parseIntValue(
    "--port",
    flags.values.port ?? String(servicePort("platform-exporter")),
    { min: 0, max: 65535 },
  );
  const interval = parseIntValue("--interval-ms", flags.values["interval-ms"] ?? "5000", {
    min: 500,
  });
  const endpoints = localEndpoints(stackDir);
  const aBootstrap = envString("FINAL_A_BOOTSTRAP", endpoints.kafka.secure ?? "");
  const bBootstrap = envString("FINAL_B_BOOTSTRAP", endpoints.kafka.mirror ?? "");
  const admins: {
    cluster: string;
    kafka: ReturnType<typeof createKafka>;
    admin: ReturnType<ReturnType<typeof createKafka>["admin"]>;
  }[] = [];
  const quiet = { logLevel: "NOTHING" as const, clientId: "platform-exporter" };
  if (aBootstrap) {
    const kafka = createKafka(secureKafkaConfigFromEnv("admin", quiet, {
      get: (n) => n === "KAFKA_BOOTSTRAP_SERVERS" ? aBootstrap : Deno.env.get(n),
    }));
    admins.push({ cluster: "A", kafka, admin: kafka.admin() });
  }
  if (bBootstrap) {
    const kafka = createKafka(kafkaConfigFromEnv(quiet, {
      get: (n) => n === "KAFKA_BOOTSTRAP_SERVERS" ? bBootstrap : undefined,
    }));
    admins.push({ cluster: "B", kafka, admin: kafka.admin() });
  }
  if (admins.length === 0) {
    console.error(
      "No cluster to watch: start the stack with `deno task stack up --mirror` or set " +
        "FINAL_A_BOOTSTRAP / FINAL_B_BOOTSTRAP",
    );
  }
  let healthy = false;
  const hostname = envString("EXPORTER_HOST", "127.0.0.1");
  const server = serveMetrics({
    port,
    hostname,
    service: "platform-exporter",
    healthy: () => healthy,
  });
  // The stack's Prometheus runs on this machine: it scrapes the loopback address either way.
  const address = `127.0.0.1:${server.addr.port}`;
  const target = await registerScrapeTarget(stackDir, "platform-exporter", address);
  console.log(
    `platform exporter: clusters ${admins.map((a) => a.cluster).join(", ") || "none"}; ` +
      `metrics on http://${address}/metrics`,
  );
  let stopping = false;
  // Exits at once: a collection can sit in kafkajs' retries (e.g. a topic deleted meanwhile)
  // for minutes; nothing of it needs finishing. (No server.shutdown() either: it would wait
  // for Prometheus' keep-alive connection to go idle.)
  const stop = () => {
    stopping = true;
    Deno.removeSync(target);
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  while (!stopping) {
    const results = await Promise.all(
      admins.map(({ cluster, admin }) =>
        collectClusterHealth(admin, cluster).then((h) => h.reachable)
      ),
    );
    await exportJobStatuses(jobStatusDir(stackDir));
    healthy = true; // serving: an unreachable cluster is a metric, not an unhealthy exporter
    if (results.some((ok) => !ok)) {
      console.error(
        `unreachable: ${admins.filter((_, i) => !results[i]).map((a) => a.cluster).join(", ")}`,
      );
      // A fresh admin client for the next round: kafkajs keeps asking for the metadata of every
      // topic it was ever asked about, and once one is deleted each refresh fails for good.
      for (const [i, a] of admins.entries()) {
        if (results[i]) continue;
        await a.admin.disconnect().catch(() => {});
        a.admin = a.kafka.admin();
      }
    }
    for (let waited = 0; waited < interval && !stopping; waited += 250) await sleep(250);
  }
  await Deno.remove(target).catch(() => {});
  await Promise.all(admins.map(({ admin }) => admin.disconnect().catch(() => {})));
  // No server.shutdown(): it would wait for Prometheus' keep-alive connection to go idle.
  Deno.exit(0);
}, SPEC);
