/**
 * Parquet encoders for the lake, behind one interface so the sink and the benchmark can use
 * any of them: `parquet-wasm` (Rust's parquet crate compiled to WebAssembly, fed an Apache
 * Arrow table built column by column — the lake's default, the fastest measured here) and
 * the pure-JavaScript, row-based `@dsnp/parquetjs` and `parquetjs`.
 * All write Snappy-compressed Parquet with the column types of {@linkcode ./columns.ts}.
 *
 * @example
 * ```ts
 * import { createParquetBuffer } from "./parquet.ts";
 * const buf = createParquetBuffer("parquet-wasm", columns);
 * buf.append(event, { partition: 0, offset: 7n, timestamp: Date.now() });
 * const bytes = await buf.encode(); // a complete Parquet file
 * ```
 * @module
 */
import * as arrow from "apache-arrow";
import * as pw from "parquet-wasm";
import { Writable } from "node:stream";
import { type Column, ColumnBuffer, ColumnError, type RecordMeta } from "./columns.ts";

/** The Parquet writers the lake can use. */
export const PARQUET_WRITERS = ["parquet-wasm", "dsnp-parquetjs", "parquetjs"] as const;

/** One of {@linkcode PARQUET_WRITERS}. */
export type ParquetWriterName = typeof PARQUET_WRITERS[number];

/** Rows waiting to become one Parquet file. */
export interface ParquetBuffer {
  readonly writer: ParquetWriterName;
  /** Rows buffered. */
  readonly rows: number;
  /** Approximate bytes buffered. */
  readonly bytes: number;
  /** Appends an event; throws {@linkcode ColumnError} when it does not fit the columns. */
  append(event: Record<string, unknown>, meta: RecordMeta): void;
  /** The buffered rows as one complete Parquet file. */
  encode(): Promise<Uint8Array>;
}

class ArrowWasmBuffer implements ParquetBuffer {
  readonly writer = "parquet-wasm" as const;
  readonly #buf: ColumnBuffer;
  constructor(columns: readonly Column[]) {
    this.#buf = new ColumnBuffer(columns);
  }
  get rows() {
    return this.#buf.rows;
  }
  get bytes() {
    return this.#buf.bytes;
  }
  append(event: Record<string, unknown>, meta: RecordMeta) {
    this.#buf.append(event, meta);
  }
  encode(): Promise<Uint8Array> {
    const ipc = arrow.tableToIPC(this.#buf.toArrow(), "stream");
    const table = pw.Table.fromIPCStream(ipc);
    const props = new pw.WriterPropertiesBuilder()
      .setCompression(pw.Compression.SNAPPY)
      .setMaxRowGroupSize(1_000_000)
      .build();
    return Promise.resolve(pw.writeParquet(table, props));
  }
}

// deno-lint-ignore no-explicit-any
type ParquetJsModule = any;

const PARQUETJS_TYPES: Record<Column["kind"], string> = {
  string: "UTF8",
  json: "UTF8",
  timestamp: "TIMESTAMP_MILLIS",
  int64: "INT64",
  int32: "INT32",
  float64: "DOUBLE",
  bool: "BOOLEAN",
};

class ParquetJsBuffer implements ParquetBuffer {
  readonly #rows: Record<string, unknown>[] = [];
  #bytes = 0;
  readonly #columns: readonly Column[];
  constructor(
    readonly writer: "dsnp-parquetjs" | "parquetjs",
    columns: readonly Column[],
    readonly lib: ParquetJsModule,
  ) {
    this.#columns = columns;
  }
  get rows() {
    return this.#rows.length;
  }
  get bytes() {
    return this.#bytes;
  }
  append(event: Record<string, unknown>, meta: RecordMeta) {
    const row: Record<string, unknown> = {};
    for (const c of this.#columns) {
      if (c.name === "_partition") row[c.name] = meta.partition;
      else if (c.name === "_offset") row[c.name] = meta.offset;
      else if (c.name === "_timestamp") row[c.name] = new Date(meta.timestamp);
      else {
        const v = event[c.name];
        if (v === undefined || v === null) {
          if (!c.nullable) throw new ColumnError(`'${c.name}' is missing`);
          continue;
        }
        if (c.kind === "json") row[c.name] = JSON.stringify(v);
        else if (c.kind === "timestamp") {
          const d = new Date(v as string);
          if (!Number.isFinite(d.getTime())) {
            throw new ColumnError(`'${c.name}' is not a date-time: ${v}`);
          }
          row[c.name] = d;
        } else if (c.kind === "int64") row[c.name] = BigInt(v as number);
        else row[c.name] = v;
      }
    }
    this.#rows.push(row);
    this.#bytes += 16 * this.#columns.length;
  }
  async encode(): Promise<Uint8Array> {
    const fields: Record<string, unknown> = {};
    for (const c of this.#columns) {
      fields[c.name] = {
        type: PARQUETJS_TYPES[c.kind],
        optional: c.nullable,
        compression: "SNAPPY",
      };
    }
    const schema = new this.lib.ParquetSchema(fields);
    const chunks: Uint8Array[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        chunks.push(new Uint8Array(chunk));
        cb();
      },
    });
    // parquetjs closes its output as a file stream does.
    Object.assign(sink, { close: (cb: () => void) => sink.end(cb) });
    const w = await this.lib.ParquetWriter.openStream(schema, sink, {
      rowGroupSize: Math.max(1, this.#rows.length),
    });
    for (const r of this.#rows) await w.appendRow(r);
    await w.close();
    const total = chunks.reduce((s, c) => s + c.length, 0);
    const out = new Uint8Array(total);
    let pos = 0;
    for (const c of chunks) {
      out.set(c, pos);
      pos += c.length;
    }
    return out;
  }
}

let dsnp: ParquetJsModule | undefined;
let classic: ParquetJsModule | undefined;

/** Loads the row-based writers on first use (they are large and only the benchmark needs them). */
export async function loadParquetJs(
  writer: "dsnp-parquetjs" | "parquetjs",
): Promise<ParquetJsModule> {
  if (writer === "dsnp-parquetjs") {
    dsnp ??= await import("@dsnp/parquetjs");
    return dsnp.default ?? dsnp;
  }
  classic ??= await import("parquetjs");
  return classic.default ?? classic;
}

/** Creates an empty buffer for one Parquet file written by `writer`. */
export async function createParquetBuffer(
  writer: ParquetWriterName,
  columns: readonly Column[],
): Promise<ParquetBuffer> {
  if (writer === "parquet-wasm") return new ArrowWasmBuffer(columns);
  if (writer === "dsnp-parquetjs" || writer === "parquetjs") {
    return new ParquetJsBuffer(writer, columns, await loadParquetJs(writer));
  }
  throw new RangeError(
    `Cannot write Parquet as 'writer' must be one of ${
      PARQUET_WRITERS.join(", ")
    }: current value is '${writer}'`,
  );
}
