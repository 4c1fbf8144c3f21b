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
  TOPICS,
} from "../../lib/marketplace/mod.ts";
import { applyPlatformConfig } from "../../lib/marketplace/mod.ts";

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
    FILTER_MAX_BATCH_BYTES: {
      description: "bytes fetched per partition, so at most processed per transaction",
      default: "1048576",
    },
    FILTER_TOPIC_PREFIX: {
      description:
        "drills and benchmarks only: run on topics of its own — input-products, products, products.connect and products.blocked each prefixed (start it with 'product-filter-', the prefix the filter's ACLs allow); the forbidden table stays the real one",
      default: "none",
    },
  },
  examples: ["deno task final:filter"],
});

await runMain(async () => {
  applyPlatformConfig("product-filter");
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
  const prefix = envString("FILTER_TOPIC_PREFIX", "");
  const topics = prefix
    ? {
      inputProducts: prefix + TOPICS.inputProducts,
      products: prefix + TOPICS.products,
      productsConnect: prefix + TOPICS.productsConnect,
      productsBlocked: prefix + TOPICS.productsBlocked,
    }
    : undefined;
  const maxBytesPerPartition = envInt("FILTER_MAX_BATCH_BYTES", {
    default: 1_048_576,
    min: 1_024,
    max: 64 * 1_048_576,
  });
  const app = createProductFilter(kafka, {
    appId,
    guarantee,
    topics,
    streams: { maxBytesPerPartition },
  });
  registerFilterMetrics(app, topics);
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
    const c = await filterCounts(app, topics);
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
