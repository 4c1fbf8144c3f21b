/**
 * The CLIENT API's server (see `../client_api.ts` for what it answers): {@linkcode startClientApi}
 * connects the producer that records every request, response and action, starts the
 * recommendations table, gives the products table its search index, and serves HTTP. `/metrics`
 * and `/healthz` come from lib/monitoring; every other route is answered by the route handlers
 * here, then recorded in Kafka before the answer goes out.
 *
 * @example
 * ```ts
 * import { startClientApi } from "./server.ts";
 * import { ensureIdentityKey, tokenVerifier } from "./identity.ts";
 * const identity = tokenVerifier({ secret: await ensureIdentityKey() });
 * const api = await startClientApi({ kafka, identity, postgresUrl: "postgres://…/analytics" });
 * console.log(api.url, api.stats);
 * await api.close();
 * ```
 * @module
 */
import type { Kafka } from "kafkajs";
import { Buffer } from "node:buffer";
import pg from "pg";
import client from "prom-client";
import { PartitionedProducer } from "../../kafka/mod.ts";
import {
  counter,
  type HealthStatus,
  histogram,
  monitoringRoute,
  registry,
} from "../../monitoring/mod.ts";
import {
  type UserEvent,
  userEventCodec,
  type UserRequest,
  userRequestCodec,
  type UserResponse,
  userResponseCodec,
} from "../../schemas/mod.ts";
import { RecommendationsTable } from "../recommendations.ts";
import { TOPICS } from "../topology.ts";
import {
  checkUserId,
  CLIENT_ID_PATTERN,
  ClientRequestError,
  matchClientRoute,
  parseEventBody,
  USER_ID_PATTERN,
} from "./request.ts";
import { priceOf, productJson, searchIndexSql, searchSql, searchTerms } from "./search.ts";
import { bearerToken, IdentityUnavailable, TokenRefused, type TokenVerifier } from "./identity.ts";

/** The service cannot answer now (PostgreSQL or Kafka down, products table not there yet). */
export class ClientApiUnavailable extends Error {
  override name = "ClientApiUnavailable";
  /** Whether PostgreSQL said a column is missing (the table is not the search's yet). */
  readonly missingColumn: boolean;
  constructor(message: string, options?: { missingColumn?: boolean }) {
    super(message);
    this.missingColumn = options?.missingColumn ?? false;
  }
}

/** Options of {@linkcode startClientApi}. */
export interface ClientApiOptions {
  /** Kafka client of principal `client-api` on the secure cluster. */
  kafka: Kafka;
  /** Checks the users' bearer tokens (`./identity.ts`). */
  identity: TokenVerifier;
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
  /**
   * Connections to PostgreSQL (searches and product look-ups wait for a free one). @default
   * DEFAULT_PG_POOL_SIZE
   */
  pgPoolSize?: number;
}

/**
 * Default size of the PostgreSQL pool (was 5): enough searches in flight to keep PostgreSQL's
 * cores busy while the API parses, records and answers — a search is a short CPU-bound query
 * plus a round trip — without more backends than cores to share; `bench:search --http
 * --pg-pool N` measures another size.
 */
export const DEFAULT_PG_POOL_SIZE = 10;

/** Counts of what the API did (this process). */
export interface ClientApiStats {
  requests: number;
  refused: number;
  events: number;
  searchesEmpty: number;
}

/** A running CLIENT API. */
export interface ClientApiServer {
  /** Base URL, e.g. `http://127.0.0.1:8280`. */
  readonly url: string;
  /** The port it listens on (the one picked when `port` was 0). */
  readonly port: number;
  readonly server: Deno.HttpServer<Deno.NetAddr>;
  /** Counts of what it did so far (live). */
  readonly stats: Readonly<ClientApiStats>;
  /** The table of the `recommendations` topic it answers from. */
  readonly recommendations: RecommendationsTable;
  /** Whether it can record requests and serve recommendations (what `/healthz` says). */
  healthy(): boolean;
  /** Answers one request as the server does (the request is recorded in Kafka like any other). */
  handle(req: Request): Promise<Response>;
  /** Stops serving, then stops the recommendations table, flushes and disconnects. */
  close(): Promise<void>;
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
  /** Headers of the answer besides the JSON ones (e.g. `WWW-Authenticate` of a 401). */
  headers?: Record<string, string>;
}

/**
 * A 401 naming `Authorization`, with the `WWW-Authenticate: Bearer` challenge of RFC 6750
 * (`error="invalid_token"` when a token was given and refused).
 */
function unauthorized(message: string, error?: "invalid_token"): ClientRequestError {
  // A header value is Latin-1: the description keeps printable ASCII without quotes.
  const description = message.replace(/[^\x20-\x7e]|["\\]/g, "?").slice(0, 200);
  const challenge = error
    ? `Bearer realm="client-api", error="${error}", error_description="${description}"`
    : `Bearer realm="client-api"`;
  return new ClientRequestError("Authorization", message, 401, { "www-authenticate": challenge });
}

const PG_MISSING_TABLE = "42P01";
/** invalid_catalog_name: the database itself is not there. */
const PG_MISSING_DATABASE = "3D000";
const PG_MISSING_COLUMN = "42703";

type ClientMetrics = ReturnType<typeof clientMetrics>;

function clientMetrics() {
  return {
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
}

/** The gauge of users in the recommendations table (registered once per process). */
function registerRecommendationUsers(table: RecommendationsTable): void {
  if (registry.getSingleMetric("client_api_recommendation_users")) return;
  new client.Gauge({
    name: "client_api_recommendation_users",
    help: "Users with recommendations in the table",
    registers: [registry],
    collect() {
      this.set(table.size);
    },
  });
}

/** The options with their defaults, checked. */
function resolveOptions(options: ClientApiOptions): Required<Omit<ClientApiOptions, "kafka">> {
  const {
    identity,
    postgresUrl,
    port = 0,
    hostname = "127.0.0.1",
    userPattern = USER_ID_PATTERN,
    searchLimit = 20,
    maxBodyBytes = 65_536,
    productsTable = "products",
    pgPoolSize = DEFAULT_PG_POOL_SIZE,
  } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Cannot serve as 'port' must be 0..65535: current value is ${port}`);
  }
  if (!Number.isInteger(searchLimit) || searchLimit < 1 || searchLimit > 100) {
    throw new RangeError(
      `Cannot serve as 'searchLimit' must be 1..100: current value is ${searchLimit}`,
    );
  }
  if (!Number.isInteger(pgPoolSize) || pgPoolSize < 1 || pgPoolSize > 200) {
    throw new RangeError(
      `Cannot serve as 'pgPoolSize' must be 1..200: current value is ${pgPoolSize}`,
    );
  }
  return {
    identity,
    postgresUrl,
    port,
    hostname,
    userPattern,
    searchLimit,
    maxBodyBytes,
    productsTable,
    pgPoolSize,
  };
}

/** The records of one answered request: its `user-requests` and `user-responses` values. */
function recordsOf(
  req: Request,
  url: URL,
  requestId: string,
  ctx: Context,
  outcome: Outcome,
  latencyMs: number,
): { request: UserRequest; response: UserResponse } {
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
  return { request, response };
}

/**
 * Serves the CLIENT API (see `../client_api.ts`): connects to Kafka, starts the recommendations
 * table, then serves HTTP. When a step fails, what was started is stopped and the error thrown.
 */
export async function startClientApi(options: ClientApiOptions): Promise<ClientApiServer> {
  const service = new ClientApiService(options);
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = await service.start();
  } catch (err) {
    await service.stop();
    throw err;
  }
  const { hostname } = service.options;
  return {
    url: `http://${hostname === "0.0.0.0" ? "127.0.0.1" : hostname}:${server.addr.port}`,
    port: server.addr.port,
    server,
    stats: service.stats,
    recommendations: service.recommendations,
    healthy: () => service.healthy,
    handle: (req) => service.handle(req),
    close: () => service.stop(),
  };
}

/** The service behind {@linkcode startClientApi}: its clients, routes and recording. */
class ClientApiService {
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
  readonly #metrics: ClientMetrics = clientMetrics();

  constructor(options: ClientApiOptions) {
    this.options = resolveOptions(options);
    this.#producer = new PartitionedProducer(options.kafka, {
      lingerMs: 2,
      maxAttempts: 3,
      retryBackoffMs: 300,
    });
    this.recommendations = new RecommendationsTable(options.kafka, {
      onSkip: ({ partition, offset, error }) => {
        this.#metrics.skipped.inc();
        console.error(`client-api: recommendations ${partition}@${offset} skipped: ${error}`);
      },
    });
    this.#pool = new pg.Pool({
      connectionString: this.options.postgresUrl,
      max: this.options.pgPoolSize,
      statement_timeout: 5_000,
      connectionTimeoutMillis: 5_000,
    });
    this.#pool.on("error", (err) => console.error(`client-api: PostgreSQL: ${err.message}`));
    registerRecommendationUsers(this.recommendations);
  }

  /** Whether the API can record requests and serve recommendations. */
  get healthy(): boolean {
    return this.#producerUp && this.recommendations.running;
  }

  /** Connects to Kafka, starts the recommendations table, then serves HTTP. */
  async start(): Promise<Deno.HttpServer<Deno.NetAddr>> {
    await this.#producer.connect();
    this.#producerUp = true;
    await this.recommendations.start();
    await this.#ensureSearchIndex();
    this.#server = Deno.serve(
      { hostname: this.options.hostname, port: this.options.port, onListen: () => {} },
      (req) => this.handle(req),
    );
    return this.#server;
  }

  /** Stops serving, then flushes and disconnects. */
  async stop(): Promise<void> {
    await this.#server?.shutdown();
    await this.recommendations.stop().catch(() => {});
    this.#producerUp = false;
    await this.#producer.disconnect().catch(() => {});
    await this.#pool.end().catch(() => {});
  }

  /** Answers one HTTP request (see the module doc of `../client_api.ts`). */
  async handle(req: Request): Promise<Response> {
    const started = performance.now();
    const url = new URL(req.url);
    const monitored = url.pathname === "/metrics" && req.method !== "GET"
      ? undefined
      : monitoringRoute(url.pathname, () => this.#health());
    if (monitored) return await monitored;
    const given = req.headers.get("x-request-id");
    const requestId = given && CLIENT_ID_PATTERN.test(given) ? given : crypto.randomUUID();
    const ctx: Context = { route: "unknown", events: [] };
    let outcome: Outcome;
    try {
      outcome = await this.#route(req, url, ctx);
    } catch (err) {
      outcome = this.#failure(err);
    }
    const latencyMs = Math.round((performance.now() - started) * 1000) / 1000;
    const records = recordsOf(req, url, requestId, ctx, outcome, latencyMs);
    const { status, body } = await this.#record(requestId, ctx, outcome, records);
    this.stats.requests++;
    if (status >= 400) this.stats.refused++;
    this.#metrics.requests.inc({ route: ctx.route, status: String(status) });
    this.#metrics.latency.observe({ route: ctx.route }, (performance.now() - started) / 1000);
    return new Response(JSON.stringify(body), {
      status,
      headers: {
        ...(status === outcome.status ? outcome.headers : {}),
        "content-type": "application/json; charset=utf-8",
        "x-request-id": requestId,
      },
    });
  }

  /**
   * Writes a request's records — the request, its accepted actions, the response — and waits
   * for their acknowledgement: the status and body to answer (503 when Kafka did not take them).
   */
  async #record(
    requestId: string,
    ctx: Context,
    outcome: Outcome,
    records: { request: UserRequest; response: UserResponse },
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const body: Record<string, unknown> = { request_id: requestId, ...outcome.body };
    try {
      const sent = await Promise.all([
        this.#producer.send(TOPICS.userRequests, {
          key: requestId,
          value: Buffer.from(userRequestCodec.encode(records.request)),
        }),
        ...ctx.events.map((e) =>
          this.#producer.send(TOPICS.userEvents, {
            key: e.user_id,
            value: Buffer.from(userEventCodec.encode(e)),
          })
        ),
        this.#producer.send(TOPICS.userResponses, {
          key: requestId,
          value: Buffer.from(userResponseCodec.encode(records.response)),
        }),
      ]);
      if (ctx.events.length > 0 && outcome.status < 400) {
        body.recorded = sent.slice(1, 1 + ctx.events.length).map((s) => ({
          topic: s.topic,
          partition: s.partition,
          offset: s.offset,
        }));
        for (const e of ctx.events) this.#metrics.events.inc({ type: e.type });
        this.stats.events += ctx.events.length;
      }
      this.#lastKafkaError = undefined;
      return { status: outcome.status, body };
    } catch (err) {
      this.#lastKafkaError = (err as Error).message;
      this.#metrics.recordFailures.inc();
      console.error(`client-api: could not record request ${requestId}: ${(err as Error).message}`);
      return {
        status: 503,
        body: {
          request_id: requestId,
          error: `the request could not be recorded in Kafka: ${(err as Error).message}`,
          field: null,
        },
      };
    }
  }

  #health(): HealthStatus {
    const ok = this.healthy;
    return {
      ok,
      body: {
        status: ok ? "ok" : "unhealthy",
        kafka: this.#producerUp ? (this.#lastKafkaError ?? "ok") : "not connected",
        recommendations: {
          running: this.recommendations.running,
          caught_up: this.recommendations.caughtUp,
          users: this.recommendations.size,
          crashed: this.recommendations.crashed ?? null,
        },
      },
    };
  }

  #failure(err: unknown): Outcome {
    if (err instanceof ClientRequestError) {
      return {
        status: err.status,
        body: { error: err.message, field: err.field },
        productIds: [],
        error: `${err.field}: ${err.message}`,
        headers: err.headers,
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
      ctx.userId = await this.#optionalUser(req);
      throw new ClientRequestError("path", `no route ${url.pathname}`, 404);
    }
    ctx.route = match.route;
    if (req.method !== match.allowed) {
      ctx.userId = await this.#optionalUser(req);
      throw new ClientRequestError("method", `${url.pathname} answers ${match.allowed} only`, 405);
    }
    switch (match.route) {
      case "search": {
        ctx.query = url.searchParams.get("q") ?? undefined;
        await this.#identify(req, ctx, false);
        return await this.#search(url, ctx);
      }
      case "product": {
        await this.#identify(req, ctx, false);
        return await this.#product(match.param!);
      }
      case "recommendations": {
        const user = (await this.#identify(req, ctx, true))!;
        const named = checkUserId(match.param, "user_id", this.options.userPattern);
        if (named !== user) {
          throw new ClientRequestError(
            "user_id",
            `user_id '${named}' in the path is not the token's user '${user}': a user reads only its own recommendations`,
            403,
          );
        }
        return this.#recommendationsOf(user);
      }
      default: {
        await this.#identify(req, ctx, true);
        return await this.#event(req, ctx);
      }
    }
  }

  /**
   * Who sends `req`: the user of its bearer token, set as `ctx.userId` (so a 403 after this is
   * recorded with the user who tried), or undefined for an anonymous request where `required`
   * is false. No token where one is required, a token refused, or an `X-User-Id` without a
   * token is a 401 naming `Authorization`; an `X-User-Id` that is not the token's user is a 403.
   */
  async #identify(req: Request, ctx: Context, required: boolean): Promise<string | undefined> {
    const header = req.headers.get("authorization");
    const claimed = req.headers.get("x-user-id");
    if (header === null) {
      if (claimed !== null) {
        throw unauthorized(
          "X-User-Id alone does not identify a user: send Authorization: Bearer <token> (deno task final:token USER)",
        );
      }
      if (!required) return undefined;
      throw unauthorized(
        "Authorization is missing: this route acts as a user; send Authorization: Bearer <token> (deno task final:token USER)",
      );
    }
    let user: string;
    try {
      user = (await this.options.identity.verify(bearerToken(header))).userId;
    } catch (err) {
      if (err instanceof TokenRefused) throw unauthorized(err.message, "invalid_token");
      if (err instanceof IdentityUnavailable) throw new ClientApiUnavailable(err.message);
      throw err;
    }
    ctx.userId = user;
    if (claimed !== null && claimed !== user) {
      throw new ClientRequestError(
        "X-User-Id",
        `X-User-Id '${claimed.slice(0, 80)}' is not the token's user '${user}'`,
        403,
      );
    }
    return user;
  }

  /** The token's user for the record of a request refused anyway (404, 405); else undefined. */
  async #optionalUser(req: Request): Promise<string | undefined> {
    const header = req.headers.get("authorization");
    if (header === null) return undefined;
    try {
      return (await this.options.identity.verify(bearerToken(header))).userId;
    } catch {
      return undefined;
    }
  }

  /** Runs a named statement (planned once per connection); PostgreSQL's errors as ours. */
  async #query<R extends pg.QueryResultRow>(
    query: { name: string; text: string; values: unknown[] },
  ): Promise<pg.QueryResult<R>> {
    try {
      return await this.#pool.query<R>(query);
    } catch (err) {
      const e = err as { code?: string; message: string };
      const table = this.options.productsTable;
      if (e.code === PG_MISSING_TABLE) {
        throw new ClientApiUnavailable(
          `table '${table}' does not exist yet in the analytics database: start the products ` +
            `sink (JDBC sink of topic 'products') and let it write`,
        );
      }
      if (e.code === PG_MISSING_DATABASE) {
        throw new ClientApiUnavailable(
          `${e.message} on PostgreSQL: deno task final:sink creates it (or deno task demo)`,
        );
      }
      if (e.code === PG_MISSING_COLUMN) {
        throw new ClientApiUnavailable(
          `table '${table}' lacks a column the search needs: ${e.message}`,
          { missingColumn: true },
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
   * with its first record): tried at start and then at most every 10 s by a search, until made,
   * and at once when a search finds the table without its search text.
   */
  async #ensureSearchIndex(now = false): Promise<void> {
    if (this.#indexed || (!now && performance.now() - this.#indexTried < 10_000)) return;
    this.#indexTried = performance.now();
    const table = this.options.productsTable;
    const client = await this.#pool.connect().catch(() => undefined);
    if (!client) return; // PostgreSQL unreachable: the search itself says so
    try {
      await client.query("SET statement_timeout = 0"); // the build may outlast the 5 s limit
      // Adding the column locks the table: give up after 5 s rather than queue every writer
      // and reader behind a long transaction (the next try comes 10 s later).
      await client.query("SET lock_timeout = 5000");
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
      await client.query("RESET lock_timeout").catch(() => {});
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
    const res = await this.#searchRows(searchSql(terms, limit, this.options.productsTable));
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

  /**
   * The rows of a search. A table the JDBC sink created after the last try of
   * `#ensureSearchIndex` lacks the search text: it gets it at once,
   * and the search runs again.
   */
  async #searchRows(
    query: ReturnType<typeof searchSql>,
  ): Promise<pg.QueryResult<{ id: string; row: Record<string, unknown> }>> {
    try {
      return await this.#query(query);
    } catch (err) {
      if (!(err instanceof ClientApiUnavailable) || this.#indexed || !err.missingColumn) throw err;
      await this.#ensureSearchIndex(true);
      return await this.#query(query);
    }
  }

  async #productRow(id: string): Promise<Record<string, unknown> | undefined> {
    const table = this.options.productsTable;
    const res = await this.#query<{ row: Record<string, unknown> }>({
      name: `product_${table}`,
      text: `SELECT ${productJson("p")} AS row FROM ${table} p WHERE p.product_id::text = $1`,
      values: [id],
    });
    return res.rows[0]?.row;
  }

  async #product(id: string): Promise<Outcome> {
    if (!CLIENT_ID_PATTERN.test(id)) {
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
