/**
 * Metrics and health for long-running services: a prom-client registry served on
 * `/metrics`, and `/healthz` answering 200 while the service reports itself healthy.
 *
 * @example
 * ```ts
 * import { serveMetrics, registry } from "./metrics.ts";
 * const server = serveMetrics({ port: 9464, service: "orders-consumer" });
 * await server.shutdown();
 * ```
 * @module
 */
import client from "prom-client";

/** The project's metric registry (one per process). */
export const registry: client.Registry = new client.Registry();

let defaultsCollected = false;

/** Options of {@linkcode serveMetrics}. */
export interface MetricsServerOptions {
  /** TCP port; 0 picks a free one. @default 0 */
  port?: number;
  /** Service name, added as the `service` label to every metric. */
  service: string;
  /** Health probe; `/healthz` answers 503 while it returns false. @default () => true */
  healthy?: () => boolean;
  /** Address to listen on (`0.0.0.0` inside a container). @default "127.0.0.1" */
  hostname?: string;
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
    const path = new URL(req.url).pathname;
    if (path === "/metrics") {
      return new Response(await registry.metrics(), {
        headers: { "content-type": registry.contentType },
      });
    }
    if (path === "/healthz") {
      const ok = healthy();
      return new Response(ok ? "ok\n" : "unhealthy\n", { status: ok ? 200 : 503 });
    }
    return new Response("not found\n", { status: 404 });
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
