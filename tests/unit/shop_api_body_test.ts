/**
 * The SHOP API's body, in memory: one product, a JSON array and NDJSON parsed into records;
 * invalid UTF-8 found at its byte; each refused record naming its field — schema (400), another
 * store's `store_id` (403), a product over the record limit (413, naming its largest field).
 */
import assert from "node:assert/strict";
import {
  checkRecord,
  fieldOfError,
  invalidUtf8Offset,
  MAX_PRODUCT_BYTES,
  MAX_PRODUCT_VALUE_BYTES,
  parseProductsBody,
  sampleProducts,
} from "../../lib/marketplace/mod.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);
const bytes = (...parts: (string | number[])[]) =>
  new Uint8Array(parts.flatMap((p) => typeof p === "string" ? [...utf8(p)] : p));

function product(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...sampleProducts()[0], store_id: "store_001", ...extra };
}

Deno.test("invalidUtf8Offset: -1 for valid UTF-8, else the first bad byte", () => {
  assert.equal(invalidUtf8Offset(utf8("")), -1);
  assert.equal(invalidUtf8Offset(utf8("ascii, кириллица, 中文, 😀")), -1);
  assert.equal(invalidUtf8Offset(bytes("ab", [0xff])), 2);
  assert.equal(invalidUtf8Offset(bytes("a", [0xc3, 0x28])), 1, "a lead byte without its tail");
  assert.equal(invalidUtf8Offset(bytes("ab", [0xe2, 0x82])), 2, "a sequence cut short");
  assert.equal(invalidUtf8Offset(bytes([0xc0, 0xaf])), 0, "overlong two-byte form");
  assert.equal(invalidUtf8Offset(bytes("x", [0xe0, 0x80, 0xaf])), 1, "overlong three-byte form");
  assert.equal(invalidUtf8Offset(bytes([0xed, 0xa0, 0x80])), 0, "a UTF-16 surrogate");
  assert.equal(invalidUtf8Offset(bytes([0xf4, 0x90, 0x80, 0x80])), 0, "above U+10FFFF");
  assert.equal(invalidUtf8Offset(bytes("д", [0x80])), 2, "a stray continuation byte");
});

Deno.test("parseProductsBody: one product, a JSON array, NDJSON by type or by shape", () => {
  const one = parseProductsBody(utf8('{"product_id": "p1"}'));
  assert.deepEqual(one, {
    ok: true,
    format: "single",
    records: [{ index: 0, value: { product_id: "p1" } }],
  });
  const array = parseProductsBody(utf8('[{"a": 1}, 2]'), "application/json");
  assert.deepEqual(array, {
    ok: true,
    format: "array",
    records: [{ index: 0, value: { a: 1 } }, { index: 1, value: 2 }],
  });
  // NDJSON without its content type: several JSON lines are not one JSON value.
  const lines = parseProductsBody(utf8('{"a": 1}\r\n{"b": 2}\n'));
  assert.deepEqual(lines, {
    ok: true,
    format: "ndjson",
    records: [{ index: 0, line: 1, value: { a: 1 } }, { index: 1, line: 2, value: { b: 2 } }],
  });
  // With its content type: blank lines skipped, a bad line refused on its own, lines counted.
  const typed = parseProductsBody(utf8('{"a": 1}\n\n{bad\n{"b": 2}'), "application/x-ndjson");
  assert.ok(typed.ok);
  assert.deepEqual(typed.records.map((r) => [r.index, r.line, "value" in r]), [
    [0, 1, true],
    [1, 3, false],
    [2, 4, true],
  ]);
  const bad = typed.records[1];
  assert.ok("error" in bad);
  assert.equal(bad.field, "(record)");
  assert.match(bad.error, /^line 3 is not JSON: /);
  assert.equal(parseProductsBody(utf8("[1]"), "application/jsonl; charset=utf-8").ok, true);
});

Deno.test("parseProductsBody: a body refused as a whole names the field 'body'", () => {
  const refused = (body: Uint8Array, type?: string) => {
    const r = parseProductsBody(body, type);
    assert.ok(!r.ok, JSON.stringify(r));
    assert.equal(r.status, 400);
    assert.equal(r.field, "body");
    return r.error;
  };
  assert.match(refused(utf8("")), /^body is empty: send one product/);
  assert.match(refused(utf8(" \r\n\t")), /^body is empty/);
  assert.match(refused(utf8("\n"), "application/x-ndjson"), /^body is empty/);
  assert.equal(refused(utf8("[]")), "body is an empty array: no products");
  assert.match(refused(utf8("{not json")), /^body is not JSON: /);
  assert.equal(refused(bytes('"a', [0xc3, 0x28], '"')), "body is not valid UTF-8 (byte 2)");
});

Deno.test("parseProductsBody: invalid UTF-8 in one NDJSON line refuses that line only", () => {
  const body = bytes('{"a": 1}\n', '{"b": "', [0xff, 0xfe], '"}\n', '{"c": 3}');
  const parsed = parseProductsBody(body);
  assert.ok(parsed.ok);
  assert.equal(parsed.format, "ndjson");
  assert.equal(parsed.records.length, 3);
  const bad = parsed.records[1];
  assert.ok("error" in bad);
  assert.deepEqual(bad, {
    index: 1,
    line: 2,
    field: "(record)",
    error: "line 2 is not valid UTF-8 (byte 7 of the line)",
  });
  assert.deepEqual(parsed.records[2], { index: 2, line: 3, value: { c: 3 } });
});

Deno.test("fieldOfError: the schema's error as a dotted field", () => {
  assert.equal(fieldOfError("/price/amount must be number"), "price.amount");
  assert.equal(fieldOfError("/ must have required property 'product_id'"), "product_id");
  assert.equal(fieldOfError("/price must have required property 'currency'"), "price.currency");
  assert.equal(fieldOfError("/ must NOT have additional properties 'colour'"), "colour");
  assert.equal(fieldOfError("/stock must be object; /x must be y"), "stock");
  assert.equal(fieldOfError(" must be object"), "(record)");
});

Deno.test("checkRecord: a valid product passes, as the JSON bytes produced", () => {
  const p = product();
  const r = checkRecord(p, "store_001");
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(r.product, p);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(r.value)), p);
});

Deno.test("checkRecord: each malformed product names its field (400)", () => {
  const { product_id: _, ...noId } = product();
  const cases: [string, unknown, string][] = [
    ["a string", "x", "(record)"],
    ["an array", [product()], "(record)"],
    ["null", null, "(record)"],
    ["product_id missing", noId, "product_id"],
    ["store_id missing", product({ store_id: undefined }), "store_id"],
    ["product_id a number", product({ product_id: 78490 }), "product_id"],
    ["price.amount a string", product({ price: { amount: "1", currency: "RUB" } }), "price.amount"],
    ["price.amount negative", product({ price: { amount: -1, currency: "RUB" } }), "price.amount"],
    ["stock null", product({ stock: null }), "stock"],
    ["an unknown field", product({ colour: "red" }), "colour"],
  ];
  for (const [what, value, field] of cases) {
    const r = checkRecord(value, "store_001");
    assert.ok(!r.ok, what);
    assert.equal(r.status, 400, what);
    assert.equal(r.field, field, `${what}: ${r.error}`);
    assert.ok(r.error.length > 0, what);
  }
  const kind = checkRecord([], "store_001");
  assert.ok(!kind.ok);
  assert.equal(kind.error, "a product must be a JSON object, not an array");
});

Deno.test("checkRecord: another store's product is 403 on store_id", () => {
  const r = checkRecord(product({ store_id: "store_002" }), "store_001");
  assert.deepEqual(r, {
    ok: false,
    status: 403,
    field: "store_id",
    error: "store_id 'store_002' is not yours: this key belongs to store 'store_001'",
  });
});

Deno.test("checkRecord: a product over the record limit is 413 naming its largest field", () => {
  assert.equal(MAX_PRODUCT_VALUE_BYTES, MAX_PRODUCT_BYTES - 1_024);
  const big = product({ description: "д".repeat(MAX_PRODUCT_VALUE_BYTES / 2) });
  const r = checkRecord(big, "store_001");
  assert.ok(!r.ok);
  assert.equal(r.status, 413);
  assert.equal(r.field, "description");
  assert.match(r.error, /over the 1047552 bytes a record of input-products may hold/);
  assert.match(r.error, new RegExp(`field 'description' alone is ${MAX_PRODUCT_VALUE_BYTES + 2}`));
  // The limit is the serialized product's bytes, not its characters; and it can be lowered.
  const small = checkRecord(product(), "store_001", 100);
  assert.ok(!small.ok);
  assert.equal(small.status, 413);
});
