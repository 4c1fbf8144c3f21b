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
 * Who the user is: the bearer token of `Authorization: Bearer <jwt>` — a JWT whose `sub` is the
 * user id, signed by the platform's identity key (HS256) or by an identity provider whose JWKS
 * the API is given, `exp` checked, verified with `jose` (`client_api/identity.ts`). The
 * marketplace's user directory is not part of this platform, so a `sub` is a **known** user when
 * it has the directory's format, {@linkcode USER_ID_PATTERN} (`user-<digits>`, e.g. `user-42`;
 * configurable). `POST /events` and `GET /users/:id/recommendations` act as a user and need a
 * token; a user acts and reads recommendations only as itself. Search and `GET /products/:id`
 * may be anonymous (recorded without a user). `X-User-Id` no longer names the user: sent with
 * a token it must be the token's user; sent without one it is refused, never believed. A
 * session is `session_id` in the event or the `X-Session-Id` header.
 *
 * Refusals of identity: no token on a route that acts as a user, a token that does not verify
 * (forged, expired, another algorithm, no `sub`, `sub` not a known id), or `X-User-Id` without
 * a token → `401` with `WWW-Authenticate: Bearer …` and `field: "Authorization"`; a path or
 * body `user_id` that is not the token's user → `403` naming `user_id` (`X-User-Id`: naming it);
 * an identity provider whose keys cannot be fetched → `503`. Like every refusal they are
 * recorded in `user-requests`/`user-responses` (a 403 with the token's user, a 401 with none)
 * and never produce a `user-events` record.
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
 * Bad input — a path user id that is not a known id, missing or empty `q`, a bad `limit`, a
 * malformed or oversized event, invalid UTF-8, an unknown product in an event — is `400`
 * (`413` for a body over the limit) with `{"error", "field"}` naming the field, never `500`;
 * the request is still recorded in `user-requests` and its refusal in `user-responses`.
 *
 * One module per job, re-exported here: `client_api/search.ts` (search words, SQL, the stored
 * search text and its index, prices), `client_api/search_baseline.ts` (the search before the
 * stored search text, for `bench:search`), `client_api/request.ts` (routes, user ids, event
 * bodies), `client_api/identity.ts` (tokens: the identity key, verification, the dev issuer)
 * and `client_api/server.ts` ({@linkcode startClientApi}: the clients, routes and
 * recording).
 *
 * @example
 * ```ts
 * import { identityFromEnv, startClientApi, tokenVerifier } from "./client_api.ts";
 * const identity = tokenVerifier(await identityFromEnv());
 * const api = await startClientApi({ kafka, identity, postgresUrl: "postgres://…/analytics", port: 8280 });
 * // curl -H "Authorization: Bearer $(deno task -q final:token user-1)" \
 * //   'http://127.0.0.1:8280/users/user-1/recommendations'
 * await api.close();
 * ```
 * @module
 */
export * from "./client_api/request.ts";
export * from "./client_api/identity.ts";
export * from "./client_api/search.ts";
export * from "./client_api/search_baseline.ts";
export * from "./client_api/search_bench.ts";
export * from "./client_api/server.ts";
