/**
 * `bench:platform`'s offered load, open loop (lib/bench/open_loop.ts): requests go out on a
 * fixed schedule and are never held back by the answers before them.
 *
 * - {@linkcode shopLoad}: products of the run's own through the SHOP API, `stores` stores
 *   sending in turn (each with its own key, as the soak's `productLoad` does), `batch` products
 *   a request; notes each product's acknowledgement (202) time.
 * - {@linkcode clientLoad}: the simulated users' mix through the CLIENT API — search, a
 *   product, an event, recommendations — as users `user-<n>` with dev tokens; each event's
 *   `session_id` names it (`bench-<run>-…`) so readers downstream can tell it, and its
 *   acknowledgement time is noted.
 *
 * Both return per-route HTTP latencies (send → answer) and what was acknowledged when.
 *
 * @example
 * ```ts
 * import { shopLoad } from "./load.ts";
 * const shop = await shopLoad({ url, keys, stores: 5, rate: 500, seconds: 10, batch: 1, tag: "r1-0" });
 * console.log(shop.acks.size, shop.routes.get("shop: POST /products")?.length);
 * ```
 * @module
 */
import { openLoop, type OpenLoopResult } from "../../bench/mod.ts";
import { generateProducts, STORES } from "../catalog.ts";
import type { StoreKeys } from "../store_keys.ts";
import { COMMON_QUERIES, mulberry32 } from "../users_sim.ts";

/** What a load saw. */
export interface LoadLog {
  /** HTTP latencies (ms) by route. */
  routes: Map<string, number[]>;
  /** Id (product id, event session id) → epoch ms of its acknowledgement. */
  acks: Map<string, number>;
  /** Answers that were not 2xx (or no answer: status 0), by route and status. */
  failed: Record<string, number>;
  loop: OpenLoopResult;
}

/** Runs `send` on the schedule and waits for every call. */
async function openLoopLog(
  rate: number,
  seconds: number,
  call: (i: number, log: LoadLog) => Promise<void>,
  acks = new Map<string, number>(),
): Promise<LoadLog> {
  const log = { routes: new Map(), acks, failed: {} } as Omit<LoadLog, "loop">;
  const inflight = new Set<Promise<void>>();
  const loop = await openLoop({
    rate,
    seconds,
    send: (i) => {
      const job = call(i, log as LoadLog).finally(() => inflight.delete(job));
      inflight.add(job);
    },
  });
  await Promise.all(inflight);
  return { ...log, loop };
}

/** One request, timed under `route`; the answer's status (0: none) and body. */
async function timed(
  log: Omit<LoadLog, "loop">,
  route: string,
  url: string,
  init: RequestInit,
): Promise<{ status: number; body: unknown; at: number }> {
  const t = Date.now();
  let status = 0, body: unknown;
  try {
    const res = await fetch(url, init);
    status = res.status;
    body = await res.json().catch(() => undefined);
  } catch { /* no answer: status 0 */ }
  const at = Date.now();
  const all = log.routes.get(route) ?? [];
  all.push(at - t);
  log.routes.set(route, all);
  if (status < 200 || status >= 300) {
    log.failed[`${route} ${status}`] = (log.failed[`${route} ${status}`] ?? 0) + 1;
  }
  return { status, body, at };
}

/** Options of {@linkcode shopLoad}. */
export interface ShopLoadOptions {
  url: string;
  keys: StoreKeys;
  /** Stores sending (the first `stores` of STORES). */
  stores: number;
  /** Products a second. */
  rate: number;
  seconds: number;
  /** Products a request. */
  batch: number;
  /** This step's tag: product ids are `bench-<tag>-…`. */
  tag: string;
  /** Where acknowledgements go as they come (for readers polling while the load runs). */
  acks?: Map<string, number>;
}

/** The SHOP API route's name in the report. */
export const SHOP_ROUTE = "SHOP API POST /products";

/** Products of the run's own through the SHOP API, open loop. */
export function shopLoad(o: ShopLoadOptions): Promise<LoadLog> {
  const stores = STORES.slice(0, o.stores);
  const calls = Math.ceil((o.rate * o.seconds) / o.batch);
  const products = generateProducts(calls * o.batch, { idPrefix: `bench-${o.tag}-`, stores });
  return openLoopLog(o.rate / o.batch, o.seconds, async (i, log) => {
    const store = stores[i % stores.length];
    const items = products.slice(i * o.batch, (i + 1) * o.batch).map((p) => ({
      ...p,
      store_id: store,
      updated_at: new Date().toISOString(),
    }));
    const r = await timed(log, SHOP_ROUTE, `${o.url}/products`, {
      method: "POST",
      headers: { authorization: `Bearer ${o.keys[store]}`, "content-type": "application/json" },
      body: JSON.stringify(items),
    });
    const results = (r.body as { results?: { index: number; status: number }[] })?.results ?? [];
    for (const x of results) if (x.status === 202) log.acks.set(items[x.index].product_id, r.at);
  }, o.acks);
}

/** Options of {@linkcode clientLoad}. */
export interface ClientLoadOptions {
  url: string;
  /** A bearer token of a user. */
  token: (userId: string) => Promise<string>;
  /** Requests a second. */
  rate: number;
  seconds: number;
  /** Products to open and send events about. */
  productIds: string[];
  /** This step's tag: event session ids are `bench-<tag>-<n>`. */
  tag: string;
  /** Users `user-<firstUser>` … `user-<firstUser + users − 1>`. */
  firstUser: number;
  users: number;
}

/** The CLIENT API route of events. */
export const EVENT_ROUTE = "CLIENT API event";

/** The mix, as shares of the requests (the simulated users' funnel, roughly). */
export const CLIENT_MIX = [
  { route: "CLIENT API search", share: 0.3 },
  { route: "CLIENT API product", share: 0.25 },
  { route: "CLIENT API event", share: 0.35 },
  { route: "CLIENT API recommendations", share: 0.1 },
] as const;

function pickRoute(x: number): (typeof CLIENT_MIX)[number]["route"] {
  let acc = 0;
  for (const m of CLIENT_MIX) if (x < (acc += m.share)) return m.route;
  return CLIENT_MIX[CLIENT_MIX.length - 1].route;
}

/** The CLIENT API's mix of routes, open loop. */
export function clientLoad(o: ClientLoadOptions): Promise<LoadLog> {
  const rnd = mulberry32(o.firstUser);
  return openLoopLog(o.rate, o.seconds, async (i, log) => {
    const route = pickRoute(rnd());
    const user = `user-${o.firstUser + (i % o.users)}`;
    const product = o.productIds[Math.floor(rnd() * o.productIds.length)];
    const headers = {
      authorization: `Bearer ${await o.token(user)}`,
      "content-type": "application/json",
    };
    const get = (path: string) => timed(log, route, `${o.url}${path}`, { headers });
    if (route === "CLIENT API search") {
      await get(`/products/search?q=${encodeURIComponent(COMMON_QUERIES[i % 8])}`);
    } else if (route === "CLIENT API product") {
      await get(`/products/${encodeURIComponent(product)}`);
    } else if (route === "CLIENT API recommendations") await get(`/users/${user}/recommendations`);
    else {
      const session = `bench-${o.tag}-${i}`;
      const r = await timed(log, route, `${o.url}/events`, {
        method: "POST",
        headers,
        body: JSON.stringify({ type: "view", product_id: product, session_id: session }),
      });
      if (r.status === 202) log.acks.set(session, r.at);
    }
  });
}
