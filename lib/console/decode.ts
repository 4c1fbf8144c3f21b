/**
 * How the console reads a record: the key and value as text (pretty JSON where they are JSON,
 * hex where they are not UTF-8), checked against the project's schema of the topic when one is
 * known, and for a dead letter (`<topic>.dlq`) the reason, stage and source record from its
 * headers (lib/kafka's `DLQ_HEADERS`).
 *
 * @example
 * ```ts
 * import { decodeRecord } from "./decode.ts";
 * const view = decodeRecord("orders", null, new TextEncoder().encode('{"order_id":"1"}'), {});
 * view.schema; // { name: "order", ok: false, error: "…" }
 * ```
 * @module
 */
import {
  type JsonCodec,
  orderCodec,
  productCodec,
  recommendationCodec,
  userEventCodec,
  userRequestCodec,
  userResponseCodec,
} from "../schemas/mod.ts";
import { DLQ_HEADERS } from "../kafka/mod.ts";

/** Schema of each topic the project declares (the seed's topic names), by topic. */
// deno-lint-ignore no-explicit-any
export const TOPIC_SCHEMAS: Record<string, { name: string; codec: JsonCodec<any> }> = {
  "input-products": { name: "product", codec: productCodec },
  "products": { name: "product", codec: productCodec },
  "user-events": { name: "user event", codec: userEventCodec },
  "user-requests": { name: "user request", codec: userRequestCodec },
  "user-responses": { name: "user response", codec: userResponseCodec },
  "recommendations": { name: "recommendation", codec: recommendationCodec },
  "orders": { name: "order", codec: orderCodec },
};

/** The schema of `topic` (a dead-letter topic: its source topic's), if the project has one. */
export function schemaOf(topic: string) {
  return TOPIC_SCHEMAS[topic.replace(/\.dlq$/, "")] ??
    // MirrorMaker 2 with a prefixing policy: `A.products` on cluster B.
    TOPIC_SCHEMAS[topic.slice(topic.indexOf(".") + 1)];
}

/** A key or value as the page shows it. */
export interface ShownBytes {
  kind: "null" | "json" | "text" | "binary";
  text: string;
  bytes: number;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Text of some bytes: pretty JSON, plain text, or hex (first 256 bytes) when not UTF-8. */
export function showBytes(bytes: Uint8Array | null): ShownBytes {
  if (bytes === null) return { kind: "null", text: "null", bytes: 0 };
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    const hex = [...bytes.subarray(0, 256)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
    return { kind: "binary", text: hex + (bytes.length > 256 ? " …" : ""), bytes: bytes.length };
  }
  try {
    const json = JSON.parse(text);
    if (typeof json === "object" && json !== null) {
      return { kind: "json", text: JSON.stringify(json, null, 2), bytes: bytes.length };
    }
  } catch {
    // plain text
  }
  return { kind: "text", text, bytes: bytes.length };
}

/** What a dead letter says about itself. */
export interface DeadLetterInfo {
  error: string;
  stage?: string;
  sourceTopic?: string;
  sourcePartition?: number;
  sourceOffset?: string;
  at?: string;
}

/** The dead-letter headers of a record, or undefined when it has none. */
export function deadLetterInfo(headers: Record<string, string>): DeadLetterInfo | undefined {
  const error = headers[DLQ_HEADERS.error];
  if (error === undefined) return undefined;
  const p = Number(headers[DLQ_HEADERS.partition]);
  return {
    error,
    stage: headers[DLQ_HEADERS.stage],
    sourceTopic: headers[DLQ_HEADERS.topic],
    sourcePartition: Number.isInteger(p) ? p : undefined,
    sourceOffset: headers[DLQ_HEADERS.offset],
    at: headers[DLQ_HEADERS.timestamp],
  };
}

/** A record decoded for the page. */
export interface RecordView {
  key: ShownBytes;
  value: ShownBytes;
  /** The topic's schema and whether the value passes it. */
  schema?: { name: string; ok: boolean; error?: string };
  deadLetter?: DeadLetterInfo;
}

/** Decodes one record of `topic` (see the module doc). */
export function decodeRecord(
  topic: string,
  key: Uint8Array | null,
  value: Uint8Array | null,
  headers: Record<string, string>,
): RecordView {
  const view: RecordView = { key: showBytes(key), value: showBytes(value) };
  const known = schemaOf(topic);
  if (known && value !== null) {
    try {
      known.codec.decode(value);
      view.schema = { name: known.name, ok: true };
    } catch (err) {
      view.schema = { name: known.name, ok: false, error: (err as Error).message };
    }
  }
  view.deadLetter = deadLetterInfo(headers);
  return view;
}

/** Why `value` cannot be produced to `topic` (its schema refuses it), or undefined. */
export function valueProblem(topic: string, value: string): string | undefined {
  const known = schemaOf(topic);
  if (!known || topic.endsWith(".dlq")) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch (err) {
    return `is not JSON, and ${topic} holds ${known.name} records: ${(err as Error).message}`;
  }
  const r = known.codec.validate(json);
  return r.ok ? undefined : `fails the ${known.name} schema: ${r.error}`;
}
