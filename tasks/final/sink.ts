/**
 * `deno task final:sink` — registers the final project's two connectors on the Connect worker
 * (idempotent) and waits until both run: Debezium CDC of `analytics.forbidden_products` →
 * `forbidden-products`, and the JDBC sink `products.connect` → `analytics.products`. Both
 * reach the secure cluster A as principal `connect` through per-connector client overrides.
 *
 * Env: CONNECT_URL, POSTGRES_URL, FINAL_KAFKA_BOOTSTRAP_SERVERS + CONNECT_CLIENT_PROPERTIES
 * (default: the local stack's).
 */
import { defineTask, runMain, SERVICE_ENV } from "../../lib/env/mod.ts";
import { ConnectClient, postgresUrlFromEnv } from "../../lib/connect/mod.ts";
import { registerFinalConnectors } from "../../lib/marketplace/mod.ts";
import { applyPlatformConfig } from "../../lib/marketplace/mod.ts";

const SPEC = defineTask({
  task: "final:sink",
  summary:
    "Registers the final project's connectors (Debezium CDC of forbidden_products, JDBC sink of products) and waits until both run.",
  env: {
    ...SERVICE_ENV.connect,
    ...SERVICE_ENV.postgres,
    FINAL_KAFKA_BOOTSTRAP_SERVERS: {
      description: "cluster A for the connectors",
      default: "the stack's secure cluster",
    },
    CONNECT_CLIENT_PROPERTIES: {
      description: "client properties file of principal connect",
      default: "the stack's",
    },
  },
  examples: ["deno task final:sink"],
});

await runMain(async () => {
  applyPlatformConfig("connect");
  const connect = new ConnectClient();
  const statuses = await registerFinalConnectors(connect, postgresUrlFromEnv());
  for (const s of statuses) {
    console.log(
      `connector '${s.name}' ${s.connector.state}, tasks: ${
        s.tasks.map((t) => t.state).join(", ")
      }`,
    );
  }
}, SPEC);
