/**
 * Practice 3: the chat message filter (blocked users, censored words) as an exactly-once stream
 * processor on lib/streams.
 * @module
 */
export * from "./topics.ts";
export * from "./filter.ts";
export * from "./env.ts";
export * from "./app.ts";
