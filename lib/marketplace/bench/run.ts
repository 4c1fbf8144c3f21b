/**
 * {@linkcode runPlatformBench}: `bench:platform` on a running platform — checks that the
 * platform is up (one line naming what to start when not), reads what the loads need (store
 * keys, the identity key for users' tokens, products to open), then runs the steps in order
 * (./step.ts), printing each step's p99s as it ends.
 *
 * @example
 * ```ts
 * import { runPlatformBench } from "./run.ts";
 * const steps = await runPlatformBench(stack, { shopRates: [100], clientRates: [50], seconds: 5 });
 * ```
 * @module
 */
import pg from "pg";
import type { Stack } from "../../stack/mod.ts";
import { requireRunning } from "../../bench/mod.ts";
import { ConfigError } from "../../env/mod.ts";
import { withDatabase } from "../../connect/mod.ts";
import { createKafka, kafkaConfigFromEnv, secureKafkaConfigFromEnv } from "../../kafka/mod.ts";
import { WebHdfs } from "../../lake/mod.ts";
import { STORES } from "../catalog.ts";
import { loadStoreKeys, storeKeysFile } from "../store_keys.ts";
import { devClaimsFromEnv, devTokens, identitySecretFromEnv } from "../client_api/identity.ts";
import { ANALYTICS_DB, SERVICE_PORTS } from "../topology.ts";
import { type PlatformBenchEnv, type PlatformStep, platformStep } from "./step.ts";

/** Options of {@linkcode runPlatformBench}. */
export interface PlatformBenchOptions {
  /** SHOP API products/s, one per step. */
  shopRates: number[];
  /** CLIENT API requests/s, one per step (as many as `shopRates`). */
  clientRates: number[];
  seconds: number;
  /** Stores sending at once. @default 5 */
  stores?: number;
  /** Products a SHOP API request. @default 1 */
  batch?: number;
  /** Simulated users. @default 50 */
  users?: number;
  drainSeconds?: number;
  out?: (line: string) => void;
}

/** What the platform must have running. */
const NEEDS = [
  "kafka-secure",
  "kafka-mirror",
  "postgres",
  "hdfs",
  "connect-main",
  "mirror-maker",
  "shop-api",
  "product-filter",
  "client-api",
  "lake-sink",
];

/** Up to 500 product ids of the catalogue in PostgreSQL (what users open). */
async function catalogueIds(postgresUrl: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: withDatabase(postgresUrl, ANALYTICS_DB) });
  await c.connect();
  try {
    const r = await c.query<{ product_id: string }>(
      "select product_id from products where product_id not like 'bench-%' limit 500",
    );
    return r.rows.map((x) => x.product_id);
  } finally {
    await c.end();
  }
}

async function benchEnv(stack: Stack, o: PlatformBenchOptions): Promise<PlatformBenchEnv> {
  const { dir, portOffset } = stack.options;
  const postgresUrl = stack.postgres!.url();
  const productIds = await catalogueIds(postgresUrl);
  if (productIds.length === 0) {
    throw new ConfigError(
      `Cannot bench as the platform in ${dir} has no products in PostgreSQL: run \`deno task demo\` first`,
    );
  }
  const bootstrapB = stack.mirrorKafka!.bootstrap();
  const { secret } = await identitySecretFromEnv(dir);
  const url = (s: keyof typeof SERVICE_PORTS) =>
    `http://127.0.0.1:${SERVICE_PORTS[s] + portOffset}`;
  return {
    kafkaA: createKafka(
      secureKafkaConfigFromEnv("admin", { clientId: "bench", logLevel: "NOTHING" }),
    ),
    kafkaB: createKafka(kafkaConfigFromEnv({ clientId: "bench", logLevel: "NOTHING" }, {
      get: (n) => n === "KAFKA_BOOTSTRAP_SERVERS" ? bootstrapB : undefined,
    })),
    hdfs: new WebHdfs({ url: stack.hdfs!.webhdfsUrl() }),
    postgresUrl,
    shopUrl: url("shop-api"),
    clientUrl: url("client-api"),
    keys: await loadStoreKeys(storeKeysFile(dir)),
    token: devTokens(secret, devClaimsFromEnv()),
    productIds,
    stores: Math.min(o.stores ?? 5, STORES.length),
    batch: o.batch ?? 1,
    users: o.users ?? 50,
    firstUser: 900_000_000 + Math.floor(Math.random() * 1e6) * 100,
  };
}

/** Runs every step on the platform of `stack`. */
export async function runPlatformBench(
  stack: Stack,
  o: PlatformBenchOptions,
): Promise<PlatformStep[]> {
  const out = o.out ?? console.log;
  await requireRunning(stack, NEEDS, "deno task demo");
  const env = await benchEnv(stack, o);
  const run = Date.now().toString(36);
  const steps: PlatformStep[] = [];
  for (const [i, shopRate] of o.shopRates.entries()) {
    const clientRate = o.clientRates[i];
    out(`step ${i + 1}: ${shopRate} products/s, ${clientRate} requests/s for ${o.seconds} s…`);
    const step = await platformStep(env, {
      shopRate,
      clientRate,
      seconds: o.seconds,
      tag: `${run}-${i}`,
      drainSeconds: o.drainSeconds,
    });
    for (const m of [...step.routes, ...step.hops]) {
      out(
        `  ${m.name}: p50 ${Math.round(m.latency.p50)} ms, p99 ${Math.round(m.latency.p99)} ms` +
          ` (n ${m.latency.count}${m.missing ? `, ${m.missing} missing` : ""}${
            m.failed ? `, ${m.failed} failed` : ""
          })`,
      );
    }
    steps.push(step);
  }
  return steps;
}
