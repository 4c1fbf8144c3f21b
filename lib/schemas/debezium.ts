/**
 * Debezium change events (the value of a CDC topic such as `customers.public.users`), with or
 * without Connect's `{schema, payload}` envelope: a JSON Schema of the payload, its TypeScript
 * type and a decoder that validates against it and says what is wrong. Used by practice 5's
 * consumer and by the final project's forbidden-products table.
 *
 * @example
 * ```ts
 * import { decodeChangeEvent } from "./debezium.ts";
 * const e = decodeChangeEvent('{"op":"c","before":null,"after":{"id":1},"source":{"table":"users"}}');
 * e.opName; // "create"
 * ```
 * @module
 */
import { compileSchema, DeserializationError } from "./validator.ts";

/** Debezium's operation codes. */
export const OPS: Record<string, string> = {
  c: "create",
  u: "update",
  d: "delete",
  r: "read (snapshot)",
  t: "truncate",
};

/** A decoded change event. */
export interface ChangeEvent {
  op: string;
  opName: string;
  table: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  /** Source position (LSN) when present. */
  lsn?: number;
  tsMs?: number;
}

const ROW = { anyOf: [{ type: "object" }, { type: "null" }] } as const;

/** JSON Schema of a Debezium change event's payload (the fields this project reads). */
export const CHANGE_EVENT_SCHEMA = {
  $id: "debezium.change_event.v1",
  type: "object",
  required: ["op"],
  properties: {
    op: { enum: Object.keys(OPS) },
    before: ROW,
    after: ROW,
    source: {
      type: "object",
      properties: {
        table: { type: "string" },
        lsn: { type: "number" },
      },
    },
    ts_ms: { type: "number" },
  },
  allOf: [
    {
      if: { properties: { op: { enum: ["c", "r"] } } },
      then: { required: ["after"], properties: { after: {} } },
    },
    {
      if: { properties: { op: { const: "u" } } },
      then: { required: ["after"], properties: { after: {} } },
    },
    {
      if: { properties: { op: { const: "d" } } },
      then: { required: ["before"], properties: { before: {} } },
    },
  ],
} as const;

const validate = compileSchema<Record<string, unknown>>(CHANGE_EVENT_SCHEMA);
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes a Debezium change event value (JSON, with or without the schema envelope).
 * Throws a {@linkcode DeserializationError} with the reason on anything that is not one
 * (a tombstone — the null value Debezium writes after a delete — included: callers skip those).
 */
export function decodeChangeEvent(value: string | Uint8Array | null): ChangeEvent {
  if (value === null) {
    throw new DeserializationError("tombstone (null value) is not a change event", "decode");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof value === "string" ? value : utf8.decode(value));
  } catch (err) {
    throw new DeserializationError(`not JSON: ${(err as Error).message}`, "decode");
  }
  const body = parsed && typeof parsed === "object" && "payload" in parsed && "schema" in parsed
    ? (parsed as { payload: unknown }).payload
    : parsed;
  const r = validate(body);
  if (!r.ok) {
    const op = (body as Record<string, unknown> | null)?.op;
    throw new DeserializationError(
      `not a Debezium change event: field 'op' is ${JSON.stringify(op)} (${r.error})`,
      "validate",
    );
  }
  const e = r.value;
  const source = (e.source ?? {}) as Record<string, unknown>;
  const op = e.op as string;
  return {
    op,
    opName: OPS[op],
    table: String(source.table ?? ""),
    before: (e.before ?? null) as Record<string, unknown> | null,
    after: (e.after ?? null) as Record<string, unknown> | null,
    lsn: typeof source.lsn === "number" ? source.lsn : undefined,
    tsMs: typeof e.ts_ms === "number" ? e.ts_ms : undefined,
  };
}

/** One line per event, as practice 5's consumer prints it. */
export function formatChangeEvent(e: ChangeEvent): string {
  return `${e.table.padEnd(6)} op=${e.op} (${e.opName}) before=${JSON.stringify(e.before)} after=${
    JSON.stringify(e.after)
  }`;
}
