/**
 * One step of `bench:platform`: the hop readers started (lib/marketplace/bench/hops.ts), the
 * SHOP API and CLIENT API loads offered together at the step's rates (./load.ts), then a drain
 * until every acknowledged product and event was seen at every hop or `drainSeconds` passed;
 * the step's latencies per route (HTTP) and per hop (from the acknowledgement to first seen).
 *
 * @example
 * ```ts
 * import { platformStep } from "./step.ts";
 * const s = await platformStep(env, { shopRate: 200, clientRate: 100, seconds: 10, tag: "r1-0" });
 * console.log(s.hops.find((h) => h.hop === HOPS.pg)?.latency.p99);
 * ```
 * @module
 */
import type { Kafka } from "kafkajs";
import { type LatencySummary, latencySummary } from "../../bench/mod.ts";
import { pollUntil } from "../../env/mod.ts";
import type { WebHdfs } from "../../lake/mod.ts";
import type { StoreKeys } from "../store_keys.ts";
import { eventsInLake, eventsOnB, type HopReader, pgRows, productsOnA } from "./hops.ts";
import { CLIENT_MIX, clientLoad, EVENT_ROUTE, type LoadLog, shopLoad } from "./load.ts";

/** The hops, by name in the report. */
export const HOPS = {
  products: "SHOP ack → products (A)",
  pg: "SHOP ack → PostgreSQL row",
  b: "event ack → cluster B",
  lake: "event ack → lake file",
} as const;

/** What a step runs against. */
export interface PlatformBenchEnv {
  kafkaA: Kafka;
  kafkaB: Kafka;
  hdfs: WebHdfs;
  postgresUrl: string;
  shopUrl: string;
  clientUrl: string;
  keys: StoreKeys;
  token: (userId: string) => Promise<string>;
  productIds: string[];
  stores: number;
  batch: number;
  users: number;
  firstUser: number;
}

/** One step's rates. */
export interface StepRates {
  shopRate: number;
  clientRate: number;
  seconds: number;
  /** Tag of the step's records (`bench-<tag>-…`). */
  tag: string;
  drainSeconds?: number;
}

/** A route's or a hop's figures in a step. */
export interface Measured {
  name: string;
  /** Offered rate (products/s; for a CLIENT API route or an event hop, its share of requests/s). */
  offered: number;
  /** Rate the schedule managed. */
  sentPerSec: number;
  latency: LatencySummary;
  /** Acknowledged but never seen at this hop (hops only). */
  missing: number;
  /** Answers that were not 2xx (routes only). */
  failed: number;
}

/** One step's figures. */
export interface PlatformStep {
  shopRate: number;
  clientRate: number;
  seconds: number;
  routes: Measured[];
  hops: Measured[];
  loadavg: number;
  /** How late each load's schedule ran at worst (ms): the load generator falling behind. */
  lateMs: { shop: number; client: number };
}

function hopOf(name: string, log: LoadLog, offered: number, reader: HopReader): Measured {
  const ms: number[] = [];
  for (const [id, ack] of log.acks) {
    const seen = reader.arrivals.get(id);
    if (seen !== undefined) ms.push(seen - ack);
  }
  return {
    name,
    offered,
    sentPerSec: log.acks.size / secondsOf(log),
    latency: latencySummary(ms),
    missing: log.acks.size - ms.length,
    failed: 0,
  };
}

function secondsOf(log: LoadLog): number {
  return Math.max(0.001, (log.loop.endMs - log.loop.startMs) / 1000);
}

/** Each route's figures; `offered(route)` is its share of the load's offered rate. */
function routesOf(log: LoadLog, offered: (route: string) => number): Measured[] {
  return [...log.routes].map(([name, ms]) => ({
    name,
    offered: offered(name),
    sentPerSec: ms.length / secondsOf(log),
    latency: latencySummary(ms),
    missing: 0,
    failed: Object.entries(log.failed).filter(([k]) => k.startsWith(`${name} `))
      .reduce((a, [, n]) => a + n, 0),
  }));
}

/** A CLIENT API route's share of `rate` (requests/s). */
function shareOf(rate: number, route: string): number {
  return Math.round(rate * (CLIENT_MIX.find((m) => m.route === route)?.share ?? 1) * 10) / 10;
}

/** Waits until every acknowledged id reached every reader, or the drain time passes. */
async function drain(pairs: [LoadLog, HopReader][], seconds: number): Promise<void> {
  await pollUntil(
    "every hop caught up",
    () => pairs.every(([log, r]) => [...log.acks.keys()].every((id) => r.arrivals.has(id))),
    {
      timeoutMs: seconds * 1000,
      intervalMs: 500,
    },
  ).catch(() => {});
}

/** Runs one step. */
export async function platformStep(e: PlatformBenchEnv, s: StepRates): Promise<PlatformStep> {
  const prefix = `bench-${s.tag}-`;
  const shopAcks = new Map<string, number>();
  const readers = {
    products: await productsOnA(e.kafkaA, prefix),
    pg: pgRows(e.postgresUrl, () => [...shopAcks.keys()]),
    b: await eventsOnB(e.kafkaB, prefix),
    lake: await eventsInLake(e.hdfs, prefix),
  };
  try {
    const shopRun = shopLoad({
      url: e.shopUrl,
      keys: e.keys,
      stores: e.stores,
      rate: s.shopRate,
      seconds: s.seconds,
      batch: e.batch,
      tag: s.tag,
      acks: shopAcks,
    });
    const clientRun = clientLoad({ ...e, url: e.clientUrl, rate: s.clientRate, ...s });
    const [shop, client] = await Promise.all([shopRun, clientRun]);
    await drain([
      [shop, readers.products],
      [shop, readers.pg],
      [client, readers.b],
      [client, readers.lake],
    ], s.drainSeconds ?? 60);
    return {
      shopRate: s.shopRate,
      clientRate: s.clientRate,
      seconds: s.seconds,
      routes: [
        ...routesOf(shop, () => s.shopRate),
        ...routesOf(client, (r) => shareOf(s.clientRate, r)),
      ],
      hops: [
        hopOf(HOPS.products, shop, s.shopRate, readers.products),
        hopOf(HOPS.pg, shop, s.shopRate, readers.pg),
        hopOf(HOPS.b, client, shareOf(s.clientRate, EVENT_ROUTE), readers.b),
        hopOf(HOPS.lake, client, shareOf(s.clientRate, EVENT_ROUTE), readers.lake),
      ],
      loadavg: Deno.loadavg()[0],
      lateMs: { shop: shop.loop.lateMs, client: client.loop.lateMs },
    };
  } finally {
    await Promise.all(Object.values(readers).map((r) => r.stop()));
  }
}
