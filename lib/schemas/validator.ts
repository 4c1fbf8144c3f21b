/**
 * JSON Schema validation with ajv: compile once, validate many, and describe failures in one
 * readable line (used in DLQ headers and logs).
 *
 * @example
 * ```ts
 * import { compileSchema } from "./validator.ts";
 * const check = compileSchema<{ id: string }>({ type: "object", required: ["id"], properties: { id: { type: "string" } } });
 * const result = check({ id: 1 }); // { ok: false, error: "/id must be string" }
 * ```
 * @module
 */
import { Ajv, type ErrorObject, type Schema } from "ajv";
import addFormatsModule from "ajv-formats";

// ajv-formats is CommonJS; its default export is the plugin function.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

let shared: Ajv | undefined;
function ajv(): Ajv {
  if (!shared) {
    shared = new Ajv({ allErrors: true, strict: true });
    addFormats(shared);
  }
  return shared;
}

/** Outcome of a validation: the typed value, or a one-line description of what is wrong. */
export type Validation<T> = { ok: true; value: T } | { ok: false; error: string };

/** A compiled validator. */
export type Validator<T> = (value: unknown) => Validation<T>;

/** Formats ajv errors as `"/path message; /path message"`. */
export function describeErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .map((e) => {
      const where = e.instancePath || "/";
      const extra = e.keyword === "additionalProperties"
        ? ` '${(e.params as { additionalProperty: string }).additionalProperty}'`
        : e.keyword === "enum"
        ? ` (${(e.params as { allowedValues: unknown[] }).allowedValues.join(", ")})`
        : "";
      return `${where} ${e.message}${extra}`;
    })
    .join("; ");
}

/** Compiles a JSON Schema into a {@linkcode Validator}. */
export function compileSchema<T>(schema: Schema): Validator<T> {
  const fn = ajv().compile(schema);
  return (value: unknown) =>
    fn(value) ? { ok: true, value: value as T } : { ok: false, error: describeErrors(fn.errors) };
}

/** Raised when a value cannot be turned into a message: schema violation or JSON failure. */
export class SerializationError extends Error {
  override name = "SerializationError";
}

/** Raised when a message's bytes cannot be turned into a valid value. */
export class DeserializationError extends Error {
  override name = "DeserializationError";
  constructor(message: string, readonly stage: "decode" | "validate") {
    super(message);
  }
}

/** A JSON codec bound to a schema: validates before encoding and after decoding. */
export interface JsonCodec<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array | Buffer | null): T;
  validate: Validator<T>;
}

/** Builds a {@linkcode JsonCodec} for a schema. */
export function jsonCodec<T>(name: string, schema: Schema): JsonCodec<T> {
  const validate = compileSchema<T>(schema);
  const enc = new TextEncoder();
  const dec = new TextDecoder("utf-8", { fatal: true });
  return {
    validate,
    encode(value: T): Uint8Array {
      const r = validate(value);
      if (!r.ok) throw new SerializationError(`${name} does not match its schema: ${r.error}`);
      let text: string;
      try {
        text = JSON.stringify(value);
      } catch (err) {
        throw new SerializationError(
          `${name} cannot be serialized to JSON: ${(err as Error).message}`,
        );
      }
      return enc.encode(text);
    },
    decode(bytes): T {
      if (bytes === null) {
        throw new DeserializationError(`${name}: message has no value (tombstone)`, "decode");
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(dec.decode(bytes));
      } catch (err) {
        throw new DeserializationError(
          `${name}: value is not valid UTF-8 JSON: ${(err as Error).message}`,
          "decode",
        );
      }
      const r = validate(parsed);
      if (!r.ok) {
        throw new DeserializationError(`${name} does not match its schema: ${r.error}`, "validate");
      }
      return r.value;
    },
  };
}
