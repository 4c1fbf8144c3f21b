/**
 * The ground floor: configuration from env and flags, where things live (project root, cache,
 * stack folder), the local stack's default ports, the running stack's endpoints, the one
 * wait/retry helper and plain text tables. Every other folder may import it; it imports none of them.
 *
 * @example
 * ```ts
 * import { localEndpoints, pollUntil } from "./mod.ts";
 * const { kafka } = localEndpoints();
 * ```
 * @module
 */
export * from "./config.ts";
export * from "./endpoints.ts";
export * from "./paths.ts";
export * from "./ports.ts";
export * from "./wait.ts";
export * from "./cli.ts";
export * from "./unreachable.ts";
export * from "./table.ts";
