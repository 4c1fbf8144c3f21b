/**
 * Metrics and health for long-running services: a prom-client registry served on
 * `/metrics`, and `/healthz` answering 200 while the service reports itself healthy.
 *
 * A service with its own HTTP server answers both routes from its handler with
 * {@linkcode monitoringRoute} (or {@linkcode metricsResponse} and {@linkcode healthResponse});
 * a service without one gets a server of its own from {@linkcode serveMetrics}.
 *
 * @example
 * ```ts
 * import { serveMetrics, registry } from "./metrics.ts";
 * const server = serveMetrics({ port: 9464, service: "orders-consumer" });
 * await server.shutdown();
 * ```
 *
 * @example In a service's own handler
 * ```ts
 * import { monitoringRoute } from "./metrics.ts";
 * Deno.serve(async (req) => {
 *   const health = () => ({ ok: connected, body: { status: connected ? "ok" : "unhealthy" } });
 *   const answered = monitoringRoute(new URL(req.url).pathname, health);
 *   if (answered) return await answered;
 *   return new Response("not found\n", { status: 404 });
 * });
 * ```
 * @module
 */
import client from "prom-client";

/** The project's metric registry (one per process). */
export const registry: client.Registry = new client.Registry();

let defaultsCollected = false;

/**
 * What a health check says: whether the service is healthy (`/healthz` answers 200, else 503)
 * and, optionally, the body of the answer — a string is sent as it is (text), an object as
 * JSON. Without a body: `ok\n` or `unhealthy\n`.
 */
export interface HealthStatus {
  ok: boolean;
  body?: string | Record<string, unknown>;
}

/** A health check: a plain boolean, or a {@linkcode HealthStatus}, possibly asynchronous. */
export type HealthCheck = () =>
  | boolean
  | HealthStatus
  | Promise<boolean | HealthStatus>;

/** Options of {@linkcode serveMetrics}. */
export interface MetricsServerOptions {
  /** TCP port; 0 picks a free one. @default 0 */
  port?: number;
  /** Service name, added as the `service` label to every metric. */
  service: string;
  /** Health probe; `/healthz` answers 503 while it returns false. @default () => true */
  healthy?: HealthCheck;
  /** Address to listen on (`0.0.0.0` inside a container). @default "127.0.0.1" */
  hostname?: string;
}

/** The registry's metrics as a `/metrics` answer (Prometheus text format). */
export async function metricsResponse(): Promise<Response> {
  return new Response(await registry.metrics(), {
    headers: { "content-type": registry.contentType },
  });
}

/**
 * The `/healthz` answer of `check`: 200 when healthy, 503 when not, with the check's body
 * (see {@linkcode HealthStatus}). A check that throws is unhealthy: 503 saying why.
 */
export async function healthResponse(check: HealthCheck = () => true): Promise<Response> {
  let status: HealthStatus;
  try {
    const said = await check();
    status = typeof said === "boolean" ? { ok: said } : said;
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return new Response(`unhealthy: the health check failed: ${why}\n`, { status: 503 });
  }
  const code = status.ok ? 200 : 503;
  const { body = status.ok ? "ok\n" : "unhealthy\n" } = status;
  if (typeof body === "string") return new Response(body, { status: code });
  return new Response(JSON.stringify(body), {
    status: code,
    headers: { "content-type": "application/json; charset=utf-8" },
  });
}

/**
 * Answers the monitoring routes of a service: `/metrics` ({@linkcode metricsResponse}) and
 * `/healthz` ({@linkcode healthResponse} of `healthy`), whatever the method. Any other path:
 * undefined, for the service to route itself.
 */
export function monitoringRoute(
  path: string,
  healthy?: HealthCheck,
): Promise<Response> | undefined {
  if (path === "/metrics") return metricsResponse();
  if (path === "/healthz") return healthResponse(healthy);
  return undefined;
}

/** Serves `/metrics` and `/healthz` (on 127.0.0.1 unless `hostname` says otherwise). */
export function serveMetrics(options: MetricsServerOptions): Deno.HttpServer<Deno.NetAddr> {
  const { port = 0, service, healthy = () => true, hostname = "127.0.0.1" } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(
      `Cannot serve metrics as 'port' must be 0..65535: current value is ${port}`,
    );
  }
  registry.setDefaultLabels({ service });
  if (!defaultsCollected) {
    client.collectDefaultMetrics({ register: registry });
    defaultsCollected = true;
  }
  return Deno.serve({ hostname, port, onListen: () => {} }, async (req) => {
    const answered = monitoringRoute(new URL(req.url).pathname, healthy);
    return answered ? await answered : new Response("not found\n", { status: 404 });
  });
}
/** A counter registered once in {@linkcode registry} (reused when asked again by name). */
export function counter(
  name: string,
  help: string,
  labelNames: string[] = [],
): client.Counter<string> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as client.Counter<string>;
  return new client.Counter({ name, help, labelNames, registers: [registry] });
}

/** A histogram registered once in {@linkcode registry}. */
export function histogram(
  name: string,
  help: string,
  labelNames: string[] = [],
  buckets?: number[],
): client.Histogram<string> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as client.Histogram<string>;
  return new client.Histogram({ name, help, labelNames, buckets, registers: [registry] });
}
