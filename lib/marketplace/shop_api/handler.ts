/**
 * The SHOP API's HTTP side: {@linkcode shopApiHandler} answers `POST /products` (store key →
 * body → per-record checks → the {@linkcode ProductSink}), `/metrics` and `/healthz` (from
 * lib/monitoring); {@linkcode startShopApi} connects a {@linkcode KafkaProductSink} and serves
 * the handler. The handler never throws and never answers 500: an unexpected failure is a 503
 * saying what went wrong.
 *
 * @example
 * ```ts
 * import { startShopApi } from "./handler.ts";
 * const api = await startShopApi({ kafka, keys: await StoreKeyFile.open(), port: 8180 });
 * await api.close();
 * ```
 * @module
 */
import type { Kafka } from "kafkajs";
import type client from "prom-client";
import { errorText } from "../../kafka/mod.ts";
import { counter, histogram, monitoringRoute, registry } from "../../monitoring/mod.ts";
import { fixedStoreKeys, type StoreKeys, type StoreKeySource } from "../store_keys.ts";
import {
  checkRecord,
  parseProductsBody,
  type RawRecord,
  type RecordResult,
  type ShopApiReply,
} from "./body.ts";
import { KafkaProductSink, type ProductSink } from "./sink.ts";

/** Options of {@linkcode shopApiHandler}. */
export interface ShopApiHandlerOptions {
  /**
   * Store keys: fixed (`{ store_id: key }`), or a source such as a `StoreKeyFile`
   * (store_keys.ts) that follows the key file while the API runs (a key revoked is refused on
   * its next request once the file was looked at again, a key added is taken at once).
   */
  keys: StoreKeys | StoreKeySource;
  /** Where accepted products go. */
  sink: ProductSink;
  /** Largest request body in bytes. @default 64 MiB */
  maxBodyBytes?: number;
  /** Most records in one request. @default 50000 */
  maxRecords?: number;
}

interface ShopMetrics {
  requests: client.Counter<string>;
  accepted: client.Counter<string>;
  refused: client.Counter<string>;
  produceSeconds: client.Histogram<string>;
}

function shopMetrics(): ShopMetrics {
  return {
    requests: counter("shop_api_requests_total", "HTTP requests by status", ["status"]),
    accepted: counter(
      "shop_api_products_accepted_total",
      "Products produced to input-products",
      ["store_id"],
    ),
    refused: counter(
      "shop_api_products_refused_total",
      "Products refused, by status and field",
      ["status", "field"],
    ),
    produceSeconds: histogram(
      "shop_api_produce_seconds",
      "Time from a request's arrival to its products' acknowledgement",
      [],
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    ),
  };
}

/** What every step of a request needs: the options with their defaults, keyring and metrics. */
interface Shop {
  sink: ProductSink;
  maxBodyBytes: number;
  maxRecords: number;
  keys: StoreKeySource;
  metrics: ShopMetrics;
}

/** An authenticated request: its store and request id. */
interface Caller {
  storeId: string;
  requestId: string;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body) + "\n", {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

/** Reads a body up to `max` bytes; undefined when it is longer. */
async function readBody(req: Request, max: number): Promise<Uint8Array | undefined> {
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (declared > max) {
    await req.body?.cancel().catch(() => {});
    return undefined;
  }
  if (!req.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > max) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function storeKeyOf(req: Request): string | undefined {
  const auth = req.headers.get("authorization");
  const bearer = auth?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  return bearer ?? (req.headers.get("x-store-key")?.trim() || undefined);
}

function unauthorized(req: Request, error: string): Response {
  req.body?.cancel().catch(() => {});
  return json(401, { error, field: "Authorization" }, { "www-authenticate": "Bearer" });
}

/** The caller of a request by its store key, or the 401 answer (its body left unread). */
async function authenticate(req: Request, shop: Shop): Promise<Caller | Response> {
  const key = storeKeyOf(req);
  if (!key) {
    return unauthorized(
      req,
      "missing store key: send 'Authorization: Bearer <key>' or 'X-Store-Key: <key>'",
    );
  }
  // A key the keyring does not know may be one just added: look at the key file at once.
  const storeId = await (await shop.keys.keyring()).storeOf(key) ??
    await (await shop.keys.refresh()).storeOf(key);
  if (!storeId) return unauthorized(req, "unknown store key");
  const requestId = req.headers.get("x-request-id")?.slice(0, 100) || crypto.randomUUID();
  return { storeId, requestId };
}

/** The reply to an authenticated request; counts its refused records. */
function reply(shop: Shop, caller: Caller, status: number, results: RecordResult[]): Response {
  const accepted = results.filter((r) => r.status === 202).length;
  for (const r of results) {
    if (r.status !== 202) shop.metrics.refused.inc({ status: r.status, field: r.field ?? "" });
  }
  const body: ShopApiReply = {
    request_id: caller.requestId,
    store_id: caller.storeId,
    accepted,
    refused: results.length - accepted,
    results,
  };
  return json(status, body, { "x-request-id": caller.requestId });
}

/** The records of a request's body, or the one result refusing the body as a whole. */
async function readRecords(req: Request, shop: Shop): Promise<RawRecord[] | RecordResult> {
  const { maxBodyBytes, maxRecords } = shop;
  const bytes = await readBody(req, maxBodyBytes);
  if (!bytes) {
    return {
      index: 0,
      status: 413,
      field: "body",
      error: `body is over ${maxBodyBytes} bytes: send fewer products per request`,
    };
  }
  const parsed = parseProductsBody(bytes, req.headers.get("content-type") ?? "");
  if (!parsed.ok) {
    return { index: 0, status: parsed.status, field: parsed.field, error: parsed.error };
  }
  if (parsed.records.length > maxRecords) {
    return {
      index: 0,
      status: 413,
      field: "body",
      error: `body has ${parsed.records.length} products, at most ${maxRecords} per request`,
    };
  }
  return parsed.records;
}

/** Checks one record and, when it passes, sends it to the sink: what happened to it. */
async function acceptRecord(raw: RawRecord, shop: Shop, caller: Caller): Promise<RecordResult> {
  const base = { index: raw.index, ...(raw.line ? { line: raw.line } : {}) };
  if ("error" in raw) return { ...base, status: 400, field: raw.field, error: raw.error };
  const { storeId, requestId } = caller;
  const checked = checkRecord(raw.value, storeId);
  const id = (raw.value as { product_id?: unknown } | null)?.product_id;
  const record = { ...base, ...(typeof id === "string" ? { product_id: id } : {}) };
  if (!checked.ok) {
    return { ...record, status: checked.status, field: checked.field, error: checked.error };
  }
  try {
    const sent = await shop.sink.send(checked.product, checked.value, {
      "request-id": requestId,
      "store-id": storeId,
    });
    shop.metrics.accepted.inc({ store_id: storeId });
    return { ...record, status: 202, partition: sent.partition, offset: sent.offset };
  } catch (err) {
    return {
      ...record,
      status: 503,
      field: "(kafka)",
      error: `input-products did not take the product: ${errorText(err)}`,
    };
  }
}

/**
 * `POST /products`: the store key, then the body, then each record; the request's status is
 * the records' common status, or 207 when they differ.
 */
async function postProducts(req: Request, shop: Shop): Promise<Response> {
  const caller = await authenticate(req, shop);
  if (caller instanceof Response) return caller;
  const records = await readRecords(req, shop);
  if (!Array.isArray(records)) return reply(shop, caller, records.status, [records]);
  const started = performance.now();
  const results = await Promise.all(records.map((raw) => acceptRecord(raw, shop, caller)));
  if (results.some((r) => r.status === 202)) {
    shop.metrics.produceSeconds.observe((performance.now() - started) / 1_000);
  }
  const statuses = new Set(results.map((r) => r.status));
  return reply(shop, caller, statuses.size === 1 ? results[0].status : 207, results);
}

async function route(req: Request, shop: Shop): Promise<Response> {
  const path = new URL(req.url).pathname;
  if (path === "/products") {
    if (req.method !== "POST") {
      return json(405, { error: `use POST /products, not ${req.method}` }, { allow: "POST" });
    }
    return await postProducts(req, shop);
  }
  const monitored = monitoringRoute(path, () => {
    const ok = shop.sink.healthy();
    return { ok, body: ok ? "ok\n" : "unhealthy: not connected to Kafka\n" };
  });
  if (monitored) return await monitored;
  return json(404, { error: `no route ${path}: POST /products, GET /metrics, GET /healthz` });
}

function isKeySource(keys: StoreKeys | StoreKeySource): keys is StoreKeySource {
  return typeof (keys as StoreKeySource).keyring === "function";
}

/**
 * The SHOP API as a request handler (routes `/products`, `/metrics`, `/healthz`). Never throws
 * and never answers 500: an unexpected failure is a 503 saying what went wrong.
 */
export function shopApiHandler(
  options: ShopApiHandlerOptions,
): (req: Request) => Promise<Response> {
  const { keys, sink, maxBodyBytes = 64 * 1_048_576, maxRecords = 50_000 } = options;
  const shop: Shop = {
    sink,
    maxBodyBytes,
    maxRecords,
    keys: isKeySource(keys) ? keys : fixedStoreKeys(keys),
    metrics: shopMetrics(),
  };
  return async (req: Request) => {
    let res: Response;
    try {
      res = await route(req, shop);
    } catch (err) {
      res = json(503, { error: `the SHOP API could not handle the request: ${errorText(err)}` });
    }
    shop.metrics.requests.inc({ status: res.status });
    return res;
  };
}

/** Options of {@linkcode startShopApi}. */
export interface ShopApiOptions extends Omit<ShopApiHandlerOptions, "sink"> {
  /** A client of the secure cluster as `shop-api`. */
  kafka: Kafka;
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Address to listen on (`0.0.0.0` in a container). @default "127.0.0.1" */
  hostname?: string;
  /** Topic to produce to. @default "input-products" */
  topic?: string;
}

/** A running SHOP API. */
export interface ShopApi {
  /** Base URL, e.g. `http://127.0.0.1:8180`. */
  url: string;
  server: Deno.HttpServer<Deno.NetAddr>;
  sink: KafkaProductSink;
  /** Stops serving, then flushes and disconnects the producer. */
  close(): Promise<void>;
}

/** Connects the producer and serves the SHOP API (see the module doc). */
export async function startShopApi(options: ShopApiOptions): Promise<ShopApi> {
  const { kafka, port, hostname = "127.0.0.1", topic, ...handlerOptions } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(
      `Cannot serve the SHOP API as 'port' must be 0..65535: current value is ${port}`,
    );
  }
  registry.setDefaultLabels({ service: "shop-api" });
  const sink = new KafkaProductSink(kafka, { topic });
  await sink.connect();
  const server = Deno.serve(
    { hostname, port, onListen: () => {} },
    shopApiHandler({ ...handlerOptions, sink }),
  );
  return {
    url: `http://${hostname === "0.0.0.0" ? "127.0.0.1" : hostname}:${server.addr.port}`,
    server,
    sink,
    close: async () => {
      await server.shutdown();
      await sink.close();
    },
  };
}
