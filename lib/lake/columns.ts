/**
 * Columns of a lake table, derived from an event's JSON Schema (lib/schemas), and a columnar
 * buffer that fills them record by record and turns them into an Apache Arrow table.
 *
 * Type mapping: `string` → Utf8; `string` with `format: date-time` → Timestamp(ms, UTC);
 * `integer` → Int64; `number` → Float64; `boolean` → Bool; `enum` of strings → Utf8; arrays
 * and objects → Utf8 holding their JSON. A property outside `required` is nullable. Every
 * table also carries where each record came from: `_partition` (Int32), `_offset` (Int64),
 * `_timestamp` (the Kafka record's, Timestamp(ms, UTC)).
 *
 * @example
 * ```ts
 * import { columnsFromSchema, ColumnBuffer } from "./columns.ts";
 * import { ORDER_SCHEMA } from "../schemas/mod.ts";
 * const buf = new ColumnBuffer(columnsFromSchema(ORDER_SCHEMA));
 * buf.append(order, { partition: 0, offset: 42n, timestamp: Date.now() });
 * const table = buf.toArrow();
 * ```
 * @module
 */
import * as arrow from "apache-arrow";

/** Lake column kinds. */
export type ColumnKind = "string" | "timestamp" | "int64" | "float64" | "bool" | "json" | "int32";

/** One column of a lake table. */
export interface Column {
  name: string;
  kind: ColumnKind;
  nullable: boolean;
}

/** Metadata columns every lake table carries. */
export const META_COLUMNS: readonly Column[] = [
  { name: "_partition", kind: "int32", nullable: false },
  { name: "_offset", kind: "int64", nullable: false },
  { name: "_timestamp", kind: "timestamp", nullable: false },
];

type JsonSchema = {
  type?: string | readonly string[];
  format?: string;
  enum?: readonly unknown[];
  properties?: Record<string, JsonSchema>;
  required?: readonly string[];
};

function kindOf(name: string, s: JsonSchema): ColumnKind {
  if (s.enum) {
    if (s.enum.every((v) => typeof v === "string")) return "string";
    if (s.enum.every((v) => Number.isInteger(v))) return "int64";
    return "json";
  }
  const types = (Array.isArray(s.type) ? s.type : [s.type]).filter((t) => t !== "null");
  if (types.length !== 1) return "json";
  switch (types[0]) {
    case "string":
      return s.format === "date-time" ? "timestamp" : "string";
    case "integer":
      return "int64";
    case "number":
      return "float64";
    case "boolean":
      return "bool";
    case "array":
    case "object":
      return "json";
    default:
      throw new RangeError(`Cannot map property '${name}' of type ${JSON.stringify(s.type)}`);
  }
}

/** Columns of an object JSON Schema's top-level properties, then {@linkcode META_COLUMNS}. */
export function columnsFromSchema(schema: unknown): Column[] {
  const s = schema as JsonSchema;
  if (!s.properties) {
    throw new RangeError("Cannot derive lake columns from a schema without 'properties'");
  }
  const required = new Set(s.required ?? []);
  const cols = Object.entries(s.properties).map(([name, p]) => {
    if (name.startsWith("_")) {
      throw new RangeError(`Property '${name}' collides with the lake's metadata columns`);
    }
    const nullable = !required.has(name) ||
      (Array.isArray(p.type) && (p.type as string[]).includes("null"));
    return { name, kind: kindOf(name, p), nullable };
  });
  return [...cols, ...META_COLUMNS];
}

/** Where a record came from. */
export interface RecordMeta {
  partition: number;
  offset: bigint;
  /** Kafka timestamp, ms since the epoch. */
  timestamp: number;
}

const enc = new TextEncoder();

class StringColumn {
  offsets = new Int32Array(1024 + 1);
  data = new Uint8Array(64 * 1024);
  valid: boolean[] = [];
  length = 0;
  pos = 0;
  push(v: string | null) {
    if (this.length + 1 >= this.offsets.length) {
      const n = new Int32Array(this.offsets.length * 2);
      n.set(this.offsets);
      this.offsets = n;
    }
    if (v !== null) {
      if (this.data.length - this.pos < v.length * 3) {
        const n = new Uint8Array(Math.max(this.data.length * 2, this.pos + v.length * 3));
        n.set(this.data.subarray(0, this.pos));
        this.data = n;
      }
      this.pos += enc.encodeInto(v, this.data.subarray(this.pos)).written;
    }
    this.valid.push(v !== null);
    this.length++;
    this.offsets[this.length] = this.pos;
  }
  get bytes() {
    return this.pos + this.length * 4;
  }
}

class NumColumn<T extends Float64Array | BigInt64Array | Int32Array | Uint8Array> {
  length = 0;
  valid: boolean[] = [];
  constructor(public values: T, readonly make: (n: number) => T) {}
  push(v: number | bigint | null) {
    if (this.length >= this.values.length) {
      const n = this.make(this.values.length * 2);
      (n as unknown as { set(a: T): void }).set(this.values);
      this.values = n;
    }
    (this.values as unknown as (number | bigint)[])[this.length] = v ??
      (this.values instanceof BigInt64Array ? 0n : 0);
    this.valid.push(v !== null);
    this.length++;
  }
}

type AnyColumn = StringColumn | NumColumn<Float64Array | BigInt64Array | Int32Array | Uint8Array>;

function newColumn(kind: ColumnKind): AnyColumn {
  switch (kind) {
    case "string":
    case "json":
      return new StringColumn();
    case "float64":
      return new NumColumn(new Float64Array(1024), (n) => new Float64Array(n));
    case "int64":
    case "timestamp":
      return new NumColumn(new BigInt64Array(1024), (n) => new BigInt64Array(n));
    case "int32":
      return new NumColumn(new Int32Array(1024), (n) => new Int32Array(n));
    case "bool":
      return new NumColumn(new Uint8Array(1024), (n) => new Uint8Array(n));
  }
}

function bitmap(valid: boolean[]): Uint8Array | undefined {
  if (valid.every(Boolean)) return undefined;
  const out = new Uint8Array(Math.ceil(valid.length / 8));
  valid.forEach((v, i) => {
    if (v) out[i >> 3] |= 1 << (i & 7);
  });
  return out;
}

function arrowType(kind: ColumnKind): arrow.DataType {
  switch (kind) {
    case "string":
    case "json":
      return new arrow.Utf8();
    case "timestamp":
      return new arrow.TimestampMillisecond("UTC");
    case "int64":
      return new arrow.Int64();
    case "int32":
      return new arrow.Int32();
    case "float64":
      return new arrow.Float64();
    case "bool":
      return new arrow.Bool();
  }
}

/** The Arrow schema of a lake table. */
export function arrowSchema(columns: readonly Column[]): arrow.Schema {
  return new arrow.Schema(
    columns.map((c) => new arrow.Field(c.name, arrowType(c.kind), c.nullable)),
  );
}

/** Raised when a valid event still cannot be put in a column (e.g. an unparsable date). */
export class ColumnError extends Error {
  override name = "ColumnError";
}

/**
 * Record-by-record column builder. Values are checked against the column kinds, so a row
 * either goes in whole or not at all.
 */
export class ColumnBuffer {
  readonly columns: readonly Column[];
  #cols: AnyColumn[];
  #rows = 0;

  constructor(columns: readonly Column[]) {
    this.columns = columns;
    this.#cols = columns.map((c) => newColumn(c.kind));
  }

  /** Rows buffered. */
  get rows(): number {
    return this.#rows;
  }

  /** Approximate bytes buffered. */
  get bytes(): number {
    let n = 0;
    for (const c of this.#cols) n += c instanceof StringColumn ? c.bytes : c.length * 8;
    return n;
  }

  #convert(col: Column, v: unknown): string | number | bigint | null {
    if (v === undefined || v === null) {
      if (!col.nullable) throw new ColumnError(`'${col.name}' is missing`);
      return null;
    }
    switch (col.kind) {
      case "string":
        if (typeof v !== "string") throw new ColumnError(`'${col.name}' is not a string`);
        return v;
      case "json":
        return JSON.stringify(v);
      case "timestamp": {
        const ms = typeof v === "number" ? v : Date.parse(String(v));
        if (!Number.isFinite(ms)) throw new ColumnError(`'${col.name}' is not a date-time: ${v}`);
        return BigInt(Math.trunc(ms));
      }
      case "int64":
        if (!Number.isSafeInteger(v)) throw new ColumnError(`'${col.name}' is not an integer`);
        return BigInt(v as number);
      case "int32":
        return v as number;
      case "float64":
        if (typeof v !== "number") throw new ColumnError(`'${col.name}' is not a number`);
        return v;
      case "bool":
        if (typeof v !== "boolean") throw new ColumnError(`'${col.name}' is not a boolean`);
        return v ? 1 : 0;
    }
  }

  /** Appends one event; throws {@linkcode ColumnError} (and appends nothing) when it does not fit. */
  append(event: Record<string, unknown>, meta: RecordMeta): void {
    const values: (string | number | bigint | null)[] = new Array(this.columns.length);
    for (let i = 0; i < this.columns.length; i++) {
      const c = this.columns[i];
      if (c.name === "_partition") values[i] = meta.partition;
      else if (c.name === "_offset") values[i] = meta.offset;
      else if (c.name === "_timestamp") values[i] = BigInt(meta.timestamp);
      else values[i] = this.#convert(c, event[c.name]);
    }
    for (let i = 0; i < values.length; i++) {
      (this.#cols[i] as { push(v: unknown): void }).push(values[i]);
    }
    this.#rows++;
  }

  /** The buffered rows as an Arrow table (the buffer stays as it is). */
  toArrow(): arrow.Table {
    const schema = arrowSchema(this.columns);
    const children = this.columns.map((c, i) => {
      const col = this.#cols[i];
      const type = schema.fields[i].type;
      const nullBitmap = bitmap(col.valid);
      if (col instanceof StringColumn) {
        return arrow.makeData({
          type: type as arrow.Utf8,
          length: col.length,
          valueOffsets: col.offsets.subarray(0, col.length + 1),
          data: col.data.subarray(0, col.pos),
          nullBitmap,
        });
      }
      if (c.kind === "bool") {
        const bits = new Uint8Array(Math.ceil(col.length / 8));
        for (let r = 0; r < col.length; r++) if (col.values[r]) bits[r >> 3] |= 1 << (r & 7);
        return arrow.makeData({
          type: type as arrow.Bool,
          length: col.length,
          data: bits,
          nullBitmap,
        });
      }
      return arrow.makeData({
        // deno-lint-ignore no-explicit-any
        type: type as any,
        length: col.length,
        data: col.values.subarray(0, col.length),
        nullBitmap,
      });
    });
    const struct = arrow.makeData({
      type: new arrow.Struct(schema.fields),
      length: this.#rows,
      children,
    });
    return new arrow.Table(schema, new arrow.RecordBatch(schema, struct));
  }
}
