/**
 * What the CLIENT API records about the marketplace's users (topics `user-requests`,
 * `user-responses`, `user-events`) and what the analytics publish back (`recommendations`):
 * JSON Schemas, TypeScript types and codecs.
 *
 * @example
 * ```ts
 * import { userEventCodec } from "./user_activity.ts";
 * const bytes = userEventCodec.encode({ event_id: "e1", user_id: "u1", type: "view", … });
 * ```
 * @module
 */
import { jsonCodec } from "./validator.ts";

const ID = { type: "string", minLength: 1, maxLength: 64 } as const;
const TIME = { type: "string", format: "date-time" } as const;

/** Kinds of user action. */
export const USER_EVENT_TYPES = ["view", "add_to_cart", "purchase", "review"] as const;
/** A kind of user action. */
export type UserEventType = typeof USER_EVENT_TYPES[number];

/** A user action. `user_id` is the message key. */
export interface UserEvent {
  event_id: string;
  user_id: string;
  session_id: string;
  type: UserEventType;
  product_id: string;
  /** Items added or bought (add_to_cart, purchase). */
  quantity?: number;
  /** Unit price at the time (purchase). */
  price?: number;
  /** 1–5 (review). */
  rating?: number;
  /** Review text (review). */
  text?: string;
  at: string;
}

/** JSON Schema of {@linkcode UserEvent}. */
export const USER_EVENT_SCHEMA = {
  $id: "user_event.v1",
  type: "object",
  additionalProperties: false,
  required: ["event_id", "user_id", "session_id", "type", "product_id", "at"],
  properties: {
    event_id: ID,
    user_id: ID,
    session_id: ID,
    type: { enum: USER_EVENT_TYPES },
    product_id: ID,
    quantity: { type: "integer", minimum: 1, maximum: 1000 },
    price: { type: "number", minimum: 0 },
    rating: { type: "integer", minimum: 1, maximum: 5 },
    text: { type: "string", maxLength: 10_000 },
    at: TIME,
  },
  allOf: [
    {
      if: { properties: { type: { const: "review" } } },
      then: { required: ["rating"], properties: { rating: {} } },
    },
    {
      if: { properties: { type: { enum: ["add_to_cart", "purchase"] } } },
      then: { required: ["quantity"], properties: { quantity: {} } },
    },
  ],
} as const;

/** Codec of user events: validated JSON. */
export const userEventCodec = jsonCodec<UserEvent>("user event", USER_EVENT_SCHEMA);

/** One CLIENT API request, as received (also recorded when it was refused). Key: `request_id`. */
export interface UserRequest {
  request_id: string;
  /** Absent when the request named no (valid) user. */
  user_id?: string;
  method: string;
  path: string;
  /** Search text, when the request was a search. */
  query?: string;
  at: string;
}

/** JSON Schema of {@linkcode UserRequest}. */
export const USER_REQUEST_SCHEMA = {
  $id: "user_request.v1",
  type: "object",
  additionalProperties: false,
  required: ["request_id", "method", "path", "at"],
  properties: {
    request_id: ID,
    user_id: ID,
    method: { type: "string", minLength: 1, maxLength: 16 },
    path: { type: "string", minLength: 1, maxLength: 2_000 },
    query: { type: "string", maxLength: 1_000 },
    at: TIME,
  },
} as const;

/** Codec of user requests: validated JSON. */
export const userRequestCodec = jsonCodec<UserRequest>("user request", USER_REQUEST_SCHEMA);

/** The CLIENT API's answer to one request. Key: `request_id`. */
export interface UserResponse {
  request_id: string;
  user_id?: string;
  /** HTTP status. */
  status: number;
  latency_ms: number;
  /** Products returned (search, recommendations, product by id). */
  product_ids: string[];
  /** Why a request was refused (4xx), naming the field. */
  error?: string;
  at: string;
}

/** JSON Schema of {@linkcode UserResponse}. */
export const USER_RESPONSE_SCHEMA = {
  $id: "user_response.v1",
  type: "object",
  additionalProperties: false,
  required: ["request_id", "status", "latency_ms", "product_ids", "at"],
  properties: {
    request_id: ID,
    user_id: ID,
    status: { type: "integer", minimum: 100, maximum: 599 },
    latency_ms: { type: "number", minimum: 0 },
    product_ids: { type: "array", maxItems: 1_000, items: ID },
    error: { type: "string", maxLength: 2_000 },
    at: TIME,
  },
} as const;

/** Codec of user responses: validated JSON. */
export const userResponseCodec = jsonCodec<UserResponse>("user response", USER_RESPONSE_SCHEMA);

/** Recommendations for one user, published by the analytics. Key: `user_id`. */
export interface Recommendation {
  user_id: string;
  products: { product_id: string; score: number; reason: string }[];
  /** Which job made them, e.g. `duckdb:recommendations`. */
  model: string;
  generated_at: string;
}

/** JSON Schema of {@linkcode Recommendation}. */
export const RECOMMENDATION_SCHEMA = {
  $id: "recommendation.v1",
  type: "object",
  additionalProperties: false,
  required: ["user_id", "products", "model", "generated_at"],
  properties: {
    user_id: ID,
    products: {
      type: "array",
      maxItems: 100,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["product_id", "score", "reason"],
        properties: {
          product_id: ID,
          score: { type: "number" },
          reason: { type: "string", maxLength: 200 },
        },
      },
    },
    model: { type: "string", minLength: 1, maxLength: 100 },
    generated_at: TIME,
  },
} as const;

/** Codec of recommendations: validated JSON. */
export const recommendationCodec = jsonCodec<Recommendation>(
  "recommendation",
  RECOMMENDATION_SCHEMA,
);
