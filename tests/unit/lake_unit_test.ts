/**
 * The lake's pure parts (file names, partition folders, schema → columns, Arrow/Parquet
 * encoding, topic lists, registry settings).
 */
import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import {
  ColumnBuffer,
  ColumnError,
  columnsFromSchema,
  createParquetBuffer,
  DeadLetterLedger,
  deadLetterSource,
  fileName,
  LAKE_DLQ_GROUP_HEADER,
  makeOrder,
  parseFileName,
  parseLakeTopics,
  partitionFolder,
} from "../../lib/lake/mod.ts";
import { ConfigError } from "../../lib/env/config.ts";
import { deadLetter } from "../../lib/kafka/mod.ts";
import { ORDER_SCHEMA } from "../../lib/schemas/order.ts";
import { registryConfigFromEnv, wireSchemaId } from "../../lib/course/practice7/mod.ts";

Deno.test("file names carry topic, partition and offset range, and sort by offset", () => {
  const a = fileName("orders", 2, 0n, 99n);
  const b = fileName("orders", 2, 100n, 1234567n);
  assert.equal(a, "orders+2+00000000000000000000+00000000000000000099.parquet");
  assert.ok(a < b);
  assert.deepEqual(parseFileName(b), {
    topic: "orders",
    partition: 2,
    first: 100n,
    last: 1234567n,
  });
  assert.equal(parseFileName("orders+2+1+2.parquet"), undefined);
  assert.equal(parseFileName(`${b}.123-abc.tmp`), undefined);
});

Deno.test("partition folders follow the record's UTC hour", () => {
  assert.equal(
    partitionFolder("/lake/raw/", "t", Date.UTC(2025, 11, 31, 23, 59, 59)),
    "/lake/raw/t/dt=2025-12-31/hour=23",
  );
  assert.equal(
    partitionFolder("/l", "t", Date.UTC(2026, 0, 1, 0, 0, 0)),
    "/l/t/dt=2026-01-01/hour=00",
  );
  assert.throws(() => partitionFolder("/l", "t", NaN), /Cannot place/);
});

Deno.test("columns come from the event's JSON Schema", () => {
  const cols = columnsFromSchema({
    type: "object",
    required: ["id", "n", "at"],
    properties: {
      id: { type: "string" },
      n: { type: "integer" },
      x: { type: "number" },
      ok: { type: "boolean" },
      at: { type: "string", format: "date-time" },
      kind: { enum: ["a", "b"] },
      tags: { type: "array", items: { type: "string" } },
    },
  });
  assert.deepEqual(cols.map((c) => [c.name, c.kind, c.nullable]), [
    ["id", "string", false],
    ["n", "int64", false],
    ["x", "float64", true],
    ["ok", "bool", true],
    ["at", "timestamp", false],
    ["kind", "string", true],
    ["tags", "json", true],
    ["_partition", "int32", false],
    ["_offset", "int64", false],
    ["_timestamp", "timestamp", false],
  ]);
  assert.throws(
    () => columnsFromSchema({ properties: { _offset: { type: "string" } } }),
    /collides/,
  );
});

Deno.test("the column buffer builds a typed Arrow table and refuses rows that do not fit", () => {
  const cols = columnsFromSchema(ORDER_SCHEMA);
  const buf = new ColumnBuffer(cols);
  buf.append(makeOrder(1) as unknown as Record<string, unknown>, {
    partition: 1,
    offset: 7n,
    timestamp: 1000,
  });
  assert.throws(
    () =>
      buf.append({ ...makeOrder(2), created_at: "yesterday" }, {
        partition: 1,
        offset: 8n,
        timestamp: 1000,
      }),
    ColumnError,
  );
  assert.equal(buf.rows, 1, "a refused row leaves nothing behind");
  const table = buf.toArrow();
  assert.equal(table.numRows, 1);
  const types = Object.fromEntries(table.schema.fields.map((f) => [f.name, String(f.type)]));
  assert.equal(types.total_price, "Float64");
  assert.equal(types._offset, "Int64");
  assert.ok(
    table.schema.fields.find((f) => f.name === "created_at")!.type instanceof arrow.Timestamp,
  );
  const row = table.get(0)!.toJSON();
  assert.equal(row.order_id, "o-1");
  assert.equal(row._offset, 7n);
  assert.equal(row.created_at, Date.parse(makeOrder(1).created_at));
  assert.equal(JSON.parse(row.items as string)[0].product_id, "p-1");
});

Deno.test("every Parquet writer produces a Parquet file (magic bytes at both ends)", async () => {
  const cols = columnsFromSchema(ORDER_SCHEMA);
  for (const writer of ["parquet-wasm", "dsnp-parquetjs", "parquetjs"] as const) {
    const buf = await createParquetBuffer(writer, cols);
    for (let i = 0; i < 10; i++) {
      buf.append(makeOrder(i) as unknown as Record<string, unknown>, {
        partition: 0,
        offset: BigInt(i),
        timestamp: 0,
      });
    }
    const bytes = await buf.encode();
    const magic = new TextDecoder().decode(bytes.subarray(0, 4));
    assert.equal(magic, "PAR1", writer);
    assert.equal(new TextDecoder().decode(bytes.subarray(bytes.length - 4)), "PAR1", writer);
  }
  const empty = await createParquetBuffer("parquet-wasm", cols);
  assert.equal(
    new TextDecoder().decode((await empty.encode()).subarray(0, 4)),
    "PAR1",
    "a file of no rows",
  );
});

Deno.test("LAKE_TOPICS is parsed and bad values are named", () => {
  assert.deepEqual(parseLakeTopics("orders=order, hadoop-topic=hadoop-event").map((t) => t.topic), [
    "orders",
    "hadoop-topic",
  ]);
  assert.throws(
    () => parseLakeTopics("orders"),
    (e) => e instanceof ConfigError && /topic=schema/.test(e.message),
  );
  assert.throws(() => parseLakeTopics("orders=nope"), /'nope' is not a lake schema/);
});

Deno.test("registry config from env and the wire-format header", () => {
  const env = (vars: Record<string, string>) => ({ get: (k: string) => vars[k] });
  assert.equal(
    registryConfigFromEnv(env({ KAFKA_SCHEMA_REGISTRY_URL: "schema-registry:8081" })).url,
    "http://schema-registry:8081",
  );
  assert.throws(
    () =>
      registryConfigFromEnv(
        env({ KAFKA_SCHEMA_REGISTRY_URL: "http://r", SCHEMA_REGISTRY_USERNAME: "u" }),
      ),
    /must be set together/,
  );
  assert.throws(
    () =>
      registryConfigFromEnv(
        env({ KAFKA_SCHEMA_REGISTRY_URL: "http://r", SCHEMA_REGISTRY_CA_FILE: "/nope.pem" }),
      ),
    /SCHEMA_REGISTRY_CA_FILE .* '\/nope.pem'/,
  );
  assert.equal(wireSchemaId(new Uint8Array([0, 0, 0, 1, 2, 9])), 258);
  assert.equal(wireSchemaId(new Uint8Array([1, 0, 0, 1, 2, 9])), undefined);
});

Deno.test("the lake's dead-letter ledger: only its own group's dead letters, exact offsets, pruned on commit", () => {
  const letter = (offset: string, group?: string) => {
    const d = deadLetter(
      { topic: "orders", partition: 2, offset, key: null, value: new Uint8Array([1]) },
      "bad total_price",
      "validate",
    );
    // As kafkajs reads them back: header values are bytes.
    const headers: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(d.headers)) headers[k] = Buffer.from(v);
    if (group) headers[LAKE_DLQ_GROUP_HEADER] = Buffer.from(group);
    return headers;
  };
  assert.deepEqual(deadLetterSource(letter("41", "lake"), "lake"), {
    topic: "orders",
    partition: 2,
    offset: 41n,
  });
  // Another writer of the same DLQ (no header, or another group) is not this sink's.
  assert.equal(deadLetterSource(letter("41"), "lake"), undefined);
  assert.equal(deadLetterSource(letter("41", "other"), "lake"), undefined);
  assert.equal(deadLetterSource(letter("x", "lake"), "lake"), undefined);
  assert.equal(deadLetterSource(undefined, "lake"), undefined);

  const ledger = new DeadLetterLedger();
  // Acknowledged out of order (dead letters spread over DLQ partitions): 50 without 10.
  ledger.add("orders", 2, 50n);
  assert.equal(ledger.has("orders", 2, 50n), true);
  assert.equal(ledger.has("orders", 2, 10n), false, "an earlier offset not acknowledged is sent");
  assert.equal(ledger.has("orders", 1, 50n), false, "per source partition");
  assert.equal(ledger.has("other", 2, 50n), false, "per source topic");
  const restored = new DeadLetterLedger();
  restored.add("orders", 2, 10n);
  restored.add("orders", 0, 7n);
  ledger.merge(restored);
  assert.equal(ledger.size, 3);
  assert.equal(ledger.has("orders", 2, 10n), true);
  ledger.prune("orders", 2, 50n);
  assert.equal(ledger.has("orders", 2, 10n), false, "committed offsets are forgotten");
  assert.equal(ledger.has("orders", 2, 50n), true, "the committed offset itself is kept");
  assert.equal(ledger.has("orders", 0, 7n), true, "other partitions untouched");
});
