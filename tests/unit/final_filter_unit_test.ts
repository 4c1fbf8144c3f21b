/**
 * Pure checks of the product filter's pieces: what it decodes or refuses, the row it writes
 * for the JDBC sink, and the connector configs (overrides to cluster A, read_committed).
 */
import assert from "node:assert/strict";
import {
  clientOverrides,
  decodeProduct,
  FINAL_ACLS,
  FINAL_TOPICS,
  forbiddenConnectorConfig,
  MAX_FILTER_BYTES,
  PRODUCT_ROW_SCHEMA,
  productRow,
  productRowKey,
  productsSinkConfig,
  TOPICS,
} from "../../lib/marketplace/mod.ts";
import { DeserializationError, type Product } from "../../lib/schemas/mod.ts";

const product: Product = {
  product_id: "p-1",
  name: "Чайник «Уют» 🫖",
  description: "電気ケトル, 1.7 л",
  price: { amount: 1999.5, currency: "RUB" },
  category: "Кухня",
  brand: "Уют",
  stock: { available: 5, reserved: 1 },
  sku: "UYT-1",
  tags: ["чайник", "кухня"],
  images: [{ url: "https://example.com/1.jpg", alt: "чайник" }],
  specifications: { "объём": "1.7 л" },
  created_at: "2025-01-01T10:00:00Z",
  updated_at: "2025-01-02T10:00:00+03:00",
  index: "products",
  store_id: "store_001",
};
const enc = (v: unknown) => new TextEncoder().encode(typeof v === "string" ? v : JSON.stringify(v));

Deno.test("decodeProduct accepts a valid product and refuses bad bytes with a reason", () => {
  assert.deepEqual(decodeProduct(enc(product)), product);
  const refused: [string, Uint8Array | null, RegExp][] = [
    ["null", null, /no value/],
    ["not JSON", enc("{oops"), /./],
    ["invalid UTF-8", new Uint8Array([0x7b, 0xff, 0x7d]), /./],
    ["missing field", enc({ ...product, name: undefined }), /name/],
    ["product_id a number", enc({ ...product, product_id: 1 }), /product_id/],
    ["negative amount", enc({ ...product, price: { amount: -1, currency: "RUB" } }), /amount/],
    ["stock null", enc({ ...product, stock: null }), /stock/],
    ["oversize", enc({ ...product, description: "x".repeat(MAX_FILTER_BYTES) }), /over the limit/],
  ];
  for (const [what, bytes, reason] of refused) {
    assert.throws(() => decodeProduct(bytes), (e: Error) => {
      assert.ok(e instanceof DeserializationError, `${what}: ${e}`);
      assert.match(e.message, reason, what);
      return true;
    });
  }
});

Deno.test("productRow flattens a product into the Connect envelope the JDBC sink needs", () => {
  const row = JSON.parse(productRow(product));
  assert.deepEqual(row.schema, JSON.parse(JSON.stringify(PRODUCT_ROW_SCHEMA)));
  assert.equal(row.payload.price_amount, 1999.5);
  assert.equal(row.payload.stock_reserved, 1);
  assert.deepEqual(JSON.parse(row.payload.specifications), { "объём": "1.7 л" });
  assert.equal(row.payload.updated_at, "2025-01-02T07:00:00.000Z");
  const fields = row.schema.fields.map((f: { field: string }) => f.field);
  assert.deepEqual(Object.keys(row.payload).sort(), [...fields].sort());
  assert.deepEqual(JSON.parse(productRowKey("p-1")).payload, { product_id: "p-1" });
});

const props = {
  "bootstrap.servers": "a:9094",
  "security.protocol": "SASL_SSL",
  "sasl.mechanism": "PLAIN",
};

Deno.test("connectors reach cluster A through client overrides; the sink reads committed data", () => {
  assert.deepEqual(clientOverrides({ a: "1" }, ["producer", "admin"]), {
    "producer.override.a": "1",
    "admin.override.a": "1",
  });
  const src = forbiddenConnectorConfig({
    postgresUrl: "postgres://u:p@h:5432/x",
    kafkaProperties: props,
  });
  assert.equal(src["database.dbname"], "analytics");
  assert.equal(src["transforms.route.replacement"], TOPICS.forbiddenProducts);
  assert.equal(src["producer.override.bootstrap.servers"], "a:9094");
  assert.equal(src["producer.override.security.protocol"], "SASL_SSL");
  assert.match(src["offsets.storage.topic"], /^connect-/);
  const sink = productsSinkConfig({
    postgresUrl: "postgres://u:p@h:5432/x",
    kafkaProperties: props,
  });
  assert.equal(sink.topics, TOPICS.productsConnect);
  assert.equal(sink["consumer.override.isolation.level"], "read_committed");
  assert.equal(sink["delete.enabled"], "true");
  assert.match(sink["connection.url"], /\/analytics$/);
});

Deno.test("the declared topology has what the filter and Connect need", () => {
  const has = (p: string, topic: string, op: string) =>
    FINAL_ACLS.some((a) =>
      a.principal === `User:${p}` && a.resourceName === topic && a.operation === op
    );
  assert.ok(has("product-filter", TOPICS.productsConnect, "WRITE"));
  assert.ok(has("product-filter", TOPICS.forbiddenProducts, "READ"));
  assert.ok(has("connect", TOPICS.productsConnect, "READ"));
  assert.ok(has("connect", TOPICS.forbiddenProducts, "WRITE"));
  assert.ok(!has("connect", TOPICS.products, "WRITE"));
  const dlq = FINAL_TOPICS.find((t) => t.topic === TOPICS.inputProductsDlq)!;
  assert.ok(Number(dlq.config!["max.message.bytes"]) > MAX_FILTER_BYTES);
});
