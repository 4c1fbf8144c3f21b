/**
 * The wire format of the SHOP API's `POST /products`: the body a store sends — one product, a
 * JSON array, or NDJSON — parsed into records ({@linkcode parseProductsBody}, with the offset of
 * invalid UTF-8), each record checked for its store, size and schema ({@linkcode checkRecord},
 * naming the field at fault), and the shape of the reply ({@linkcode ShopApiReply}). Pure: no
 * I/O, so every refusal can be tested in memory.
 *
 * @example
 * ```ts
 * import { checkRecord, parseProductsBody } from "./body.ts";
 * const parsed = parseProductsBody(new TextEncoder().encode('{"product_id": "p1"}'));
 * const first = parsed.ok ? parsed.records[0] : undefined;
 * if (first && "value" in first) console.log(checkRecord(first.value, "store_001"));
 * ```
 * @module
 */
import { type Product, productCodec } from "../../schemas/mod.ts";
import { MAX_PRODUCT_BYTES } from "../topology.ts";

/** HTTP status of one record. */
export type RecordStatus = 202 | 400 | 403 | 413 | 503;

/** What happened to one record of a request. */
export interface RecordResult {
  /** Position of the record in the request (0-based). */
  index: number;
  status: RecordStatus;
  /** Line of the record in an NDJSON body (1-based). */
  line?: number;
  product_id?: string;
  /** Where the product was written (202). */
  partition?: number;
  offset?: string;
  /** The field at fault (`price.amount`, `store_id`, `description`, `body`…). */
  field?: string;
  /** Why the record was refused. */
  error?: string;
}

/** The body of every `POST /products` reply (401 aside). */
export interface ShopApiReply {
  request_id: string;
  store_id: string;
  accepted: number;
  refused: number;
  results: RecordResult[];
}

/** Bytes of a record's value reserved for the batch header, key and headers under the limit. */
const RECORD_OVERHEAD = 1_024;

/** Largest product value (bytes) the SHOP API produces: the topic's limit minus overhead. */
export const MAX_PRODUCT_VALUE_BYTES = MAX_PRODUCT_BYTES - RECORD_OVERHEAD;

/** One record of a parsed body: a JSON value, or why its line could not be read. */
export type RawRecord =
  | { index: number; line?: number; value: unknown }
  | { index: number; line?: number; error: string; field: string };

/** A parsed body, or why the body as a whole is refused. */
export type ParsedBody =
  | { ok: true; format: "single" | "array" | "ndjson"; records: RawRecord[] }
  | { ok: false; status: 400 | 413; field: string; error: string };

const fatal = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/** Offset of the first byte that breaks UTF-8, or -1 when `bytes` is valid UTF-8. */
export function invalidUtf8Offset(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    const n = b < 0x80
      ? 0
      : b >= 0xc2 && b <= 0xdf
      ? 1
      : b >= 0xe0 && b <= 0xef
      ? 2
      : b >= 0xf0 && b <= 0xf4
      ? 3
      : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
    }
    if (n === 2) {
      const c = bytes[i + 1];
      if ((b === 0xe0 && c < 0xa0) || (b === 0xed && c > 0x9f)) return i; // overlong, surrogate
    } else if (n === 3) {
      const c = bytes[i + 1];
      if ((b === 0xf0 && c < 0x90) || (b === 0xf4 && c > 0x8f)) return i; // overlong, > U+10FFFF
    }
    i += n + 1;
  }
  return -1;
}

const NDJSON_TYPES = /application\/(x-)?(ndjson|jsonl|jsonlines|x-jsonlines)/i;

function parseNdjson(bytes: Uint8Array): ParsedBody {
  const records: RawRecord[] = [];
  let start = 0;
  let line = 0;
  while (start <= bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    line++;
    let chunk = bytes.subarray(start, end);
    if (chunk.at(-1) === 0x0d) chunk = chunk.subarray(0, -1);
    start = end + 1;
    const bad = invalidUtf8Offset(chunk);
    const index = records.length;
    if (bad >= 0) {
      records.push({
        index,
        line,
        field: "(record)",
        error: `line ${line} is not valid UTF-8 (byte ${bad} of the line)`,
      });
      continue;
    }
    const text = fatal.decode(chunk);
    if (text.trim() === "") continue;
    try {
      records.push({ index, line, value: JSON.parse(text) });
    } catch (err) {
      records.push({
        index,
        line,
        field: "(record)",
        error: `line ${line} is not JSON: ${(err as Error).message}`,
      });
    }
  }
  if (records.length === 0) {
    return { ok: false, status: 400, field: "body", error: "body has no products (empty NDJSON)" };
  }
  return { ok: true, format: "ndjson", records };
}

/**
 * Parses a `POST /products` body: one JSON product, a JSON array, or NDJSON (by content type,
 * or when the body is not one JSON value but several lines). Pure: no I/O.
 */
export function parseProductsBody(bytes: Uint8Array, contentType = ""): ParsedBody {
  if (bytes.every((b) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09)) {
    return {
      ok: false,
      status: 400,
      field: "body",
      error: "body is empty: send one product, a JSON array of products, or NDJSON",
    };
  }
  if (NDJSON_TYPES.test(contentType)) return parseNdjson(bytes);
  const bad = invalidUtf8Offset(bytes);
  if (bad >= 0) {
    // NDJSON without its content type: the other lines may still be good.
    if (bytes.indexOf(0x0a) >= 0 && bytes.indexOf(0x0a) < bytes.length - 1) {
      return parseNdjson(bytes);
    }
    return {
      ok: false,
      status: 400,
      field: "body",
      error: `body is not valid UTF-8 (byte ${bad})`,
    };
  }
  const text = fatal.decode(bytes);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    if (text.trim().includes("\n")) return parseNdjson(bytes);
    return {
      ok: false,
      status: 400,
      field: "body",
      error: `body is not JSON: ${(err as Error).message}`,
    };
  }
  if (Array.isArray(value)) {
    if (value.length === 0) {
      return {
        ok: false,
        status: 400,
        field: "body",
        error: "body is an empty array: no products",
      };
    }
    return { ok: true, format: "array", records: value.map((v, index) => ({ index, value: v })) };
  }
  return { ok: true, format: "single", records: [{ index: 0, value }] };
}

/** A product ready to produce, or why it is refused. */
export type CheckedRecord =
  | { ok: true; product: Product; value: Uint8Array }
  | { ok: false; status: 400 | 403 | 413; field: string; error: string };

function kindOf(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "an array" : `a ${typeof v}`;
}

/** `/price/amount must be number` → `price.amount`; `must have required property 'x'` → `x`. */
export function fieldOfError(error: string): string {
  const first = error.split("; ")[0];
  const required = first.match(/^(\S*) must have required property '([^']+)'/);
  if (required) {
    const base = required[1].replace(/^\//, "").replaceAll("/", ".");
    return base ? `${base}.${required[2]}` : required[2];
  }
  const extra = first.match(/^(\S*) must NOT have additional properties '([^']+)'/);
  if (extra) {
    const base = extra[1].replace(/^\//, "").replaceAll("/", ".");
    return base ? `${base}.${extra[2]}` : extra[2];
  }
  const path = first.split(" ")[0].replace(/^\//, "").replaceAll("/", ".");
  return path || "(record)";
}

/**
 * Checks one record for the store `storeId`: a JSON object, its own `store_id` (403), within
 * {@linkcode MAX_PRODUCT_VALUE_BYTES} (413, naming the largest field), well-formed Unicode, and
 * the product schema (400 naming the field). Pure: no I/O.
 */
export function checkRecord(
  value: unknown,
  storeId: string,
  maxBytes: number = MAX_PRODUCT_VALUE_BYTES,
): CheckedRecord {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return {
      ok: false,
      status: 400,
      field: "(record)",
      error: `a product must be a JSON object, not ${kindOf(value)}`,
    };
  }
  const v = value as Record<string, unknown>;
  if (typeof v.store_id === "string" && v.store_id !== storeId) {
    return {
      ok: false,
      status: 403,
      field: "store_id",
      error: `store_id '${v.store_id}' is not yours: this key belongs to store '${storeId}'`,
    };
  }
  const text = JSON.stringify(v);
  const bytes = encoder.encode(text);
  if (bytes.length > maxBytes) {
    const [field, size] = Object.entries(v)
      .map(([k, x]) => [k, encoder.encode(JSON.stringify(x) ?? "").length] as const)
      .sort((a, b) => b[1] - a[1])[0];
    return {
      ok: false,
      status: 413,
      field,
      error:
        `product is ${bytes.length} bytes, over the ${maxBytes} bytes a record of input-products may hold; its field '${field}' alone is ${size} bytes`,
    };
  }
  if (!text.isWellFormed()) {
    const field = Object.entries(v).find(([, x]) => !(JSON.stringify(x) ?? "").isWellFormed())
      ?.[0] ?? "(record)";
    return {
      ok: false,
      status: 400,
      field,
      error: `field '${field}' holds an unpaired UTF-16 surrogate: not valid Unicode text`,
    };
  }
  const r = productCodec.validate(v);
  if (!r.ok) {
    return { ok: false, status: 400, field: fieldOfError(r.error), error: r.error };
  }
  return { ok: true, product: r.value, value: bytes };
}
