/**
 * One schema per event type, with validators and TypeScript types.
 * @module
 */
export * from "./validator.ts";
export * from "./order.ts";
