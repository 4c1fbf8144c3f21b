/**
 * What a request to the CLIENT API says, checked: which route it asks for
 * ({@linkcode matchClientRoute}), whether a user id is known ({@linkcode checkUserId} against
 * {@linkcode USER_ID_PATTERN}) and, for `POST /events`, the action of the token's user as a
 * {@linkcode UserEvent} ({@linkcode parseEventBody}; another user's `user_id` is a 403). Every
 * refusal is a {@linkcode ClientRequestError} naming the field at fault. Pure: no I/O.
 *
 * @example
 * ```ts
 * import { checkUserId, parseEventBody } from "./request.ts";
 * const user = checkUserId("user-42", "user_id"); // the token's sub, already verified
 * const event = parseEventBody({ type: "view", product_id: "p1" }, user, "session-1");
 * ```
 * @module
 */
import {
  USER_EVENT_TYPES,
  type UserEvent,
  userEventCodec,
  type UserEventType,
} from "../../schemas/mod.ts";

/** Format of a known user id (see the module doc): `user-` and 1–12 digits. */
export const USER_ID_PATTERN: RegExp = /^user-[0-9]{1,12}$/;

/** Ids the CLIENT API accepts for sessions, products, events and requests. */
export const CLIENT_ID_PATTERN: RegExp = /^[\p{L}\p{N}._:@-]{1,64}$/u;

/** A refusal: the HTTP status, the field at fault, why, and headers of the answer (if any). */
export class ClientRequestError extends Error {
  override name = "ClientRequestError";
  constructor(
    readonly field: string,
    message: string,
    readonly status = 400,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Checks a user id against the known-user format; returns it or throws {@linkcode ClientRequestError}. */
export function checkUserId(
  raw: string | null | undefined,
  field: string,
  pattern: RegExp = USER_ID_PATTERN,
): string {
  if (raw === null || raw === undefined || raw.trim() === "") {
    throw new ClientRequestError(
      field,
      `${field} is missing: every request names its user (ids look like user-42)`,
    );
  }
  if (!pattern.test(raw)) {
    throw new ClientRequestError(
      field,
      `${field} '${raw.slice(0, 80)}' is not a known user (known ids match ${pattern.source})`,
    );
  }
  return raw;
}

const EVENT_FIELDS = new Set([
  "type",
  "product_id",
  "session_id",
  "quantity",
  "rating",
  "text",
  "price",
  "event_id",
  "user_id",
]);

/** `v` as an id of the API, or a refusal of `field`. */
function idOf(field: string, v: unknown): string {
  if (typeof v !== "string" || !CLIENT_ID_PATTERN.test(v)) {
    throw new ClientRequestError(
      field,
      `${field} must be an id of 1–64 letters, digits or ._:@-`,
    );
  }
  return v;
}

/** The body as an object of known event fields, or a refusal of the body or the first stranger. */
function eventFields(body: unknown): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ClientRequestError("body", "body must be one JSON object (an event)");
  }
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) {
    if (!EVENT_FIELDS.has(k)) {
      throw new ClientRequestError(
        k,
        `${k} is not a field of an event (fields: ${[...EVENT_FIELDS].join(", ")})`,
      );
    }
  }
  return b;
}

/** Who did what to which product, in which session: the fields every event has. */
function eventCore(
  b: Record<string, unknown>,
  userId: string,
  headerSession: string | null,
  now: Date,
): UserEvent {
  if (b.user_id !== undefined && b.user_id !== userId) {
    throw new ClientRequestError(
      "user_id",
      `user_id '${
        String(b.user_id).slice(0, 80)
      }' is not the token's user '${userId}': a user acts only as itself`,
      403,
    );
  }
  if (b.type === undefined) throw new ClientRequestError("type", "type is missing");
  if (!(USER_EVENT_TYPES as readonly unknown[]).includes(b.type)) {
    throw new ClientRequestError("type", `type must be one of ${USER_EVENT_TYPES.join(", ")}`);
  }
  const type = b.type as UserEventType;
  if (b.product_id === undefined) {
    throw new ClientRequestError("product_id", "product_id is missing");
  }
  const productId = idOf("product_id", b.product_id);
  const rawSession = b.session_id ?? headerSession ?? undefined;
  if (rawSession === undefined) {
    throw new ClientRequestError(
      "session_id",
      "session_id is missing (in the event or X-Session-Id)",
    );
  }
  const sessionId = idOf("session_id", rawSession);
  return {
    event_id: b.event_id === undefined ? crypto.randomUUID() : idOf("event_id", b.event_id),
    user_id: userId,
    session_id: sessionId,
    type,
    product_id: productId,
    at: now.toISOString(),
  };
}

/** `quantity` (add_to_cart, purchase: required) and `rating` (review: required) of `event`. */
function addCounts(event: UserEvent, b: Record<string, unknown>): void {
  const { type } = event;
  const counted = type === "add_to_cart" || type === "purchase";
  if (b.quantity !== undefined || counted) {
    if (!counted) throw new ClientRequestError("quantity", `a ${type} has no quantity`);
    const q = b.quantity;
    if (q === undefined) {
      throw new ClientRequestError("quantity", `quantity is missing (a ${type} needs it)`);
    }
    if (typeof q !== "number" || !Number.isInteger(q) || q < 1 || q > 1000) {
      throw new ClientRequestError("quantity", "quantity must be an integer from 1 to 1000");
    }
    event.quantity = q;
  }
  if (b.rating !== undefined || type === "review") {
    if (type !== "review") throw new ClientRequestError("rating", `a ${type} has no rating`);
    const r = b.rating;
    if (r === undefined) {
      throw new ClientRequestError("rating", "rating is missing (a review needs it)");
    }
    if (typeof r !== "number" || !Number.isInteger(r) || r < 1 || r > 5) {
      throw new ClientRequestError("rating", "rating must be an integer from 1 to 5");
    }
    event.rating = r;
  }
}

/** The optional `text` (review) and `price` of `event`. */
function addExtras(event: UserEvent, b: Record<string, unknown>): void {
  if (b.text !== undefined) {
    if (event.type !== "review") {
      throw new ClientRequestError("text", `a ${event.type} has no text`);
    }
    if (typeof b.text !== "string" || b.text.length > 10_000) {
      throw new ClientRequestError("text", "text must be a string of at most 10000 characters");
    }
    event.text = b.text;
  }
  if (b.price !== undefined) {
    if (typeof b.price !== "number" || !Number.isFinite(b.price) || b.price < 0) {
      throw new ClientRequestError("price", "price must be a number ≥ 0");
    }
    event.price = b.price;
  }
}

/**
 * Turns a `POST /events` body into a {@linkcode UserEvent} of `userId`, or throws
 * {@linkcode ClientRequestError} naming the first field at fault. `price` is taken from the catalog
 * later when the product has one.
 */
export function parseEventBody(
  body: unknown,
  userId: string,
  headerSession: string | null = null,
  now: Date = new Date(),
): UserEvent {
  const b = eventFields(body);
  const event = eventCore(b, userId, headerSession, now);
  addCounts(event, b);
  addExtras(event, b);
  const check = userEventCodec.validate(event);
  if (!check.ok) {
    const field = /^\/(\w+)/.exec(check.error)?.[1] ?? "body";
    throw new ClientRequestError(field, `event does not match its schema: ${check.error}`);
  }
  return event;
}

/** A route: its name (for metrics) and path parameter. */
export function matchClientRoute(
  method: string,
  path: string,
): { route: string; param?: string; allowed: string } | undefined {
  if (path === "/products/search") return { route: "search", allowed: "GET" };
  if (path === "/events") return { route: "event", allowed: "POST" };
  let m = /^\/products\/([^/]+)$/.exec(path);
  if (m) return { route: "product", param: decodeURIComponentSafe(m[1]), allowed: "GET" };
  m = /^\/users\/([^/]+)\/recommendations$/.exec(path);
  if (m) return { route: "recommendations", param: decodeURIComponentSafe(m[1]), allowed: "GET" };
  void method;
  return undefined;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
