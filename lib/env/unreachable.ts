/**
 * "The service is not running" as one line a user can act on: which service, at which address,
 * and the command that starts it — instead of a client library's stack trace.
 *
 * Clients that know what they talk to throw {@linkcode ServiceUnreachableError} themselves
 * (lib/kafka probes the bootstrap servers before the first connect). Everything else — pg's
 * `ECONNREFUSED`, Deno's `fetch` "Connection refused", kafkajs' connection errors wrapped in
 * retries — is recognised by {@linkcode describeUnreachable} from the error chain, and the
 * service named from the local stack's port layout ({@linkcode serviceAtPort}).
 *
 * @example
 * ```ts
 * import { describeUnreachable } from "./unreachable.ts";
 * try {
 *   await fetch("http://127.0.0.1:8083/connectors");
 * } catch (err) {
 *   console.error(describeUnreachable(err)); // Kafka Connect at 127.0.0.1:8083 is not answering — …
 * }
 * ```
 * @module
 */
import { KAFKA_CLIENT_PORTS, STACK_PORTS } from "./ports.ts";

/** A service did not accept a connection; the message is the one line to show. */
export class ServiceUnreachableError extends Error {
  /** `ServiceUnreachableError`. */
  override name = "ServiceUnreachableError";
  /**
   * The one line: `<service> at <address> is not answering — start it with: <hint>`.
   * @param service What was tried, e.g. `Kafka`.
   * @param address Where, e.g. `localhost:9094`.
   * @param hint The command that starts it, e.g. `deno task stack up --brokers 3`.
   */
  constructor(
    readonly service: string,
    readonly address: string,
    readonly hint: string,
    options?: ErrorOptions,
  ) {
    super(`${service} at ${address} is not answering — start it with: ${hint}`, options);
  }
}

/** A service of the local stack: its name and the command that starts it. */
export interface StackService {
  /** Human name, e.g. `Kafka Connect`. */
  service: string;
  /** Command that starts it. */
  hint: string;
}

/** The service at `port` of the local stack before `STACK_PORT_OFFSET` (ports.ts). */
function byBasePort(port: number): StackService | undefined {
  const kafka = (base: number) => port >= base && port < base + 1000 && port % 100 === base % 100;
  if (kafka(KAFKA_CLIENT_PORTS.main)) {
    return { service: "Kafka", hint: "deno task stack up --brokers 3" };
  }
  if (kafka(KAFKA_CLIENT_PORTS.secure)) {
    return { service: "Kafka (secure cluster)", hint: "deno task stack up --secure" };
  }
  if (kafka(KAFKA_CLIENT_PORTS.mirror)) {
    return { service: "Kafka (mirror cluster B)", hint: "deno task stack up --mirror" };
  }
  const fixed: Record<number, StackService> = {
    [STACK_PORTS.postgres]: { service: "PostgreSQL", hint: "deno task stack up" },
    [STACK_PORTS.connect]: { service: "Kafka Connect", hint: "deno task stack up --connect" },
    [STACK_PORTS.registry]: {
      service: "The schema registry",
      hint: "deno task stack up --registry",
    },
    [STACK_PORTS.hdfsHttp]: { service: "HDFS (WebHDFS)", hint: "deno task stack up --hdfs" },
    [STACK_PORTS.hdfsRpc]: { service: "HDFS (NameNode)", hint: "deno task stack up --hdfs" },
    [STACK_PORTS.prometheus]: { service: "Prometheus", hint: "deno task stack up --monitoring" },
    [STACK_PORTS.alertmanager]: {
      service: "Alertmanager",
      hint: "deno task stack up --monitoring",
    },
    [STACK_PORTS.sparkMaster]: { service: "The Spark master", hint: "deno task stack up --spark" },
    [STACK_PORTS.sparkMasterUi]: {
      service: "The Spark master's web UI",
      hint: "deno task stack up --spark",
    },
  };
  return fixed[port];
}

/**
 * The local stack's service listening on `port` (with `$STACK_PORT_OFFSET` or none), or a
 * generic answer for a port the stack does not use.
 */
export function serviceAtPort(port: number): StackService {
  const offset = Number(Deno.env.get("STACK_PORT_OFFSET") ?? "0") || 0;
  return byBasePort(port - offset) ?? byBasePort(port) ??
    { service: "The service", hint: "deno task stack up (see `deno task stack --help`)" };
}

function chain(err: unknown): unknown[] {
  const out: unknown[] = [];
  const queue = [err];
  while (queue.length && out.length < 20) {
    const e = queue.shift();
    if (e === undefined || e === null || out.includes(e)) continue;
    out.push(e);
    if (typeof e === "object") {
      const o = e as { cause?: unknown; originalError?: unknown; errors?: unknown[] };
      queue.push(o.cause, o.originalError, ...(Array.isArray(o.errors) ? o.errors : []));
    }
  }
  return out;
}

function line(address: string, port: number): string {
  const { service, hint } = serviceAtPort(port);
  return new ServiceUnreachableError(service, address, hint).message;
}

/**
 * One line naming the unreachable service and how to start it, when `err` (or an error it
 * wraps) says a connection was refused; undefined for any other error.
 */
export function describeUnreachable(err: unknown): string | undefined {
  const errors = chain(err);
  for (const e of errors) {
    if (e instanceof ServiceUnreachableError) return e.message;
  }
  for (const e of errors) {
    if (typeof e !== "object") continue;
    const o = e as { code?: string; address?: string; port?: number; message?: string };
    if (o.code === "ECONNREFUSED" && typeof o.port === "number") {
      return line(`${o.address ?? "localhost"}:${o.port}`, o.port);
    }
    const msg = String(o.message ?? "");
    const refused = /ECONNREFUSED \[?([\w.:-]+?)\]?:(\d+)/.exec(msg);
    if (refused) return line(`${refused[1]}:${refused[2]}`, Number(refused[2]));
    const url = /url \((https?:\/\/[^)\s]+)\)/.exec(msg);
    if (url && /Connection refused|ConnectionRefused|os error 111/i.test(msg)) {
      const u = new URL(url[1]);
      const port = Number(u.port || (u.protocol === "https:" ? 443 : 80));
      return line(u.host, port);
    }
  }
  return undefined;
}

/**
 * True when at least one of `addresses` (`host:port`) accepts a TCP connection within
 * `timeoutMs` — a cheap check before a client library's long retry loop.
 */
export async function anyAccepts(
  addresses: readonly string[],
  timeoutMs = 2_000,
): Promise<boolean> {
  const tryOne = async (address: string): Promise<boolean> => {
    const i = address.lastIndexOf(":");
    const hostname = address.slice(0, i).replace(/^\[|\]$/g, "");
    const port = Number(address.slice(i + 1));
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const conn = await Promise.race([
        Deno.connect({ hostname, port }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error("timeout")), timeoutMs);
        }),
      ]);
      conn.close();
      return true;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  };
  const results = await Promise.all(addresses.map(tryOne));
  return results.some(Boolean);
}
