/**
 * The SHOP API: the HTTP front door where stores send their products (the seed's
 * `producer_shop_api` target). `POST /products` takes one product, a JSON array of products,
 * or NDJSON (one product per line; `Content-Type: application/x-ndjson`, or any body of
 * several JSON lines). A store authenticates with its key (`Authorization: Bearer <key>` or
 * `X-Store-Key: <key>`, see `store_keys.ts`) and may only send products of its own `store_id`.
 *
 * Each valid product is produced to `input-products` on the secure cluster as principal
 * `shop-api`, key `product_id`, acks=all, idempotent ({@linkcode PartitionedProducer}), with
 * headers `request-id` and `store-id`. The reply says per record what happened: `202` with
 * partition and offset, `400` with the field and the reason (schema, JSON, UTF-8), `403` for
 * another store's `store_id`, `413` for a product over the topic's record limit (naming its
 * largest field), `503` when Kafka did not take it. An invalid record is never produced. The
 * request's status is the records' common status, or `207` when they differ; a wrong or missing
 * key is `401` for the whole request. Nothing answers `500`.
 *
 * `/metrics` (accepted/refused counters, produce latency) and `/healthz` are served on the same
 * port.
 *
 * @example
 * ```ts
 * import { startShopApi } from "./shop_api.ts";
 * const api = await startShopApi({ kafka, keys: await loadStoreKeys(), port: 8180 });
 * // curl -H "Authorization: Bearer $KEY" --data-binary @products.json localhost:8180/products
 * await api.close();
 * ```
 * @module
 */
import { type Kafka, Partitioners, type PartitionMetadata } from "kafkajs";
import { Buffer } from "node:buffer";
import client from "prom-client";
import { type Product, productCodec } from "../schemas/mod.ts";
import { errorText, PartitionedProducer, type SentRecord } from "../kafka/mod.ts";
import { counter, histogram, registry } from "../monitoring/mod.ts";
import { MAX_PRODUCT_BYTES, TOPICS } from "./topology.ts";
import { StoreKeyring, type StoreKeys } from "./store_keys.ts";

/** HTTP status of one record. */
export type RecordStatus = 202 | 400 | 403 | 413 | 503;

/** What happened to one record of a request. */
export interface RecordResult {
  /** Position of the record in the request (0-based). */
  index: number;
  status: RecordStatus;
  /** Line of the record in an NDJSON body (1-based). */
  line?: number;
  product_id?: string;
  /** Where the product was written (202). */
  partition?: number;
  offset?: string;
  /** The field at fault (`price.amount`, `store_id`, `description`, `body`…). */
  field?: string;
  /** Why the record was refused. */
  error?: string;
}

/** The body of every `POST /products` reply (401 aside). */
export interface ShopApiReply {
  request_id: string;
  store_id: string;
  accepted: number;
  refused: number;
  results: RecordResult[];
}

/** Bytes of a record's value reserved for the batch header, key and headers under the limit. */
const RECORD_OVERHEAD = 1_024;

/** Largest product value (bytes) the SHOP API produces: the topic's limit minus overhead. */
export const MAX_PRODUCT_VALUE_BYTES = MAX_PRODUCT_BYTES - RECORD_OVERHEAD;

/** One record of a parsed body: a JSON value, or why its line could not be read. */
export type RawRecord =
  | { index: number; line?: number; value: unknown }
  | { index: number; line?: number; error: string; field: string };

/** A parsed body, or why the body as a whole is refused. */
export type ParsedBody =
  | { ok: true; format: "single" | "array" | "ndjson"; records: RawRecord[] }
  | { ok: false; status: 400 | 413; field: string; error: string };

const fatal = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/** Offset of the first byte that breaks UTF-8, or -1 when `bytes` is valid UTF-8. */
export function invalidUtf8Offset(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    const n = b < 0x80
      ? 0
      : b >= 0xc2 && b <= 0xdf
      ? 1
      : b >= 0xe0 && b <= 0xef
      ? 2
      : b >= 0xf0 && b <= 0xf4
      ? 3
      : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
    }
    if (n === 2) {
      const c = bytes[i + 1];
      if ((b === 0xe0 && c < 0xa0) || (b === 0xed && c > 0x9f)) return i; // overlong, surrogate
    } else if (n === 3) {
      const c = bytes[i + 1];
      if ((b === 0xf0 && c < 0x90) || (b === 0xf4 && c > 0x8f)) return i; // overlong, > U+10FFFF
    }
    i += n + 1;
  }
  return -1;
}

const NDJSON_TYPES = /application\/(x-)?(ndjson|jsonl|jsonlines|x-jsonlines)/i;

function parseNdjson(bytes: Uint8Array): ParsedBody {
  const records: RawRecord[] = [];
  let start = 0;
  let line = 0;
  while (start <= bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    line++;
    let chunk = bytes.subarray(start, end);
    if (chunk.at(-1) === 0x0d) chunk = chunk.subarray(0, -1);
    start = end + 1;
    const bad = invalidUtf8Offset(chunk);
    const index = records.length;
    if (bad >= 0) {
      records.push({
        index,
        line,
        field: "(record)",
        error: `line ${line} is not valid UTF-8 (byte ${bad} of the line)`,
      });
      continue;
    }
    const text = fatal.decode(chunk);
    if (text.trim() === "") continue;
    try {
      records.push({ index, line, value: JSON.parse(text) });
    } catch (err) {
      records.push({
        index,
        line,
        field: "(record)",
        error: `line ${line} is not JSON: ${(err as Error).message}`,
      });
    }
  }
  if (records.length === 0) {
    return { ok: false, status: 400, field: "body", error: "body has no products (empty NDJSON)" };
  }
  return { ok: true, format: "ndjson", records };
}

/**
 * Parses a `POST /products` body: one JSON product, a JSON array, or NDJSON (by content type,
 * or when the body is not one JSON value but several lines). Pure: no I/O.
 */
export function parseProductsBody(bytes: Uint8Array, contentType = ""): ParsedBody {
  if (bytes.every((b) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09)) {
    return {
      ok: false,
      status: 400,
      field: "body",
      error: "body is empty: send one product, a JSON array of products, or NDJSON",
    };
  }
  if (NDJSON_TYPES.test(contentType)) return parseNdjson(bytes);
  const bad = invalidUtf8Offset(bytes);
  if (bad >= 0) {
    // NDJSON without its content type: the other lines may still be good.
    if (bytes.indexOf(0x0a) >= 0 && bytes.indexOf(0x0a) < bytes.length - 1) {
      return parseNdjson(bytes);
    }
    return {
      ok: false,
      status: 400,
      field: "body",
      error: `body is not valid UTF-8 (byte ${bad})`,
    };
  }
  const text = fatal.decode(bytes);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    if (text.trim().includes("\n")) return parseNdjson(bytes);
    return {
      ok: false,
      status: 400,
      field: "body",
      error: `body is not JSON: ${(err as Error).message}`,
    };
  }
  if (Array.isArray(value)) {
    if (value.length === 0) {
      return {
        ok: false,
        status: 400,
        field: "body",
        error: "body is an empty array: no products",
      };
    }
    return { ok: true, format: "array", records: value.map((v, index) => ({ index, value: v })) };
  }
  return { ok: true, format: "single", records: [{ index: 0, value }] };
}

/** A product ready to produce, or why it is refused. */
export type CheckedRecord =
  | { ok: true; product: Product; value: Uint8Array }
  | { ok: false; status: 400 | 403 | 413; field: string; error: string };

function kindOf(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "an array" : `a ${typeof v}`;
}

/** `/price/amount must be number` → `price.amount`; `must have required property 'x'` → `x`. */
export function fieldOfError(error: string): string {
  const first = error.split("; ")[0];
  const required = first.match(/^(\S*) must have required property '([^']+)'/);
  if (required) {
    const base = required[1].replace(/^\//, "").replaceAll("/", ".");
    return base ? `${base}.${required[2]}` : required[2];
  }
  const extra = first.match(/^(\S*) must NOT have additional properties '([^']+)'/);
  if (extra) {
    const base = extra[1].replace(/^\//, "").replaceAll("/", ".");
    return base ? `${base}.${extra[2]}` : extra[2];
  }
  const path = first.split(" ")[0].replace(/^\//, "").replaceAll("/", ".");
  return path || "(record)";
}

/**
 * Checks one record for the store `storeId`: a JSON object, its own `store_id` (403), within
 * {@linkcode MAX_PRODUCT_VALUE_BYTES} (413, naming the largest field), well-formed Unicode, and
 * the product schema (400 naming the field). Pure: no I/O.
 */
export function checkRecord(
  value: unknown,
  storeId: string,
  maxBytes: number = MAX_PRODUCT_VALUE_BYTES,
): CheckedRecord {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return {
      ok: false,
      status: 400,
      field: "(record)",
      error: `a product must be a JSON object, not ${kindOf(value)}`,
    };
  }
  const v = value as Record<string, unknown>;
  if (typeof v.store_id === "string" && v.store_id !== storeId) {
    return {
      ok: false,
      status: 403,
      field: "store_id",
      error: `store_id '${v.store_id}' is not yours: this key belongs to store '${storeId}'`,
    };
  }
  const text = JSON.stringify(v);
  const bytes = encoder.encode(text);
  if (bytes.length > maxBytes) {
    const [field, size] = Object.entries(v)
      .map(([k, x]) => [k, encoder.encode(JSON.stringify(x) ?? "").length] as const)
      .sort((a, b) => b[1] - a[1])[0];
    return {
      ok: false,
      status: 413,
      field,
      error:
        `product is ${bytes.length} bytes, over the ${maxBytes} bytes a record of input-products may hold; its field '${field}' alone is ${size} bytes`,
    };
  }
  if (!text.isWellFormed()) {
    const field = Object.entries(v).find(([, x]) => !(JSON.stringify(x) ?? "").isWellFormed())
      ?.[0] ?? "(record)";
    return {
      ok: false,
      status: 400,
      field,
      error: `field '${field}' holds an unpaired UTF-16 surrogate: not valid Unicode text`,
    };
  }
  const r = productCodec.validate(v);
  if (!r.ok) {
    return { ok: false, status: 400, field: fieldOfError(r.error), error: r.error };
  }
  return { ok: true, product: r.value, value: bytes };
}

/** Where accepted products go (the Kafka sink; tests of the handler may pass their own). */
export interface ProductSink {
  /** Produces one product; resolves once it is acknowledged by all in-sync replicas. */
  send(product: Product, value: Uint8Array, headers: Record<string, string>): Promise<SentRecord>;
  /** Whether the sink can take products now (`/healthz`). */
  healthy(): boolean;
}

/** Options of {@linkcode KafkaProductSink}. */
export interface KafkaProductSinkOptions {
  /** Topic to produce to. @default "input-products" */
  topic?: string;
  /** Bytes of records queued or in flight per partition at most (one batch stays under the topic's limit). @default MAX_PRODUCT_BYTES - 1024 */
  maxBatchBytes?: number;
  /** Longest wait for more products of a partition before its batch goes out, ms. @default 5 */
  lingerMs?: number;
}

/**
 * Products to Kafka through a {@linkcode PartitionedProducer} (idempotent, acks=all, one batch
 * in flight per partition). kafkajs puts everything queued for a partition into one record
 * batch, and the broker refuses a batch over the topic's `max.message.bytes` as a whole: so the
 * sink picks each product's partition itself (the default partitioner, by key) and lets no more
 * than `maxBatchBytes` of records wait or fly per partition at a time.
 */
export class KafkaProductSink implements ProductSink {
  readonly producer: PartitionedProducer;
  readonly topic: string;
  readonly #kafka: Kafka;
  readonly #maxBatchBytes: number;
  readonly #partitioner = Partitioners.DefaultPartitioner();
  #partitions?: PartitionMetadata[];
  readonly #budget = new Map<number, { bytes: number; waiting: (() => void)[] }>();
  #connected = false;

  constructor(kafka: Kafka, options: KafkaProductSinkOptions = {}) {
    const {
      topic = TOPICS.inputProducts,
      maxBatchBytes = MAX_PRODUCT_BYTES - RECORD_OVERHEAD,
      lingerMs = 5,
    } = options;
    if (!Number.isInteger(maxBatchBytes) || maxBatchBytes < 1_024) {
      throw new RangeError(
        `Cannot produce as 'maxBatchBytes' must be an integer >= 1024: current value is ${maxBatchBytes}`,
      );
    }
    this.#kafka = kafka;
    this.topic = topic;
    this.#maxBatchBytes = maxBatchBytes;
    this.producer = new PartitionedProducer(kafka, { lingerMs });
  }

  /** Connects the producer and reads the topic's partitions. */
  async connect(): Promise<void> {
    await this.producer.connect();
    const admin = this.#kafka.admin();
    await admin.connect();
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [this.topic] });
      this.#partitions = meta.topics[0].partitions;
    } finally {
      await admin.disconnect().catch(() => {});
    }
    this.#connected = true;
  }

  healthy(): boolean {
    return this.#connected;
  }

  async send(
    product: Product,
    value: Uint8Array,
    headers: Record<string, string>,
  ): Promise<SentRecord> {
    if (!this.#partitions) throw new Error("the product sink is not connected");
    const key = product.product_id;
    const partition = this.#partitioner({
      topic: this.topic,
      partitionMetadata: this.#partitions,
      message: { key, value: null },
    });
    // Record size in a batch: value, key, headers and a varint-encoded record header.
    const size = value.length + encoder.encode(key).length + 32 +
      Object.entries(headers).reduce((n, [k, v]) => n + k.length + v.length + 8, 0);
    let b = this.#budget.get(partition);
    if (!b) this.#budget.set(partition, b = { bytes: 0, waiting: [] });
    const budget = b;
    while (budget.bytes > 0 && budget.bytes + size > this.#maxBatchBytes) {
      await new Promise<void>((r) => budget.waiting.push(r));
    }
    budget.bytes += size;
    try {
      return await this.producer.send(this.topic, {
        key,
        // kafkajs sizes a record by its bytes but writes a non-Buffer value as a string.
        value: Buffer.from(value.buffer, value.byteOffset, value.byteLength),
        partition,
        headers,
      });
    } finally {
      budget.bytes -= size;
      for (const wake of budget.waiting.splice(0)) wake();
    }
  }

  /** Flushes and disconnects. */
  async close(): Promise<void> {
    this.#connected = false;
    await this.producer.disconnect();
  }
}

/** Options of {@linkcode shopApiHandler}. */
export interface ShopApiHandlerOptions {
  /** Store keys (`{ store_id: key }`). */
  keys: StoreKeys;
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

/**
 * The SHOP API as a request handler (routes `/products`, `/metrics`, `/healthz`). Never throws
 * and never answers 500: an unexpected failure is a 503 saying what went wrong.
 */
export function shopApiHandler(
  options: ShopApiHandlerOptions,
): (req: Request) => Promise<Response> {
  const { keys, sink, maxBodyBytes = 64 * 1_048_576, maxRecords = 50_000 } = options;
  const keyring = new StoreKeyring(keys);
  const m = shopMetrics();

  async function products(req: Request): Promise<Response> {
    const key = storeKeyOf(req);
    const unauthorized = (error: string) => {
      req.body?.cancel().catch(() => {});
      return json(401, { error, field: "Authorization" }, { "www-authenticate": "Bearer" });
    };
    if (!key) {
      return unauthorized(
        "missing store key: send 'Authorization: Bearer <key>' or 'X-Store-Key: <key>'",
      );
    }
    const storeId = await keyring.storeOf(key);
    if (!storeId) return unauthorized("unknown store key");
    const requestId = req.headers.get("x-request-id")?.slice(0, 100) || crypto.randomUUID();
    const reply = (status: number, results: RecordResult[]) => {
      const accepted = results.filter((r) => r.status === 202).length;
      for (const r of results) {
        if (r.status !== 202) m.refused.inc({ status: r.status, field: r.field ?? "" });
      }
      const body: ShopApiReply = {
        request_id: requestId,
        store_id: storeId,
        accepted,
        refused: results.length - accepted,
        results,
      };
      return json(status, body, { "x-request-id": requestId });
    };
    const bytes = await readBody(req, maxBodyBytes);
    if (!bytes) {
      return reply(413, [{
        index: 0,
        status: 413,
        field: "body",
        error: `body is over ${maxBodyBytes} bytes: send fewer products per request`,
      }]);
    }
    const parsed = parseProductsBody(bytes, req.headers.get("content-type") ?? "");
    if (!parsed.ok) {
      return reply(parsed.status, [{
        index: 0,
        status: parsed.status,
        field: parsed.field,
        error: parsed.error,
      }]);
    }
    if (parsed.records.length > maxRecords) {
      return reply(413, [{
        index: 0,
        status: 413,
        field: "body",
        error: `body has ${parsed.records.length} products, at most ${maxRecords} per request`,
      }]);
    }
    const started = performance.now();
    const results = await Promise.all(parsed.records.map(async (raw): Promise<RecordResult> => {
      const base = { index: raw.index, ...(raw.line ? { line: raw.line } : {}) };
      if ("error" in raw) return { ...base, status: 400, field: raw.field, error: raw.error };
      const checked = checkRecord(raw.value, storeId);
      const id = (raw.value as { product_id?: unknown } | null)?.product_id;
      const productId = typeof id === "string" ? { product_id: id } : {};
      if (!checked.ok) {
        return {
          ...base,
          ...productId,
          status: checked.status,
          field: checked.field,
          error: checked.error,
        };
      }
      try {
        const sent = await sink.send(checked.product, checked.value, {
          "request-id": requestId,
          "store-id": storeId,
        });
        m.accepted.inc({ store_id: storeId });
        return {
          ...base,
          ...productId,
          status: 202,
          partition: sent.partition,
          offset: sent.offset,
        };
      } catch (err) {
        return {
          ...base,
          ...productId,
          status: 503,
          field: "(kafka)",
          error: `input-products did not take the product: ${errorText(err)}`,
        };
      }
    }));
    if (results.some((r) => r.status === 202)) {
      m.produceSeconds.observe((performance.now() - started) / 1_000);
    }
    const statuses = new Set(results.map((r) => r.status));
    return reply(statuses.size === 1 ? results[0].status : 207, results);
  }

  async function route(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname;
    if (path === "/products") {
      if (req.method !== "POST") {
        return json(405, { error: `use POST /products, not ${req.method}` }, { allow: "POST" });
      }
      return await products(req);
    }
    if (path === "/healthz") {
      const ok = sink.healthy();
      return new Response(ok ? "ok\n" : "unhealthy: not connected to Kafka\n", {
        status: ok ? 200 : 503,
      });
    }
    if (path === "/metrics") {
      return new Response(await registry.metrics(), {
        headers: { "content-type": registry.contentType },
      });
    }
    return json(404, { error: `no route ${path}: POST /products, GET /metrics, GET /healthz` });
  }

  return async (req: Request) => {
    let res: Response;
    try {
      res = await route(req);
    } catch (err) {
      res = json(503, { error: `the SHOP API could not handle the request: ${errorText(err)}` });
    }
    m.requests.inc({ status: res.status });
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
  const batches: { store: string; items: unknown[] }[] = [];
  const byStore = new Map<string, unknown[]>();
  for (const p of products) {
    const store = String((p as { store_id?: unknown } | null)?.store_id ?? "");
    byStore.set(store, [...(byStore.get(store) ?? []), p]);
  }
  for (const [store, items] of byStore) {
    for (let i = 0; i < items.length; i += batchSize) {
      batches.push({ store, items: items.slice(i, i + batchSize) });
    }
  }
  let next = 0, done = 0, requests = 0;
  const idOf = (p: unknown) => {
    const id = (p as { product_id?: unknown } | null)?.product_id;
    return typeof id === "string" ? { product_id: id } : {};
  };
  const worker = async () => {
    while (next < batches.length) {
      const { store, items } = batches[next++];
      const key = keys[store];
      if (!key) {
        items.forEach((p, index) =>
          results.push({
            index,
            ...idOf(p),
            store_id: store,
            status: 0,
            field: "store_id",
            error: `no SHOP API key for store '${store}'`,
          })
        );
      } else {
        requests++;
        try {
          const res = await fetch(`${url}/products`, {
            method: "POST",
            headers: { "authorization": `Bearer ${key}`, "content-type": "application/json" },
            body: JSON.stringify(items),
          });
          const body = await res.json() as ShopApiReply | { error: string };
          if ("results" in body) {
            for (const r of body.results) {
              results.push({ ...idOf(items[r.index]), ...r, store_id: store });
            }
          } else {
            items.forEach((p, index) =>
              results.push({
                index,
                ...idOf(p),
                store_id: store,
                status: res.status,
                error: body.error,
              })
            );
          }
        } catch (err) {
          items.forEach((p, index) =>
            results.push({
              index,
              ...idOf(p),
              store_id: store,
              status: 0,
              error: `SHOP API at ${url} unreachable: ${errorText(err)}`,
            })
          );
        }
      }
      onBatch?.(++done, batches.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, worker));
  const accepted = results.filter((r) => r.status === 202).length;
  return { accepted, refused: results.length - accepted, requests, results };
}
