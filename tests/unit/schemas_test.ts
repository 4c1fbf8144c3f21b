import assert from "node:assert/strict";
import { DeserializationError, orderCodec, SerializationError } from "../../lib/schemas/mod.ts";
import { sampleOrder, unserializableOrder } from "../../lib/course/practice2/producer.ts";

const enc = new TextEncoder();

Deno.test("an order round-trips through its codec", () => {
  const order = sampleOrder(7);
  assert.deepEqual(orderCodec.decode(orderCodec.encode(order)), order);
});

Deno.test("the producer's deliberately bad order is refused before sending", () => {
  assert.throws(() => orderCodec.encode(unserializableOrder()), (e: Error) => {
    assert.ok(e instanceof SerializationError);
    assert.match(e.message, /total_price must be number/);
    return true;
  });
});

Deno.test("decoding names the stage and the field that is wrong", () => {
  const cases: [Uint8Array | null, "decode" | "validate", RegExp][] = [
    [enc.encode("{not json"), "decode", /not valid UTF-8 JSON/],
    [new Uint8Array([0xff, 0xfe, 0x7b]), "decode", /not valid UTF-8 JSON/],
    [null, "decode", /tombstone/],
    [
      enc.encode(JSON.stringify({ ...sampleOrder(1), items: [] })),
      "validate",
      /\/items must NOT have fewer than 1 items/,
    ],
    [
      enc.encode(JSON.stringify({ ...sampleOrder(1), user_id: 5 })),
      "validate",
      /\/user_id must be string/,
    ],
    [
      enc.encode(JSON.stringify({ ...sampleOrder(1), status: "lost" })),
      "validate",
      /\/status must be equal to one of the allowed values \(created, paid, shipped, cancelled\)/,
    ],
    [
      enc.encode(JSON.stringify({ ...sampleOrder(1), extra: 1 })),
      "validate",
      /must NOT have additional properties 'extra'/,
    ],
    [
      enc.encode(JSON.stringify({ ...sampleOrder(1), created_at: "yesterday" })),
      "validate",
      /\/created_at must match format "date-time"/,
    ],
  ];
  for (const [bytes, stage, message] of cases) {
    assert.throws(() => orderCodec.decode(bytes), (e: Error) => {
      assert.ok(e instanceof DeserializationError, `${e}`);
      assert.equal(e.stage, stage);
      assert.match(e.message, message);
      return true;
    });
  }
});
