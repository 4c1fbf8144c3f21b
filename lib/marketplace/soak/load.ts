/**
 * The platform soak's load, recording what was acknowledged:
 *
 * - {@linkcode productLoad}: products through the SHOP API at a steady rate, one per request,
 *   each send a new version of one of a pool of products (versions of a product one after
 *   another; the version is in `description` as `soak v<N>`); a 202 is acknowledged, anything
 *   else (the API down, 5xx) is a send that may or may not have landed.
 * - {@linkcode deadLetterLoad}: records that are not JSON, written straight to
 *   `input-products` (idempotent producer), each of which must end in the DLQ once.
 * - {@linkcode userLoad}: simulated users (users_sim, in rounds until stopped) through a recording proxy in front of
 *   the CLIENT API, which notes each answer's `x-request-id` and status.
 *
 * @example
 * ```ts
 * import { productLoad } from "./load.ts";
 * const load = productLoad({ shopUrl, keys, products, rate: 5 });
 * // … later
 * const log = await load.stop();
 * console.log(log.acked.size, log.unacked.size);
 * ```
 * @module
 */
import type { Kafka } from "kafkajs";
import type { Product } from "../../schemas/mod.ts";
import { sendToShopApi } from "../shop_api.ts";
import type { StoreKeys } from "../store_keys.ts";
import { TOPICS } from "../topology.ts";
import { runSimulation, type SimulationOptions, type SimulationReport } from "../users_sim.ts";
import { sleep } from "../../env/mod.ts";
import { versionId } from "./reconcile.ts";

/** What the SHOP API acknowledged (202) and what it did not, as `<id>@v<version>`. */
export interface ProductLog {
  acked: Set<string>;
  unacked: Set<string>;
  /** Versions acknowledged, per product. */
  ackedVersions: [string, number][];
  /** Statuses of the unacknowledged sends (0: unreachable). */
  statuses: Record<string, number>;
}

/** A load running until stopped. */
export interface Load<T> {
  stop: () => Promise<T>;
}

/** The version a soak product carries in its description (`soak v<N>`), if any. */
export function versionOf(description: unknown): number | undefined {
  const m = typeof description === "string" ? /soak v(\d+)$/.exec(description) : null;
  return m ? Number(m[1]) : undefined;
}

/** Products through the SHOP API at `rate` per second until stopped. */
export function productLoad(o: {
  shopUrl: string;
  keys: StoreKeys;
  products: Product[];
  rate: number;
}): Load<ProductLog> {
  const log: ProductLog = { acked: new Set(), unacked: new Set(), ackedVersions: [], statuses: {} };
  const version = new Map<string, number>();
  const busy = new Set<string>();
  const pending = new Set<Promise<void>>();
  let next = 0;
  const send = async (p: Product) => {
    const v = (version.get(p.product_id) ?? 0) + 1;
    version.set(p.product_id, v);
    busy.add(p.product_id);
    const id = versionId(p.product_id, v);
    const product = { ...p, description: `soak v${v}`, updated_at: new Date().toISOString() };
    try {
      const r = await sendToShopApi([product], { url: o.shopUrl, keys: o.keys });
      const status = r.results[0]?.status ?? 0;
      if (status === 202) (log.acked.add(id), log.ackedVersions.push([p.product_id, v]));
      else (log.unacked.add(id), log.statuses[status] = (log.statuses[status] ?? 0) + 1);
    } finally {
      busy.delete(p.product_id);
    }
  };
  const timer = setInterval(() => {
    // Round robin over the products not in flight: a product's versions go one at a time.
    for (let i = 0; i < o.products.length; i++) {
      const p = o.products[next++ % o.products.length];
      if (busy.has(p.product_id)) continue;
      const job = send(p);
      pending.add(job);
      job.finally(() => pending.delete(job));
      return;
    }
  }, 1000 / o.rate);
  return {
    stop: async () => {
      clearInterval(timer);
      await Promise.all(pending);
      return log;
    },
  };
}

/** Dead letters written (acknowledged by Kafka) and not. */
export interface DeadLetterLog {
  acked: Set<string>;
  unacked: Set<string>;
}

/** A record that is not JSON, keyed `<prefix>-dlq-<n>`, every `everyMs` until stopped. */
export function deadLetterLoad(kafka: Kafka, prefix: string, everyMs = 3_000): Load<DeadLetterLog> {
  const log: DeadLetterLog = { acked: new Set(), unacked: new Set() };
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const ready = producer.connect();
  let n = 0;
  let chain = Promise.resolve();
  const timer = setInterval(() => {
    const key = `${prefix}-dlq-${++n}`;
    chain = chain.then(async () => {
      try {
        await ready;
        await producer.send({
          topic: TOPICS.inputProducts,
          acks: -1,
          messages: [{ key, value: `not json ${key}` }],
        });
        log.acked.add(key);
      } catch {
        log.unacked.add(key);
      }
    });
  }, everyMs);
  return {
    stop: async () => {
      clearInterval(timer);
      await chain;
      await producer.disconnect().catch(() => {});
      return log;
    },
  };
}

/** The CLIENT API's answers as the proxy saw them, by request id. */
export interface UserLog {
  statuses: Map<string, number>;
  /** Requests the proxy could not pass on (the API down). */
  unreachable: number;
  report?: SimulationReport;
  /** Why the simulation itself failed, if it did. */
  error?: string;
}

/**
 * Simulated users, in rounds of 15 s until stopped, through a proxy in front of `clientUrl`
 * that records each answer's request id and status.
 */
export function userLoad(o: {
  clientUrl: string;
  token: (userId: string) => Promise<string>;
  users: number;
  firstUser: number;
  seed: number;
}): Load<UserLog> {
  const log: UserLog = { statuses: new Map(), unreachable: 0 };
  const proxy = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const sent = new Headers(req.headers);
    sent.delete("host");
    try {
      const res = await fetch(`${o.clientUrl}${url.pathname}${url.search}`, {
        method: req.method,
        headers: sent,
        body: req.body ? await req.arrayBuffer() : undefined,
      });
      const id = res.headers.get("x-request-id");
      if (id) log.statuses.set(id, res.status);
      const headers = new Headers(res.headers);
      headers.delete("content-encoding");
      headers.delete("content-length");
      return new Response(await res.arrayBuffer(), { status: res.status, headers });
    } catch {
      log.unreachable++;
      return new Response(JSON.stringify({ error: "CLIENT API unreachable" }), { status: 502 });
    }
  });
  const options = {
    baseUrl: `http://127.0.0.1:${proxy.addr.port}`,
    token: o.token,
    users: o.users,
    durationS: 15,
    firstUser: o.firstUser,
    seed: o.seed,
    thinkMs: 300,
  };
  let stopped = false;
  const sim = simulateUntil(options, () => stopped, log);
  return {
    stop: async () => {
      stopped = true;
      await sim;
      await proxy.shutdown();
      return log;
    },
  };
}

/**
 * Rounds of the simulation until `stopped` (the load lasts as long as the kills do). A round
 * that cannot start — the CLIENT API down or finding no products yet on a fresh stack — is
 * tried again a second later; the error is kept when no round ever ran.
 */
async function simulateUntil(
  options: SimulationOptions,
  stopped: () => boolean,
  log: UserLog,
): Promise<void> {
  let round = 0;
  while (!stopped()) {
    try {
      log.report = await runSimulation({ ...options, seed: options.seed! + round++ });
      log.error = undefined;
    } catch (err) {
      if (!log.report) log.error = err instanceof Error ? err.message : String(err);
      await sleep(1_000);
    }
  }
}
