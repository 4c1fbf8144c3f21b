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
 *   and a message saying so. Answered from a `pg_trgm` GIN index over the folded text, stored
 *   once per row in a generated column ({@linkcode searchIndexSql}), which the API adds once
 *   the table exists.
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
 * One module per job, re-exported here: `client_api/search.ts` (search words, SQL, the stored
 * search text and its index, prices), `client_api/search_baseline.ts` (the search before the
 * stored search text, for `bench:search`), `client_api/request.ts` (routes, user ids, event
 * bodies) and `client_api/server.ts` ({@linkcode startClientApi}: the clients, routes and
 * recording).
 *
 * @example
 * ```ts
 * import { startClientApi } from "./client_api.ts";
 * const api = await startClientApi({ kafka, postgresUrl: "postgres://…/analytics", port: 8280 });
 * // curl -H 'X-User-Id: user-1' 'http://127.0.0.1:8280/products/search?q=смартфон'
 * await api.close();
 * ```
 * @module
 */
export * from "./client_api/request.ts";
export * from "./client_api/search.ts";
export * from "./client_api/search_baseline.ts";
export * from "./client_api/search_bench.ts";
export * from "./client_api/server.ts";
