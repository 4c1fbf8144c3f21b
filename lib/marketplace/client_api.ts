/**
 * The CLIENT API (the seed's `producer_client_api` side of the platform): the HTTP service the
 * marketplace's users talk to. It searches the products that made it through the filter
 * (PostgreSQL `analytics.products`, written by the JDBC sink), serves a product by id, serves a
 * user's recommendations (the `recommendations` topic, kept as a table in memory) and records
 * the users' actions.
 *
 * Routes (all JSON):
 * - `GET /products/search?q=…[&limit=N]` — every word of `q` must occur in the product's
 *   name, description, brand or category; case-insensitive and Unicode-aware (PostgreSQL
 *   `lower()` on a UTF-8 database: Cyrillic, Greek, accents; `ё` matches `е`; emoji and CJK
 *   match as they are); `%`, `_` and `\` in `q` are literal. Ranked: a word in the name counts
 *   4, in the brand or category 2, in the description 1. No match: `200` with `products: []`
 *   and a message saying so. Answered from a `pg_trgm` GIN index over the folded text
 *   ({@linkcode searchIndexSql}), which the API creates once the table exists.
 * - `GET /products/:id` — the product's row as the sink stored it; `404` when there is none.
 * - `GET /users/:id/recommendations` — the latest recommendations the analytics published for
 *   the user; none yet: `200` with `recommendations: []` and a message saying so.
 * - `POST /events` — one action: `{"type": "view"|"add_to_cart"|"purchase"|"review",
 *   "product_id", "session_id"?, "quantity"? (add_to_cart, purchase), "rating"? (review, 1–5),
 *   "text"? (review), "price"?, "event_id"?}` → `202` once it is in `user-events`.
 * - `GET /metrics` (Prometheus) and `GET /healthz` — not recorded as user requests.
 *
 * Who the user is: the `X-User-Id` header on every route, except
 * `GET /users/:id/recommendations`, where the path names the user. The marketplace's user
 * directory is not part of this platform, so a user is **known** when the id has the
 * directory's format, {@linkcode USER_ID_PATTERN} (`user-<digits>`, e.g. `user-42`;
 * configurable). A session is `session_id` in the event or the `X-Session-Id` header.
 *
 * What is recorded, on the secure cluster as principal `client-api` (acks=all, idempotent):
 * every request → `user-requests` (key `request_id`), every answer → `user-responses` (key
 * `request_id`: status, latency, product ids returned, the reason of a refusal), every
 * accepted action → `user-events` (key `user_id`, so a user's actions stay in order). A
 * request is answered only after its records are acknowledged; when Kafka cannot take them
 * the answer is `503` (the records of that request may then be partly written). The request id
 * is the client's `X-Request-Id` when it is a valid id, else a new UUID; it is echoed in the
 * `X-Request-Id` response header and in every JSON body.
 *
 * Bad input — unknown or missing user, missing or empty `q`, a bad `limit`, a malformed or
 * oversized event, invalid UTF-8, an unknown product in an event — is `400` (`413` for a body
 * over the limit) with `{"error", "field"}` naming the field, never `500`; the request is
 * still recorded in `user-requests` and its refusal in `user-responses`.
 *
 * @example
 * ```ts
 * import { ClientApi } from "./client_api.ts";
 * const api = new ClientApi({ kafka, postgresUrl: "postgres://…/analytics", port: 8280 });
 * await api.start();
 * // curl -H 'X-User-Id: user-1' 'http://127.0.0.1:8280/products/search?q=смартфон'
 * await api.stop();
 * ```
 * @module
 */
import type { Kafka } from "kafkajs";
import pg from "pg";
import client from "prom-client";
import { PartitionedProducer } from "../kafka/mod.ts";
import { counter, histogram, registry } from "../monitoring/mod.ts";
import {
  USER_EVENT_TYPES,
  type UserEvent,
  userEventCodec,
  type UserEventType,
  type UserRequest,
  userRequestCodec,
  type UserResponse,
  userResponseCodec,
} from "../schemas/mod.ts";
import { RecommendationsTable } from "./recommendations.ts";
import { TOPICS } from "./topology.ts";

/** Format of a known user id (see the module doc): `user-` and 1–12 digits. */
export const USER_ID_PATTERN: RegExp = /^user-[0-9]{1,12}$/;

/** Ids the API accepts for sessions, products, events and requests. */
const ID_PATTERN = /^[\p{L}\p{N}._:@-]{1,64}$/u;

/** Longest search text, in characters. */
export const MAX_QUERY_CHARS = 200;
/** Most words in a search. */
export const MAX_QUERY_WORDS = 8;

/** A refusal: the HTTP status, the field at fault and why. */
export class ClientRequestError extends Error {
  override name = "ClientRequestError";
  constructor(readonly field: string, message: string, readonly status = 400) {
    super(message);
  }
}

/** The service cannot answer now (PostgreSQL or Kafka down, products table not there yet). */
export class ClientApiUnavailable extends Error {
  override name = "ClientApiUnavailable";
}

/** Options of a {@linkcode ClientApi}. */
export interface ClientApiOptions {
  /** Kafka client of principal `client-api` on the secure cluster. */
  kafka: Kafka;
  /** PostgreSQL URL of the `analytics` database (table `products`). */
  postgresUrl: string;
  /** TCP port; 0 picks a free one. @default 0 */
  port?: number;
  /** Address to listen on. @default "127.0.0.1" */
  hostname?: string;
  /** What makes a user id known. @default USER_ID_PATTERN */
  userPattern?: RegExp;
  /** Results of a search when `limit` is not given. @default 20 */
  searchLimit?: number;
  /** Largest request body, in bytes. @default 65536 */
  maxBodyBytes?: number;
  /** Table of the products searched. @default "products" */
  productsTable?: string;
}

/** What the route handlers learn about a request, for its records. */
interface Context {
  userId?: string;
  query?: string;
  route: string;
  events: UserEvent[];
}

/** A route's answer before it is recorded. */
interface Outcome {
  status: number;
  body: Record<string, unknown>;
  productIds: string[];
  error?: string;
}

/** Counts of what the API did (this process). */
export interface ClientApiStats {
  requests: number;
  refused: number;
  events: number;
  searchesEmpty: number;
}

/** Checks a user id against the known-user format; returns it or throws {@linkcode ClientRequestError}. */
export function checkUserId(
  raw: string | null | undefined,
  field: string,
  pattern: RegExp = USER_ID_PATTERN,
): string {
  if (raw === null || raw === undefined || raw.trim() === "") {
    throw new ClientRequestError(
      field,
      `${field} is missing: every request names its user (ids look like user-42)`,
    );
  }
  if (!pattern.test(raw)) {
    throw new ClientRequestError(
      field,
      `${field} '${raw.slice(0, 80)}' is not a known user (known ids match ${pattern.source})`,
    );
  }
  return raw;
}

/**
 * The words of a search (NFC, whitespace-separated), validated: `q` present, not blank, at most
 * {@linkcode MAX_QUERY_CHARS} characters and {@linkcode MAX_QUERY_WORDS} words.
 */
export function searchTerms(q: string | null): string[] {
  if (q === null) {
    throw new ClientRequestError("q", "q is missing: search with /products/search?q=…");
  }
  const text = q.normalize("NFC").trim();
  if (text === "") {
    throw new ClientRequestError("q", "q is empty: give at least one word to search for");
  }
  if ([...text].length > MAX_QUERY_CHARS) {
    throw new ClientRequestError("q", `q is longer than ${MAX_QUERY_CHARS} characters`);
  }
  const words = text.split(/\s+/u);
  if (words.length > MAX_QUERY_WORDS) {
    throw new ClientRequestError("q", `q has ${words.length} words; at most ${MAX_QUERY_WORDS}`);
  }
  return words;
}

/** A LIKE pattern matching `term` anywhere, with `%`, `_` and `\` taken literally. */
export function likePattern(term: string): string {
  return `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

const FOLD = (expr: string) => `translate(lower(${expr}), 'ё', 'е')`;

/** The columns a search looks in, in the order of {@linkcode SEARCH_TEXT}. */
const SEARCH_COLUMNS = ["name", "brand", "category", "description"] as const;

/**
 * The folded text a search matches: the four columns joined by newlines (a search word never
 * holds whitespace, so a word matches it exactly when it is in one of the columns). The search's
 * WHERE and {@linkcode searchIndexSql}'s index use this same expression, which is what lets
 * PostgreSQL answer the search from the index.
 */
const SEARCH_TEXT = (alias = "") =>
  FOLD(SEARCH_COLUMNS.map((c) => `coalesce(${alias}${c}::text, '')`).join(" || E'\\n' || "));

/** Name of the trigram index over {@linkcode SEARCH_TEXT} of `table`. */
export function searchIndexName(table = "products"): string {
  return `${table}_search_trgm`;
}

/**
 * The statements that give `table` its search index: `pg_trgm` (a trusted extension that ships
 * with PostgreSQL) and a GIN trigram index over the folded search text, so `LIKE '%word%'`
 * searches stop scanning the whole table as the catalogue grows. Idempotent.
 */
export function searchIndexSql(table = "products"): string[] {
  if (!/^[a-z_][a-z0-9_]*$/.test(table)) {
    throw new RangeError(
      `Cannot index as 'table' must be an identifier: current value is '${table}'`,
    );
  }
  return [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    `CREATE INDEX IF NOT EXISTS ${searchIndexName(table)} ON ${table} ` +
    `USING gin ((${SEARCH_TEXT()}) gin_trgm_ops)`,
  ];
}

/** SQL and parameters of a search for `terms` in `table` (see the module doc for the ranking). */
export function searchSql(
  terms: string[],
  limit: number,
  table = "products",
): { text: string; values: unknown[] } {
  if (!/^[a-z_][a-z0-9_]*$/.test(table)) {
    throw new RangeError(
      `Cannot search as 'table' must be an identifier: current value is '${table}'`,
    );
  }
  const values: unknown[] = terms.map(likePattern);
  const cols = { n: 4, b: 2, k: 2, d: 1 } as const;
  const like = (col: string, i: number) => `${col} LIKE ${FOLD(`$${i + 1}`)} ESCAPE '\\'`;
  const where = terms.map((_, i) => like("s", i)).join(" AND ");
  const rank = terms.flatMap((_, i) =>
    Object.entries(cols).map(([c, w]) => `(CASE WHEN ${like(c, i)} THEN ${w} ELSE 0 END)`)
  ).join(" + ");
  values.push(limit);
  // Rank and pick on the folded text first; build the JSON of the chosen rows only.
  const text = `WITH c AS (
  SELECT p.product_id AS id,
    ${FOLD("coalesce(p.name::text, '')")} AS n,
    ${FOLD("coalesce(p.brand::text, '')")} AS b,
    ${FOLD("coalesce(p.category::text, '')")} AS k,
    ${FOLD("coalesce(p.description::text, '')")} AS d,
    ${SEARCH_TEXT("p.")} AS s
  FROM ${table} p),
hits AS (
  SELECT id, n, ${rank} AS rank FROM c WHERE ${where}
  ORDER BY rank DESC, n, id LIMIT $${values.length})
SELECT h.id::text AS id, to_jsonb(p) AS row, h.rank
FROM hits h JOIN ${table} p ON p.product_id = h.id
ORDER BY h.rank DESC, h.n, h.id`;
  return { text, values };
}

/** The unit price of a product row as the sink stored it (flattened or nested), if any. */
export function priceOf(row: Record<string, unknown>): number | undefined {
  const candidates: unknown[] = [row.price_amount, row.price];
  for (let c of candidates) {
    if (typeof c === "string") {
      try {
        c = JSON.parse(c);
      } catch {
        continue;
      }
    }
    if (typeof c === "number" && Number.isFinite(c) && c >= 0) return c;
    if (c && typeof c === "object" && "amount" in c) {
      const a = Number((c as { amount: unknown }).amount);
      if (Number.isFinite(a) && a >= 0) return a;
    }
  }
  return undefined;
}

const EVENT_FIELDS = new Set([
  "type",
  "product_id",
  "session_id",
  "quantity",
  "rating",
  "text",
  "price",
  "event_id",
  "user_id",
]);

/**
 * Turns a `POST /events` body into a {@linkcode UserEvent} of `userId`, or throws
 * {@linkcode ClientRequestError} naming the first field at fault. `price` is taken from the catalog
 * later when the product has one.
 */
export function parseEventBody(
  body: unknown,
  userId: string,
  headerSession: string | null = null,
  now: Date = new Date(),
): UserEvent {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ClientRequestError("body", "body must be one JSON object (an event)");
  }
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) {
    if (!EVENT_FIELDS.has(k)) {
      throw new ClientRequestError(
        k,
        `${k} is not a field of an event (fields: ${[...EVENT_FIELDS].join(", ")})`,
      );
    }
  }
  const id = (field: string, v: unknown): string => {
    if (typeof v !== "string" || !ID_PATTERN.test(v)) {
      throw new ClientRequestError(
        field,
        `${field} must be an id of 1–64 letters, digits or ._:@-`,
      );
    }
    return v;
  };
  if (b.user_id !== undefined && b.user_id !== userId) {
    throw new ClientRequestError("user_id", "user_id differs from the X-User-Id header");
  }
  if (b.type === undefined) throw new ClientRequestError("type", "type is missing");
  if (!(USER_EVENT_TYPES as readonly unknown[]).includes(b.type)) {
    throw new ClientRequestError("type", `type must be one of ${USER_EVENT_TYPES.join(", ")}`);
  }
  const type = b.type as UserEventType;
  if (b.product_id === undefined) {
    throw new ClientRequestError("product_id", "product_id is missing");
  }
  const productId = id("product_id", b.product_id);
  const rawSession = b.session_id ?? headerSession ?? undefined;
  if (rawSession === undefined) {
    throw new ClientRequestError(
      "session_id",
      "session_id is missing (in the event or X-Session-Id)",
    );
  }
  const sessionId = id("session_id", rawSession);
  const event: UserEvent = {
    event_id: b.event_id === undefined ? crypto.randomUUID() : id("event_id", b.event_id),
    user_id: userId,
    session_id: sessionId,
    type,
    product_id: productId,
    at: now.toISOString(),
  };
  const counted = type === "add_to_cart" || type === "purchase";
  if (b.quantity !== undefined || counted) {
    if (!counted) throw new ClientRequestError("quantity", `a ${type} has no quantity`);
    const q = b.quantity;
    if (q === undefined) {
      throw new ClientRequestError("quantity", `quantity is missing (a ${type} needs it)`);
    }
    if (typeof q !== "number" || !Number.isInteger(q) || q < 1 || q > 1000) {
      throw new ClientRequestError("quantity", "quantity must be an integer from 1 to 1000");
    }
    event.quantity = q;
  }
  if (b.rating !== undefined || type === "review") {
    if (type !== "review") throw new ClientRequestError("rating", `a ${type} has no rating`);
    const r = b.rating;
    if (r === undefined) {
      throw new ClientRequestError("rating", "rating is missing (a review needs it)");
    }
    if (typeof r !== "number" || !Number.isInteger(r) || r < 1 || r > 5) {
      throw new ClientRequestError("rating", "rating must be an integer from 1 to 5");
    }
    event.rating = r;
  }
  if (b.text !== undefined) {
    if (type !== "review") throw new ClientRequestError("text", `a ${type} has no text`);
    if (typeof b.text !== "string" || b.text.length > 10_000) {
      throw new ClientRequestError("text", "text must be a string of at most 10000 characters");
    }
    event.text = b.text;
  }
  if (b.price !== undefined) {
    if (typeof b.price !== "number" || !Number.isFinite(b.price) || b.price < 0) {
      throw new ClientRequestError("price", "price must be a number ≥ 0");
    }
    event.price = b.price;
  }
  const check = userEventCodec.validate(event);
  if (!check.ok) {
    const field = /^\/(\w+)/.exec(check.error)?.[1] ?? "body";
    throw new ClientRequestError(field, `event does not match its schema: ${check.error}`);
  }
  return event;
}

/** A route: its name (for metrics) and path parameter. */
export function matchClientRoute(
  method: string,
  path: string,
): { route: string; param?: string; allowed: string } | undefined {
  if (path === "/products/search") return { route: "search", allowed: "GET" };
  if (path === "/events") return { route: "event", allowed: "POST" };
  let m = /^\/products\/([^/]+)$/.exec(path);
  if (m) return { route: "product", param: decodeURIComponentSafe(m[1]), allowed: "GET" };
  m = /^\/users\/([^/]+)\/recommendations$/.exec(path);
  if (m) return { route: "recommendations", param: decodeURIComponentSafe(m[1]), allowed: "GET" };
  void method;
  return undefined;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const PG_MISSING_TABLE = "42P01";
const PG_MISSING_COLUMN = "42703";

/** See the module doc. */
export class ClientApi {
  readonly options: Required<Omit<ClientApiOptions, "kafka">>;
  readonly recommendations: RecommendationsTable;
  readonly stats: ClientApiStats = { requests: 0, refused: 0, events: 0, searchesEmpty: 0 };
  readonly #producer: PartitionedProducer;
  readonly #pool: pg.Pool;
  #server?: Deno.HttpServer<Deno.NetAddr>;
  #producerUp = false;
  /** Whether the products table has its search index ({@linkcode searchIndexSql}). */
  #indexed = false;
  #indexTried = -Infinity;
  #lastKafkaError?: string;
  readonly #metrics = {
    requests: counter("client_api_requests_total", "CLIENT API requests by route and status", [
      "route",
      "status",
    ]),
    latency: histogram(
      "client_api_request_duration_seconds",
      "CLIENT API latency by route, recording included",
      ["route"],
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    ),
    events: counter("client_api_events_total", "User events accepted, by type", ["type"]),
    empty: counter("client_api_searches_empty_total", "Searches that found nothing"),
    recordFailures: counter(
      "client_api_record_failures_total",
      "Requests whose records Kafka did not acknowledge (answered 503)",
    ),
    skipped: counter(
      "client_api_recommendations_skipped_total",
      "Records of the recommendations topic that failed the schema (not served)",
    ),
  };

  constructor(options: ClientApiOptions) {
    const {
      kafka,
      postgresUrl,
      port = 0,
      hostname = "127.0.0.1",
      userPattern = USER_ID_PATTERN,
      searchLimit = 20,
      maxBodyBytes = 65_536,
      productsTable = "products",
    } = options;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new RangeError(`Cannot serve as 'port' must be 0..65535: current value is ${port}`);
    }
    if (!Number.isInteger(searchLimit) || searchLimit < 1 || searchLimit > 100) {
      throw new RangeError(
        `Cannot serve as 'searchLimit' must be 1..100: current value is ${searchLimit}`,
      );
    }
    this.options = {
      postgresUrl,
      port,
      hostname,
      userPattern,
      searchLimit,
      maxBodyBytes,
      productsTable,
    };
    this.#producer = new PartitionedProducer(kafka, {
      lingerMs: 2,
      maxAttempts: 3,
      retryBackoffMs: 300,
    });
    this.recommendations = new RecommendationsTable(kafka, {
      onSkip: ({ partition, offset, error }) => {
        this.#metrics.skipped.inc();
        console.error(`client-api: recommendations ${partition}@${offset} skipped: ${error}`);
      },
    });
    this.#pool = new pg.Pool({
      connectionString: postgresUrl,
      max: 5,
      statement_timeout: 5_000,
      connectionTimeoutMillis: 5_000,
    });
    this.#pool.on("error", (err) => console.error(`client-api: PostgreSQL: ${err.message}`));
    if (!registry.getSingleMetric("client_api_recommendation_users")) {
      const table = this.recommendations;
      new client.Gauge({
        name: "client_api_recommendation_users",
        help: "Users with recommendations in the table",
        registers: [registry],
        collect() {
          this.set(table.size);
        },
      });
    }
  }

  /** Base URL once started. */
  get url(): string {
    if (!this.#server) throw new Error("the CLIENT API is not started");
    return `http://${this.options.hostname}:${this.#server.addr.port}`;
  }

  /** Whether the API can record requests and serve recommendations. */
  get healthy(): boolean {
    return this.#producerUp && this.recommendations.running;
  }

  /** Connects to Kafka, starts the recommendations table, then serves HTTP. */
  async start(): Promise<void> {
    await this.#producer.connect();
    this.#producerUp = true;
    await this.recommendations.start();
    await this.#ensureSearchIndex();
    this.#server = Deno.serve(
      { hostname: this.options.hostname, port: this.options.port, onListen: () => {} },
      (req) => this.handle(req),
    );
  }

  /** Stops serving, then flushes and disconnects. */
  async stop(): Promise<void> {
    await this.#server?.shutdown();
    await this.recommendations.stop().catch(() => {});
    this.#producerUp = false;
    await this.#producer.disconnect().catch(() => {});
    await this.#pool.end().catch(() => {});
  }

  /** Answers one HTTP request (see the module doc). */
  async handle(req: Request): Promise<Response> {
    const started = performance.now();
    const url = new URL(req.url);
    if (url.pathname === "/metrics" && req.method === "GET") {
      return new Response(await registry.metrics(), {
        headers: { "content-type": registry.contentType },
      });
    }
    if (url.pathname === "/healthz") return this.#health();
    const given = req.headers.get("x-request-id");
    const requestId = given && ID_PATTERN.test(given) ? given : crypto.randomUUID();
    const ctx: Context = { route: "unknown", events: [] };
    let outcome: Outcome;
    try {
      outcome = await this.#route(req, url, ctx);
    } catch (err) {
      outcome = this.#failure(err);
    }
    const latencyMs = Math.round((performance.now() - started) * 1000) / 1000;
    const at = new Date().toISOString();
    const request: UserRequest = {
      request_id: requestId,
      method: req.method.slice(0, 16),
      path: (url.pathname + url.search).slice(0, 2_000),
      at,
    };
    if (ctx.userId) request.user_id = ctx.userId;
    if (ctx.query !== undefined) request.query = ctx.query.slice(0, 1_000);
    const response: UserResponse = {
      request_id: requestId,
      status: outcome.status,
      latency_ms: latencyMs,
      product_ids: outcome.productIds.slice(0, 1_000),
      at,
    };
    if (ctx.userId) response.user_id = ctx.userId;
    if (outcome.error) response.error = outcome.error.slice(0, 2_000);
    let status = outcome.status;
    let body: Record<string, unknown> = { request_id: requestId, ...outcome.body };
    try {
      const sent = await Promise.all([
        this.#producer.send(TOPICS.userRequests, {
          key: requestId,
          value: Buffer.from(userRequestCodec.encode(request)),
        }),
        ...ctx.events.map((e) =>
          this.#producer.send(TOPICS.userEvents, {
            key: e.user_id,
            value: Buffer.from(userEventCodec.encode(e)),
          })
        ),
        this.#producer.send(TOPICS.userResponses, {
          key: requestId,
          value: Buffer.from(userResponseCodec.encode(response)),
        }),
      ]);
      if (ctx.events.length > 0 && status < 400) {
        body.recorded = sent.slice(1, 1 + ctx.events.length).map((s) => ({
          topic: s.topic,
          partition: s.partition,
          offset: s.offset,
        }));
        for (const e of ctx.events) this.#metrics.events.inc({ type: e.type });
        this.stats.events += ctx.events.length;
      }
      this.#lastKafkaError = undefined;
    } catch (err) {
      this.#lastKafkaError = (err as Error).message;
      this.#metrics.recordFailures.inc();
      console.error(`client-api: could not record request ${requestId}: ${(err as Error).message}`);
      status = 503;
      body = {
        request_id: requestId,
        error: `the request could not be recorded in Kafka: ${(err as Error).message}`,
        field: null,
      };
    }
    this.stats.requests++;
    if (status >= 400) this.stats.refused++;
    this.#metrics.requests.inc({ route: ctx.route, status: String(status) });
    this.#metrics.latency.observe({ route: ctx.route }, (performance.now() - started) / 1000);
    return new Response(JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json; charset=utf-8", "x-request-id": requestId },
    });
  }

  #health(): Response {
    const ok = this.healthy;
    const body = {
      status: ok ? "ok" : "unhealthy",
      kafka: this.#producerUp ? (this.#lastKafkaError ?? "ok") : "not connected",
      recommendations: {
        running: this.recommendations.running,
        caught_up: this.recommendations.caughtUp,
        users: this.recommendations.size,
        crashed: this.recommendations.crashed ?? null,
      },
    };
    return new Response(JSON.stringify(body), {
      status: ok ? 200 : 503,
      headers: { "content-type": "application/json; charset=utf-8" },
    });
  }

  #failure(err: unknown): Outcome {
    if (err instanceof ClientRequestError) {
      return {
        status: err.status,
        body: { error: err.message, field: err.field },
        productIds: [],
        error: `${err.field}: ${err.message}`,
      };
    }
    const message = err instanceof ClientApiUnavailable
      ? err.message
      : `internal error: ${(err as Error)?.message ?? String(err)}`;
    if (!(err instanceof ClientApiUnavailable)) console.error("client-api:", err);
    const status = err instanceof ClientApiUnavailable ? 503 : 500;
    return { status, body: { error: message, field: null }, productIds: [], error: message };
  }

  async #route(req: Request, url: URL, ctx: Context): Promise<Outcome> {
    const match = matchClientRoute(req.method, url.pathname);
    if (!match) {
      ctx.userId = this.#optionalUser(req);
      throw new ClientRequestError("path", `no route ${url.pathname}`, 404);
    }
    ctx.route = match.route;
    if (req.method !== match.allowed) {
      ctx.userId = this.#optionalUser(req);
      throw new ClientRequestError("method", `${url.pathname} answers ${match.allowed} only`, 405);
    }
    switch (match.route) {
      case "search": {
        ctx.query = url.searchParams.get("q") ?? undefined;
        ctx.userId = this.#user(req);
        return await this.#search(url, ctx);
      }
      case "product": {
        ctx.userId = this.#user(req);
        return await this.#product(match.param!);
      }
      case "recommendations": {
        ctx.userId = checkUserId(match.param, "user_id", this.options.userPattern);
        return this.#recommendationsOf(ctx.userId);
      }
      default: {
        ctx.userId = this.#user(req);
        return await this.#event(req, ctx);
      }
    }
  }

  #user(req: Request): string {
    return checkUserId(req.headers.get("x-user-id"), "X-User-Id", this.options.userPattern);
  }

  #optionalUser(req: Request): string | undefined {
    const raw = req.headers.get("x-user-id");
    return raw && this.options.userPattern.test(raw) ? raw : undefined;
  }

  async #query<R extends pg.QueryResultRow>(
    text: string,
    values: unknown[],
  ): Promise<pg.QueryResult<R>> {
    try {
      return await this.#pool.query<R>(text, values);
    } catch (err) {
      const e = err as { code?: string; message: string };
      const table = this.options.productsTable;
      if (e.code === PG_MISSING_TABLE) {
        throw new ClientApiUnavailable(
          `table '${table}' does not exist yet in the analytics database: start the products ` +
            `sink (JDBC sink of topic 'products') and let it write`,
        );
      }
      if (e.code === PG_MISSING_COLUMN) {
        throw new ClientApiUnavailable(
          `table '${table}' lacks a column the search needs: ${e.message}`,
        );
      }
      if (e.code === undefined || /ECONNREFUSED|connect|terminat/i.test(e.message)) {
        throw new ClientApiUnavailable(`PostgreSQL is unreachable: ${e.message}`);
      }
      throw err;
    }
  }

  /**
   * Gives the products table its search index once the table exists (the JDBC sink creates it
   * with its first record): tried at start and then at most every 10 s by a search, until made.
   * Without it searches still answer, by scanning the table.
   */
  async #ensureSearchIndex(): Promise<void> {
    if (this.#indexed || performance.now() - this.#indexTried < 10_000) return;
    this.#indexTried = performance.now();
    const table = this.options.productsTable;
    const client = await this.#pool.connect().catch(() => undefined);
    if (!client) return; // PostgreSQL unreachable: the search itself says so
    try {
      await client.query("SET statement_timeout = 0"); // the build may outlast the 5 s limit
      for (const sql of searchIndexSql(table)) await client.query(sql);
      this.#indexed = true;
    } catch (err) {
      const e = err as { code?: string; message: string };
      if (e.code !== PG_MISSING_TABLE) {
        console.error(
          `client-api: no search index on '${table}' yet (searches scan the table): ${e.message}`,
        );
      }
    } finally {
      await client.query("RESET statement_timeout").catch(() => {});
      client.release();
    }
  }

  async #search(url: URL, ctx: Context): Promise<Outcome> {
    const terms = searchTerms(url.searchParams.get("q"));
    const rawLimit = url.searchParams.get("limit");
    let limit = this.options.searchLimit;
    if (rawLimit !== null) {
      limit = Number(rawLimit);
      if (!/^\d+$/.test(rawLimit) || limit < 1 || limit > 100) {
        throw new ClientRequestError(
          "limit",
          `limit must be an integer from 1 to 100: got '${rawLimit}'`,
        );
      }
    }
    await this.#ensureSearchIndex();
    const sql = searchSql(terms, limit, this.options.productsTable);
    const res = await this.#query<{ id: string; row: Record<string, unknown> }>(
      sql.text,
      sql.values,
    );
    const ids = res.rows.map((r) => r.id);
    const query = terms.join(" ");
    ctx.query = query;
    if (ids.length === 0) {
      this.stats.searchesEmpty++;
      this.#metrics.empty.inc();
    }
    return {
      status: 200,
      productIds: ids,
      body: {
        query,
        count: ids.length,
        products: res.rows.map((r) => r.row),
        ...(ids.length === 0 ? { message: `No products match '${query}'.` } : {}),
      },
    };
  }

  async #productRow(id: string): Promise<Record<string, unknown> | undefined> {
    const table = this.options.productsTable;
    const res = await this.#query<{ row: Record<string, unknown> }>(
      `SELECT to_jsonb(p) AS row FROM ${table} p WHERE p.product_id::text = $1`,
      [id],
    );
    return res.rows[0]?.row;
  }

  async #product(id: string): Promise<Outcome> {
    if (!ID_PATTERN.test(id)) {
      throw new ClientRequestError(
        "product_id",
        "product_id must be an id of 1–64 letters, digits or ._:@-",
      );
    }
    const row = await this.#productRow(id);
    if (!row) throw new ClientRequestError("product_id", `no product '${id}'`, 404);
    return { status: 200, productIds: [id], body: { product: row } };
  }

  #recommendationsOf(userId: string): Outcome {
    const rec = this.recommendations.get(userId);
    if (!rec) {
      return {
        status: 200,
        productIds: [],
        body: {
          user_id: userId,
          recommendations: [],
          message: this.recommendations.caughtUp
            ? "No recommendations for this user yet: the analytics jobs have not published any."
            : "No recommendations yet: the table is still being read from Kafka.",
        },
      };
    }
    const ids = rec.products.map((p) => p.product_id);
    return {
      status: 200,
      productIds: ids,
      body: {
        user_id: userId,
        recommendations: rec.products,
        model: rec.model,
        generated_at: rec.generated_at,
      },
    };
  }

  async #event(req: Request, ctx: Context): Promise<Outcome> {
    const max = this.options.maxBodyBytes;
    const declared = Number(req.headers.get("content-length") ?? "0");
    if (declared > max) {
      throw new ClientRequestError("body", `body is larger than ${max} bytes`, 413);
    }
    const bytes = new Uint8Array(await req.arrayBuffer());
    if (bytes.length > max) {
      throw new ClientRequestError("body", `body is larger than ${max} bytes`, 413);
    }
    if (bytes.length === 0) {
      throw new ClientRequestError("body", "body is empty: send one JSON event");
    }
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw new ClientRequestError("body", "body is not valid UTF-8");
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new ClientRequestError("body", `body is not JSON: ${(err as Error).message}`);
    }
    const event = parseEventBody(parsed, ctx.userId!, req.headers.get("x-session-id"));
    const row = await this.#productRow(event.product_id);
    if (!row) {
      throw new ClientRequestError("product_id", `no product '${event.product_id}' in the catalog`);
    }
    if (event.type === "purchase") {
      const price = priceOf(row);
      if (price !== undefined) event.price = price;
    }
    ctx.events.push(event);
    return { status: 202, productIds: [], body: { event_id: event.event_id, event } };
  }
}
