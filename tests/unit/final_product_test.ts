/**
 * The product schema (lib/schemas/product.ts) and the catalogue (lib/marketplace/catalog.ts):
 * Unicode accepted in every text field, each constraint refused with the field named, the
 * seeded generator reproducible, and the sample file products.json valid as it is on disk.
 */
import assert from "node:assert/strict";
import { type Product, productCodec } from "../../lib/schemas/mod.ts";
import { generateProducts, sampleProducts, STORES } from "../../lib/marketplace/mod.ts";

const base = (): Product => sampleProducts()[0];

Deno.test("product schema: Unicode everywhere is accepted and survives encode/decode", () => {
  const texts = [
    "Смартфон «Покупай выгодно»",
    "📱🔥 emoji",
    "智能手机 中文",
    "quotes \"double\" 'single' `back`",
    "ﬁ ligature, RTL שלום, e\u0301",
  ];
  for (const t of texts) {
    const p: Product = {
      ...base(),
      product_id: `id-${t}`,
      name: t,
      description: `${t}\n${t}`,
      category: t,
      brand: t,
      sku: t,
      tags: [t, t.toUpperCase()],
      images: [{ url: `https://example.com/${encodeURIComponent(t)}.jpg`, alt: t }],
      specifications: { [t]: t },
      index: t,
      store_id: t,
    };
    const r = productCodec.validate(p);
    assert.ok(r.ok, `${t}: ${!r.ok && r.error}`);
    assert.deepEqual(productCodec.decode(productCodec.encode(p)), p);
  }
});

Deno.test("product schema: each constraint is refused with its field named", () => {
  const { product_id: _, ...noId } = base();
  const cases: [string, unknown, RegExp][] = [
    ["missing product_id", noId, /product_id/],
    ["product_id a number", { ...base(), product_id: 78490 }, /\/product_id/],
    ["empty name", { ...base(), name: "" }, /\/name/],
    [
      "price.amount a string",
      { ...base(), price: { amount: "10", currency: "RUB" } },
      /\/price\/amount/,
    ],
    [
      "price.amount negative",
      { ...base(), price: { amount: -0.01, currency: "RUB" } },
      /\/price\/amount/,
    ],
    [
      "currency not 3 letters",
      { ...base(), price: { amount: 1, currency: "rub" } },
      /\/price\/currency/,
    ],
    ["stock null", { ...base(), stock: null }, /\/stock/],
    [
      "stock.available fractional",
      { ...base(), stock: { available: 1.5, reserved: 0 } },
      /\/stock\/available/,
    ],
    [
      "stock.reserved negative",
      { ...base(), stock: { available: 1, reserved: -1 } },
      /\/stock\/reserved/,
    ],
    ["tag not a string", { ...base(), tags: ["ok", 3] }, /\/tags\/1/],
    ["image without alt", { ...base(), images: [{ url: "https://x/y.jpg" }] }, /\/images\/0/],
    [
      "specification not a string",
      { ...base(), specifications: { weight: 150 } },
      /\/specifications\/weight/,
    ],
    ["created_at not a date-time", { ...base(), created_at: "yesterday" }, /\/created_at/],
    [
      "updated_at not a date-time",
      { ...base(), updated_at: "2025-13-01T00:00:00Z" },
      /\/updated_at/,
    ],
    ["unknown field", { ...base(), colour: "red" }, /colour/],
    [
      "description over 100,000 characters",
      { ...base(), description: "д".repeat(100_001) },
      /\/description/,
    ],
  ];
  for (const [what, value, field] of cases) {
    const r = productCodec.validate(value);
    assert.equal(r.ok, false, `${what} is refused`);
    assert.match((r as { error: string }).error, field, what);
  }
});

Deno.test("generator: the same seed gives the same products, another seed others; all valid", () => {
  const a = generateProducts(200, { seed: 42 });
  const b = generateProducts(200, { seed: 42 });
  const c = generateProducts(200, { seed: 43 });
  assert.equal(a.length, 200);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.map((p) => p.name), c.map((p) => p.name));
  assert.equal(new Set(a.map((p) => p.product_id)).size, 200, "ids are unique");
  assert.ok(a.every((p) => p.product_id.startsWith("gen-42-")));
  for (const p of a) {
    const r = productCodec.validate(p);
    assert.ok(r.ok, `${p.product_id}: ${!r.ok && r.error}`);
  }
  assert.deepEqual(new Set(a.map((p) => p.store_id)), new Set(STORES), "round robin over stores");
  assert.ok(new Set(a.map((p) => p.category)).size > 3 && new Set(a.map((p) => p.brand)).size > 3);
  assert.deepEqual(generateProducts(0), []);
});

Deno.test("the sample products.json on disk is valid: a few dozen products over several stores, categories and brands", async () => {
  const file: unknown[] = JSON.parse(
    await Deno.readTextFile(new URL("../../lib/marketplace/products.json", import.meta.url)),
  );
  assert.ok(file.length >= 24, `${file.length} products`);
  for (const p of file) {
    const r = productCodec.validate(p);
    assert.ok(r.ok, `${(p as Product).product_id}: ${!r.ok && r.error}`);
  }
  const products = file as Product[];
  assert.equal(new Set(products.map((p) => p.product_id)).size, products.length, "ids unique");
  assert.ok(new Set(products.map((p) => p.store_id)).size >= 3);
  assert.ok(new Set(products.map((p) => p.category)).size >= 3);
  assert.ok(new Set(products.map((p) => p.brand)).size >= 3);
  assert.ok(products.some((p) => /[А-Яа-яЁё]/.test(p.name + p.description)), "Cyrillic text");
  assert.deepEqual(sampleProducts(), products, "sampleProducts() is the file");
});
