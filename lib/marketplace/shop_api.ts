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
 * One module per job, re-exported here: `shop_api/body.ts` (parsing and checking a body, the
 * reply's shape), `shop_api/sink.ts` (the {@linkcode ProductSink} seam and the Kafka sink),
 * `shop_api/handler.ts` (the HTTP handler and {@linkcode startShopApi}) and `shop_api/client.ts`
 * ({@linkcode sendToShopApi}, the seed's `producer_shop_api`).
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
export * from "./shop_api/body.ts";
export * from "./shop_api/sink.ts";
export * from "./shop_api/handler.ts";
export * from "./shop_api/client.ts";
