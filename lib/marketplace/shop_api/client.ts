/**
 * A client of the SHOP API — the seed's `producer_shop_api`: {@linkcode sendToShopApi} sends
 * products through `POST /products`, each store's products with that store's key, in JSON-array
 * batches, and says per product what was accepted and refused.
 *
 * @example
 * ```ts
 * import { sendToShopApi } from "./client.ts";
 * const summary = await sendToShopApi(products, { url: "http://127.0.0.1:8180", keys });
 * console.log(`accepted ${summary.accepted}, refused ${summary.refused}`);
 * ```
 * @module
 */
import { errorText } from "../../kafka/mod.ts";
import type { StoreKeys } from "../store_keys.ts";
import type { RecordResult, ShopApiReply } from "./body.ts";

/** Options of {@linkcode sendToShopApi}. */
export interface SendToShopApiOptions {
  /** Base URL of the SHOP API, e.g. `http://127.0.0.1:8180`. */
  url: string;
  /** Store keys; each product is sent with the key of its `store_id`. */
  keys: StoreKeys;
  /** Products per request. @default 500 */
  batchSize?: number;
  /** Requests in flight at most. @default 4 */
  concurrency?: number;
  /** Called after each request (progress). */
  onBatch?: (done: number, total: number) => void;
}

/** One product's outcome as the SHOP API (or the client, for a store without a key) said. */
export interface SentProduct extends Omit<RecordResult, "status"> {
  store_id: string;
  /** HTTP status of the record (or of the request, for 401 and transport failures: 0). */
  status: number;
}

/** Outcome of {@linkcode sendToShopApi}. */
export interface SendSummary {
  accepted: number;
  refused: number;
  requests: number;
  results: SentProduct[];
}

/** One request's worth of products, all of one store. */
interface Batch {
  store: string;
  items: unknown[];
}

/** The products grouped by `store_id`, each store's cut into batches of `batchSize`. */
function batchesOf(products: readonly unknown[], batchSize: number): Batch[] {
  const byStore = new Map<string, unknown[]>();
  for (const p of products) {
    const store = String((p as { store_id?: unknown } | null)?.store_id ?? "");
    byStore.set(store, [...(byStore.get(store) ?? []), p]);
  }
  const batches: Batch[] = [];
  for (const [store, items] of byStore) {
    for (let i = 0; i < items.length; i += batchSize) {
      batches.push({ store, items: items.slice(i, i + batchSize) });
    }
  }
  return batches;
}

function idOf(p: unknown): { product_id?: string } {
  const id = (p as { product_id?: unknown } | null)?.product_id;
  return typeof id === "string" ? { product_id: id } : {};
}

/** The same outcome for every product of a batch (no key, 401, transport failure). */
function allOf(
  { store, items }: Batch,
  outcome: { status: number; field?: string; error: string },
): SentProduct[] {
  return items.map((p, index) => ({
    index,
    ...idOf(p),
    store_id: store,
    status: outcome.status,
    ...(outcome.field ? { field: outcome.field } : {}),
    error: outcome.error,
  }));
}

/** Posts one batch with its store's key: each product's outcome as the SHOP API said. */
async function postBatch(url: string, key: string, batch: Batch): Promise<SentProduct[]> {
  const { store, items } = batch;
  try {
    const res = await fetch(`${url}/products`, {
      method: "POST",
      headers: { "authorization": `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(items),
    });
    const body = await res.json() as ShopApiReply | { error: string };
    if ("results" in body) {
      return body.results.map((r) => ({ ...idOf(items[r.index]), ...r, store_id: store }));
    }
    return allOf(batch, { status: res.status, error: body.error });
  } catch (err) {
    return allOf(batch, { status: 0, error: `SHOP API at ${url} unreachable: ${errorText(err)}` });
  }
}

/**
 * The seed's `producer_shop_api`: sends products through the SHOP API, each store's products
 * with that store's key, in JSON-array batches; returns what was accepted and refused.
 */
export async function sendToShopApi(
  products: readonly unknown[],
  options: SendToShopApiOptions,
): Promise<SendSummary> {
  const { url, keys, batchSize = 500, concurrency = 4, onBatch } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(
      `Cannot send as 'batchSize' must be a positive integer: current value is ${batchSize}`,
    );
  }
  const results: SentProduct[] = [];
  const batches = batchesOf(products, batchSize);
  let next = 0, done = 0, requests = 0;
  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next++];
      const key = keys[batch.store];
      if (!key) {
        const error = `no SHOP API key for store '${batch.store}'`;
        results.push(...allOf(batch, { status: 0, field: "store_id", error }));
      } else {
        requests++;
        results.push(...await postBatch(url, key, batch));
      }
      onBatch?.(++done, batches.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, worker));
  const accepted = results.filter((r) => r.status === 202).length;
  return { accepted, refused: results.length - accepted, requests, results };
}
