/**
 * `deno task final:shop-api` — the SHOP API (lib/marketplace/shop_api.ts): stores POST their
 * products to `/products`; valid ones go to `input-products` on the secure cluster as
 * `shop-api`. Env: SHOP_API_PORT (default the topology's port + STACK_PORT_OFFSET),
 * SHOP_API_HOST (default 127.0.0.1; 0.0.0.0 in a container), SHOP_API_KEYS_FILE, KAFKA_*.
 * Follows the store-keys file while it runs (`final:stores` adds, rotates and revokes keys; the
 * change is taken within a second, no restart). Runs until SIGINT/SIGTERM, then flushes what it
 * accepted.
 */
import { defineTask, envInt, envString, runMain } from "../../lib/env/mod.ts";
import {
  createKafka,
  explainKafkaError,
  KAFKA_ENV,
  secureKafkaConfigFromEnv,
} from "../../lib/kafka/mod.ts";
import {
  PRINCIPALS,
  servicePort,
  startShopApi,
  StoreKeyFile,
  storeKeysFile,
} from "../../lib/marketplace/mod.ts";
import { applyPlatformConfig } from "../../lib/marketplace/mod.ts";

const SPEC = defineTask({
  task: "final:shop-api",
  summary:
    "The SHOP API: POST /products (one, array or NDJSON) with per-store keys (followed while it runs) → input-products on cluster A as shop-api. Runs until Ctrl-C.",
  env: {
    ...KAFKA_ENV,
    SHOP_API_PORT: { description: "HTTP port", default: "the topology's port + STACK_PORT_OFFSET" },
    SHOP_API_HOST: { description: "address to listen on", default: "127.0.0.1" },
    SHOP_API_KEYS_FILE: {
      description: "store keys file",
      default: "<stack>/secrets/final/store-keys.json",
    },
  },
  examples: ["deno task final:shop-api"],
});

await runMain(async () => {
  applyPlatformConfig("shop-api");
  const port = envInt("SHOP_API_PORT", { default: servicePort("shop-api"), min: 0, max: 65_535 });
  const hostname = envString("SHOP_API_HOST", "127.0.0.1");
  const keys = await StoreKeyFile.open(storeKeysFile());
  const options = secureKafkaConfigFromEnv(PRINCIPALS.shopApi, { clientId: "shop-api" });
  const api = await startShopApi({ kafka: createKafka(options), keys, port, hostname }).catch(
    (err) => {
      throw explainKafkaError(err, options, "connect the SHOP API to input-products");
    },
  );
  console.log(
    `SHOP API on ${api.url} (POST /products, /metrics, /healthz) for ${keys.current.size} stores → input-products as '${options.username}' on ${
      options.brokers.join(",")
    }`,
  );
  console.log(`Store keys: ${keys.file}, followed (deno task final:stores add|rotate|revoke)`);
  const stop = Promise.withResolvers<void>();
  for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, stop.resolve);
  await stop.promise;
  await api.close();
  console.log("SHOP API stopped");
}, SPEC);
