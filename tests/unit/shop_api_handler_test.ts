/**
 * The SHOP API's handler in memory, through the {@linkcode ProductSink} seam (a fake sink, no
 * Kafka): 202 with where each product went, 400/403/413 naming the field and never sent, 207
 * for a mixed batch, 401 without or with a wrong store key, 503 when the sink fails, /healthz
 * following the sink's health, /metrics counting what happened, 404/405 for other routes.
 */
import assert from "node:assert/strict";
import {
  type ProductSink,
  sampleProducts,
  shopApiHandler,
  type ShopApiHandlerOptions,
  type ShopApiReply,
} from "../../lib/marketplace/mod.ts";
import type { Product } from "../../lib/schemas/mod.ts";

const KEYS = { store_001: "key-of-store-001", store_002: "key-of-store-002" };

/** A sink that keeps what it is sent; `up = false` makes it unhealthy and refuse every send. */
class FakeSink implements ProductSink {
  up = true;
  readonly sent: { product: Product; value: Uint8Array; headers: Record<string, string> }[] = [];

  send(product: Product, value: Uint8Array, headers: Record<string, string>) {
    if (!this.up) return Promise.reject(new Error("the product sink is not connected"));
    this.sent.push({ product, value, headers });
    return Promise.resolve({
      topic: "input-products",
      partition: 0,
      offset: String(this.sent.length - 1),
    });
  }

  healthy(): boolean {
    return this.up;
  }
}

function setup(options: Partial<ShopApiHandlerOptions> = {}) {
  const sink = new FakeSink();
  const handle = shopApiHandler({ keys: KEYS, sink, ...options });
  return { sink, handle };
}

function product(id = "p-1", store = "store_001"): Product {
  return { ...sampleProducts()[0], product_id: id, store_id: store };
}

interface PostOptions {
  key?: string | null;
  header?: "authorization" | "x-store-key";
  type?: string;
  requestId?: string;
}

async function post(
  handle: (req: Request) => Promise<Response>,
  body: BodyInit,
  opts: PostOptions = {},
): Promise<{ res: Response; body: ShopApiReply & { error?: string; field?: string } }> {
  const { key = KEYS.store_001, header = "authorization", type = "application/json" } = opts;
  const headers: Record<string, string> = { "content-type": type };
  if (key !== null) headers[header] = header === "authorization" ? `Bearer ${key}` : key;
  if (opts.requestId) headers["x-request-id"] = opts.requestId;
  const res = await handle(
    new Request("http://shop.test/products", { method: "POST", headers, body }),
  );
  return { res, body: await res.json() };
}

Deno.test("shop API handler: 202 for good products, each sent with its headers", async () => {
  const { sink, handle } = setup();
  const one = await post(handle, JSON.stringify(product("p-1")), { requestId: "req-1" });
  assert.equal(one.res.status, 202, JSON.stringify(one.body));
  assert.equal(one.res.headers.get("x-request-id"), "req-1");
  assert.deepEqual(one.body, {
    request_id: "req-1",
    store_id: "store_001",
    accepted: 1,
    refused: 0,
    results: [{ index: 0, product_id: "p-1", status: 202, partition: 0, offset: "0" }],
  });
  assert.deepEqual(sink.sent[0].product, product("p-1"));
  assert.deepEqual(JSON.parse(new TextDecoder().decode(sink.sent[0].value)), product("p-1"));
  assert.deepEqual(sink.sent[0].headers, { "request-id": "req-1", "store-id": "store_001" });

  const array = await post(handle, JSON.stringify([product("p-2"), product("p-3")]));
  assert.equal(array.res.status, 202);
  assert.equal(array.body.accepted, 2);
  assert.match(array.body.request_id, /^[0-9a-f-]{36}$/, "a new request id without X-Request-Id");

  const ndjson = [product("p-4"), product("p-5")].map((p) => JSON.stringify(p)).join("\n");
  const nd = await post(handle, ndjson, { type: "application/x-ndjson" });
  assert.equal(nd.res.status, 202);
  assert.deepEqual(nd.body.results.map((r) => [r.index, r.line, r.product_id]), [
    [0, 1, "p-4"],
    [1, 2, "p-5"],
  ]);
  const byStoreKey = await post(handle, JSON.stringify(product("p-6")), { header: "x-store-key" });
  assert.equal(byStoreKey.res.status, 202, "X-Store-Key works as well as Authorization");
  assert.deepEqual(sink.sent.map((s) => s.product.product_id), [
    "p-1",
    "p-2",
    "p-3",
    "p-4",
    "p-5",
    "p-6",
  ]);
});

Deno.test("shop API handler: 400 naming the field; nothing sent", async () => {
  const { sink, handle } = setup();
  const cases: [string, BodyInit, string][] = [
    ["not JSON", "{not json", "body"],
    ["empty body", "", "body"],
    ["empty array", "[]", "body"],
    ["a string", '""', "(record)"],
    [
      "price.amount a string",
      JSON.stringify({ ...product(), price: { amount: "1", currency: "RUB" } }),
      "price.amount",
    ],
    ["stock null", JSON.stringify({ ...product(), stock: null }), "stock"],
    ["invalid UTF-8", new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x7d]), "body"],
  ];
  for (const [what, body, field] of cases) {
    const r = await post(handle, body);
    assert.equal(r.res.status, 400, `${what}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.accepted, 0, what);
    assert.equal(r.body.refused, 1, what);
    assert.equal(r.body.results[0].field, field, `${what}: ${JSON.stringify(r.body)}`);
    assert.ok(r.body.results[0].error, what);
  }
  assert.equal(sink.sent.length, 0);
});

Deno.test("shop API handler: 401 without a key or with a wrong one; nothing sent", async () => {
  const { sink, handle } = setup();
  const none = await post(handle, JSON.stringify(product()), { key: null });
  assert.equal(none.res.status, 401);
  assert.equal(none.res.headers.get("www-authenticate"), "Bearer");
  assert.deepEqual(none.body, {
    error: "missing store key: send 'Authorization: Bearer <key>' or 'X-Store-Key: <key>'",
    field: "Authorization",
  });
  const wrong = await post(handle, JSON.stringify(product()), { key: "x".repeat(43) });
  assert.equal(wrong.res.status, 401);
  assert.deepEqual(wrong.body, { error: "unknown store key", field: "Authorization" });
  const blank = await post(handle, JSON.stringify(product()), { key: " ", header: "x-store-key" });
  assert.equal(blank.res.status, 401);
  assert.equal(sink.sent.length, 0);
});

Deno.test("shop API handler: 403 for another store's product, 207 for a mixed batch", async () => {
  const { sink, handle } = setup();
  const other = await post(handle, JSON.stringify(product("p-9", "store_002")));
  assert.equal(other.res.status, 403);
  assert.equal(other.body.results[0].field, "store_id");
  assert.equal(other.body.results[0].product_id, "p-9");
  assert.equal(sink.sent.length, 0);

  const mixed = await post(
    handle,
    JSON.stringify([product("ok"), { ...product("bad"), stock: null }, product("x", "store_002")]),
  );
  assert.equal(mixed.res.status, 207);
  assert.deepEqual(mixed.body.results.map((r) => [r.status, r.field]), [
    [202, undefined],
    [400, "stock"],
    [403, "store_id"],
  ]);
  assert.equal(mixed.body.accepted, 1);
  assert.equal(mixed.body.refused, 2);
  assert.deepEqual(sink.sent.map((s) => s.product.product_id), ["ok"]);
});

Deno.test("shop API handler: 413 for a body, a record count or a product over the limit", async () => {
  const { sink, handle } = setup({ maxBodyBytes: 4_096, maxRecords: 2 });
  const body = await post(handle, JSON.stringify([product(), { pad: "x".repeat(5_000) }]));
  assert.equal(body.res.status, 413);
  assert.deepEqual(body.body.results, [{
    index: 0,
    status: 413,
    field: "body",
    error: "body is over 4096 bytes: send fewer products per request",
  }]);
  const many = await post(handle, JSON.stringify([1, 2, 3]));
  assert.equal(many.res.status, 413);
  assert.equal(many.body.results[0].error, "body has 3 products, at most 2 per request");

  const big = setup();
  const huge = { ...product(), description: "д".repeat(600_000) };
  const record = await post(big.handle, JSON.stringify(huge));
  assert.equal(record.res.status, 413);
  assert.equal(record.body.results[0].field, "description");
  assert.equal(sink.sent.length + big.sink.sent.length, 0);
});

Deno.test("shop API handler: 503 when the sink is down; /healthz follows the sink", async () => {
  const { sink, handle } = setup();
  const health = async () => {
    const res = await handle(new Request("http://shop.test/healthz"));
    return [res.status, await res.text()];
  };
  assert.deepEqual(await health(), [200, "ok\n"]);
  sink.up = false;
  assert.deepEqual(await health(), [503, "unhealthy: not connected to Kafka\n"]);
  const r = await post(handle, JSON.stringify(product("p-down")));
  assert.equal(r.res.status, 503);
  assert.deepEqual(r.body.results, [{
    index: 0,
    product_id: "p-down",
    status: 503,
    field: "(kafka)",
    error: "input-products did not take the product: the product sink is not connected",
  }]);
  sink.up = true;
  assert.deepEqual(await health(), [200, "ok\n"]);
});

Deno.test("shop API handler: never 500 — a failing sink check is 503", async () => {
  const sink: ProductSink = {
    send: () => Promise.reject(new Error("unused")),
    healthy: () => {
      throw new Error("probe exploded");
    },
  };
  const handle = shopApiHandler({ keys: KEYS, sink });
  const res = await handle(new Request("http://shop.test/healthz"));
  assert.equal(res.status, 503);
  assert.match(await res.text(), /probe exploded/);
});

Deno.test("shop API handler: /metrics counts requests and products; other routes 404/405", async () => {
  const { handle } = setup();
  await post(handle, JSON.stringify(product("m-1")));
  await post(handle, JSON.stringify({ ...product("m-2"), stock: null }));
  const res = await handle(new Request("http://shop.test/metrics"));
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type")!, /^text\/plain/);
  const text = await res.text();
  assert.match(text, /^shop_api_requests_total\{status="202"\} \d+$/m);
  assert.match(text, /^shop_api_products_accepted_total\{store_id="store_001"\} \d+$/m);
  assert.match(text, /^shop_api_products_refused_total\{status="400",field="stock"\} \d+$/m);
  assert.match(text, /^shop_api_produce_seconds_count \d+$/m);

  const get = await handle(new Request("http://shop.test/products"));
  assert.equal(get.status, 405);
  assert.equal(get.headers.get("allow"), "POST");
  assert.deepEqual(await get.json(), { error: "use POST /products, not GET" });
  const nowhere = await handle(new Request("http://shop.test/nowhere"));
  assert.equal(nowhere.status, 404);
  assert.match((await nowhere.json()).error, /^no route \/nowhere: POST \/products/);
});
