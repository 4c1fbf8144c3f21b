/**
 * The console's own health, for Prometheus and probes, without a login: `/metrics` and
 * `/healthz`, answered by lib/monitoring ({@linkcode metricsResponse}: the project's registry,
 * with the console's requests, logins and writes; {@linkcode healthResponse}: 200 while it
 * serves).
 *
 * @example
 * ```ts
 * import { OPS_ROUTES } from "./ops.ts";
 * const paths = OPS_ROUTES.map((r) => r.pattern.source);
 * ```
 * @module
 */
import { healthResponse, metricsResponse } from "../../monitoring/mod.ts";
import type { Call, Route } from "../context.ts";

/** `/metrics` and `/healthz`, any method. */
export const OPS_ROUTES: Route<Call>[] = [
  { pattern: /^\/metrics$/, handle: () => metricsResponse() },
  { pattern: /^\/healthz$/, handle: () => healthResponse() },
];
