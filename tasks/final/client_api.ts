/**
 * `deno task final:client-api` — the CLIENT API (lib/marketplace/client_api.ts): product
 * search and product by id over PostgreSQL `analytics.products`, a user's recommendations from
 * the `recommendations` topic, user actions (`POST /events`); every request, response and
 * action recorded in `user-requests`, `user-responses`, `user-events` on the secure cluster as
 * `client-api`. Users are who their bearer token says (`Authorization: Bearer <jwt>`, `sub` =
 * `user-<digits>`; `deno task final:token USER` issues one); search may be anonymous.
 *
 * Env: CLIENT_API_PORT (default the topology's port + STACK_PORT_OFFSET), CLIENT_API_HOST
 * (127.0.0.1; 0.0.0.0 in a container), CLIENT_API_USER_PATTERN (regular expression of a known
 * user id, default `^user-[0-9]{1,12}$`), POSTGRES_URL (any database of the server; the API
 * reads `analytics`), CLIENT_API_PG_POOL (connections to PostgreSQL, default
 * DEFAULT_PG_POOL_SIZE), KAFKA_* (default: the local stack's secure cluster), and the identity:
 * CLIENT_API_JWT_SECRET_FILE (default the stack's identity key, made on first use),
 * CLIENT_API_JWKS_URL (an identity provider's keys instead), CLIENT_API_JWT_ISSUER and
 * CLIENT_API_JWT_AUDIENCE (required `iss`/`aud` when set).
 * Runs until SIGINT/SIGTERM, then flushes what it recorded.
 */
import { defineTask, envInt, envString, runMain, SERVICE_ENV } from "../../lib/env/mod.ts";
import {
  createKafka,
  explainKafkaError,
  KAFKA_ENV,
  secureKafkaConfigFromEnv,
} from "../../lib/kafka/mod.ts";
import { postgresUrlFromEnv, withDatabase } from "../../lib/connect/mod.ts";
import {
  ANALYTICS_DB,
  DEFAULT_PG_POOL_SIZE,
  IDENTITY_ENV,
  identityFromEnv,
  PRINCIPALS,
  servicePort,
  startClientApi,
  tokenVerifier,
  userPatternFromEnv,
} from "../../lib/marketplace/mod.ts";
import { applyPlatformConfig } from "../../lib/marketplace/mod.ts";

const SPEC = defineTask({
  task: "final:client-api",
  summary:
    "The CLIENT API: product search and by id over analytics.products, recommendations, POST /events; users by bearer token (JWT); every request/response/action recorded on cluster A. Runs until Ctrl-C.",
  env: {
    ...SERVICE_ENV.postgres,
    ...KAFKA_ENV,
    CLIENT_API_PORT: {
      description: "HTTP port",
      default: "the topology's port + STACK_PORT_OFFSET",
    },
    CLIENT_API_HOST: { description: "address to listen on", default: "127.0.0.1" },
    CLIENT_API_PG_POOL: {
      description: "connections to PostgreSQL",
      default: String(DEFAULT_PG_POOL_SIZE),
    },
    CLIENT_API_USER_PATTERN: {
      description: "regular expression of a known user id",
      default: "^user-[0-9]{1,12}$",
    },
    ...IDENTITY_ENV,
    ...SERVICE_ENV.stack,
  },
  examples: ["deno task final:client-api"],
});

await runMain(async () => {
  applyPlatformConfig("client-api");
  const port = envInt("CLIENT_API_PORT", {
    default: servicePort("client-api"),
    min: 0,
    max: 65_535,
  });
  const hostname = envString("CLIENT_API_HOST", "127.0.0.1");
  const pgPoolSize = envInt("CLIENT_API_PG_POOL", {
    default: DEFAULT_PG_POOL_SIZE,
    min: 1,
    max: 200,
  });
  const userPattern = userPatternFromEnv();
  const identity = await identityFromEnv(userPattern);
  const postgresUrl = withDatabase(postgresUrlFromEnv(), ANALYTICS_DB);
  const options = secureKafkaConfigFromEnv(PRINCIPALS.clientApi, { clientId: "client-api" });
  const api = await startClientApi({
    kafka: createKafka(options),
    identity: tokenVerifier(identity),
    postgresUrl,
    port,
    hostname,
    userPattern,
    pgPoolSize,
  }).catch((err) => {
    throw explainKafkaError(err, options, "connect the CLIENT API to the secure cluster");
  });
  console.log(
    `CLIENT API on ${api.url} (GET /products/search?q=…, /products/:id, /users/:id/recommendations, ` +
      `POST /events, /metrics, /healthz) as '${options.username}' on ${
        options.brokers.join(",")
      }; ` +
      `products from ${
        new URL(postgresUrl).host
      }/${ANALYTICS_DB}; users match ${userPattern.source}, by bearer tokens of ${identity.source}`,
  );
  api.recommendations.ready(120_000).then(
    () => console.log(`recommendations: ${api.recommendations.size} users loaded`),
    (err) => console.error(`recommendations: ${(err as Error).message}`),
  );
  const stop = Promise.withResolvers<void>();
  for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, stop.resolve);
  await stop.promise;
  await api.close();
  const s = api.stats;
  console.log(
    `CLIENT API stopped: ${s.requests} requests (${s.refused} refused), ${s.events} events, ` +
      `${s.searchesEmpty} searches found nothing`,
  );
}, SPEC);
