/**
 * `deno task final:filter` — the product filter (exactly-once): `input-products` →
 * `products` (+ `products.connect` for the JDBC sink), forbidden products to
 * `products.blocked`, invalid records to `input-products.dlq`, on the secure cluster as
 * principal `product-filter`. Runs until SIGINT/SIGTERM; `/metrics` and `/healthz` on
 * `servicePort("product-filter")` (METRICS_PORT overrides).
 *
 * Env: KAFKA_* (see secureKafkaConfigFromEnv), FILTER_APP_ID (default product-filter),
 * PROCESSING_GUARANTEE (exactly_once, the default, or at_least_once — for drills only),
 * METRICS_PORT, METRICS_HOST (default 127.0.0.1).
 */
import { defineTask, envChoice, envInt, envString, runMain } from "../../lib/env/mod.ts";
import { createKafka, KAFKA_ENV, secureKafkaConfigFromEnv } from "../../lib/kafka/mod.ts";
import { serveMetrics } from "../../lib/monitoring/mod.ts";
import {
  createProductFilter,
  filterCounts,
  GROUPS,
  registerFilterMetrics,
  servicePort,
} from "../../lib/marketplace/mod.ts";

const SPEC = defineTask({
  task: "final:filter",
  summary:
    "The exactly-once product filter: input-products → products (+ products.connect), forbidden products dropped, malformed ones to the DLQ; serves /metrics. Runs until Ctrl-C.",
  env: {
    ...KAFKA_ENV,
    FILTER_APP_ID: {
      description: "application id (consumer group, transactional ids)",
      default: "the topology's",
    },
    METRICS_PORT: {
      description: "port of /metrics and /healthz",
      default: "the topology's port + STACK_PORT_OFFSET",
    },
    METRICS_HOST: { description: "address /metrics listens on", default: "127.0.0.1" },
  },
  examples: ["deno task final:filter"],
});

await runMain(async () => {
  const appId = envString("FILTER_APP_ID", GROUPS.productFilter);
  const port = envInt("METRICS_PORT", {
    default: servicePort("product-filter"),
    min: 0,
    max: 65535,
  });
  const kafka = createKafka(
    secureKafkaConfigFromEnv("product-filter", { clientId: appId, logLevel: "ERROR" }),
  );
  const guarantee = envChoice(
    "PROCESSING_GUARANTEE",
    ["exactly_once", "at_least_once"] as const,
    "exactly_once",
  );
  const app = createProductFilter(kafka, { appId, guarantee });
  registerFilterMetrics(app);
  const server = serveMetrics({
    port,
    service: appId,
    hostname: envString("METRICS_HOST", "127.0.0.1"),
    healthy: () => app.healthy,
  });
  console.log(
    `${appId}: input-products → products; metrics on http://127.0.0.1:${server.addr.port}/metrics`,
  );
  const done = Promise.withResolvers<string>();
  const onInt = () => done.resolve("SIGINT");
  const onTerm = () => done.resolve("SIGTERM");
  Deno.addSignalListener("SIGINT", onInt);
  Deno.addSignalListener("SIGTERM", onTerm);
  await app.start();
  console.log(`processing (forbidden table: ${app.tables.get("forbidden").size} entries)`);
  const line = async () => {
    const c = await filterCounts(app);
    return `in=${c.in} passed=${c.passed} forbidden=${c.forbidden} dlq=${c.dlq}`;
  };
  const report = setInterval(async () => console.log(`progress: ${await line()}`), 5_000);
  const why = await done.promise;
  clearInterval(report);
  console.log(`${why}: finishing the open transaction and leaving the group`);
  await app.stop();
  await server.shutdown();
  Deno.removeSignalListener("SIGINT", onInt);
  Deno.removeSignalListener("SIGTERM", onTerm);
  console.log(`stopped: ${await line()}`);
}, SPEC);
