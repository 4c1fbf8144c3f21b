/**
 * A small client of the Kafka Connect REST API (the seed's `curl localhost:8083/…`): register
 * a connector from a config, read its status (or every connector's at once), pause, resume or
 * restart it (with its tasks), wait until it and its tasks run, read the worker's own metrics. Connect's refusals surface as {@linkcode ConnectError} carrying
 * Connect's message, so a bad config is reported as Connect explains it.
 *
 * @example
 * ```ts
 * import { ConnectClient } from "./client.ts";
 * const connect = new ConnectClient(); // $KAFKA_CONNECT_URL or the local stack's worker
 * await connect.putConfig("users-source", { "connector.class": "…", "tasks.max": "1" });
 * await connect.waitRunning("users-source");
 * ```
 * @module
 */
import { ConfigError, envString, sleep } from "../env/mod.ts";
import { localEndpoints, STACK_PORTS } from "../env/mod.ts";

/** Connect answered with an error (HTTP status and Connect's own message). */
export class ConnectError extends Error {
  override name = "ConnectError";
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

/** State of a connector and its tasks as `GET /connectors/<name>/status` reports it. */
export interface ConnectorStatus {
  name: string;
  connector: { state: string; worker_id: string; trace?: string };
  tasks: { id: number; state: string; worker_id: string; trace?: string }[];
  type?: string;
}

/** A connector's status and config, as {@linkcode ConnectClient.overview} gives them. */
export interface ConnectorOverview {
  status: ConnectorStatus;
  config: Record<string, string>;
}

/** Options of a {@linkcode ConnectClient}. */
export interface ConnectClientOptions {
  /** REST base URL. @default `$KAFKA_CONNECT_URL`, else the local stack's worker, else http://localhost:8083 */
  url?: string;
  /** Timeout of one request in ms. @default 30000 */
  timeoutMs?: number;
}

/** URL of the Connect worker from env or the running local stack. */
export function connectUrlFromEnv(): string {
  const fallback = (localEndpoints().connectUrl as string | undefined) ??
    `http://localhost:${STACK_PORTS.connect}`;
  const url = envString("KAFKA_CONNECT_URL", fallback);
  if (!/^https?:\/\/[^\s/]+/.test(url)) {
    throw new ConfigError(
      `Cannot use KAFKA_CONNECT_URL as it must be an http(s) URL: current value is '${url}'`,
    );
  }
  return url.replace(/\/$/, "");
}

/** URL of the Connect worker's JMX exporter (`/metrics`) from env or the local stack. */
export function connectMetricsUrlFromEnv(): string {
  const fallback = (localEndpoints().connectMetricsUrl as string | undefined) ??
    `http://localhost:${STACK_PORTS.connectJmx}/metrics`;
  return envString("KAFKA_CONNECT_METRICS_URL", fallback);
}

/** A Connect REST client; see the module doc. */
export class ConnectClient {
  readonly url: string;
  readonly #timeoutMs: number;

  constructor(options: ConnectClientOptions = {}) {
    const { url = connectUrlFromEnv(), timeoutMs = 30_000 } = options;
    this.url = url.replace(/\/$/, "");
    this.#timeoutMs = timeoutMs;
  }

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.url}${path}`, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      throw new ConnectError(
        `Kafka Connect at ${this.url} is not reachable (${(err as Error).message}). ` +
          "Start it with `deno task stack up --connect` or set KAFKA_CONNECT_URL",
        0,
      );
    }
    const text = await res.text();
    if (!res.ok) {
      let message = text;
      try {
        message = JSON.parse(text).message ?? text;
      } catch { /* not JSON */ }
      throw new ConnectError(
        `Kafka Connect refused ${method} ${path} (HTTP ${res.status}): ${message}`,
        res.status,
      );
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Worker version and Kafka cluster id (`GET /`). */
  info(): Promise<{ version: string; commit: string; kafka_cluster_id: string }> {
    return this.#call("GET", "/");
  }

  /** Installed connector plugins (`GET /connector-plugins`). */
  plugins(): Promise<{ class: string; type: string; version: string }[]> {
    return this.#call("GET", "/connector-plugins");
  }

  /** Names of the connectors. */
  connectors(): Promise<string[]> {
    return this.#call("GET", "/connectors");
  }

  /** Creates or updates a connector (`PUT /connectors/<name>/config`), as the seed's curl does. */
  putConfig(
    name: string,
    config: Record<string, string | number | boolean>,
  ): Promise<{ name: string; config: Record<string, string> }> {
    const strings = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, String(v)]));
    return this.#call("PUT", `/connectors/${encodeURIComponent(name)}/config`, strings);
  }

  /** Status of a connector and its tasks. */
  status(name: string): Promise<ConnectorStatus> {
    return this.#call("GET", `/connectors/${encodeURIComponent(name)}/status`);
  }

  /**
   * Every connector with its status and config in one call
   * (`GET /connectors?expand=status&expand=info`), by name.
   */
  async overview(): Promise<Record<string, ConnectorOverview>> {
    const raw = await this.#call<
      Record<string, { status: ConnectorStatus; info?: { config: Record<string, string> } }>
    >("GET", "/connectors?expand=status&expand=info");
    return Object.fromEntries(
      Object.entries(raw).map(([name, x]) => [name, {
        status: x.status,
        config: x.info?.config ?? {},
      }]),
    );
  }

  /** Pauses a connector and its tasks (`PUT /connectors/<name>/pause`; applied asynchronously). */
  async pause(name: string): Promise<void> {
    await this.#call("PUT", `/connectors/${encodeURIComponent(name)}/pause`);
  }

  /** Resumes a paused connector (`PUT /connectors/<name>/resume`; applied asynchronously). */
  async resume(name: string): Promise<void> {
    await this.#call("PUT", `/connectors/${encodeURIComponent(name)}/resume`);
  }

  /**
   * Restarts a connector (`POST /connectors/<name>/restart`), with its tasks when
   * `includeTasks`, or only the failed ones when `onlyFailed` too.
   */
  async restart(
    name: string,
    options: { includeTasks?: boolean; onlyFailed?: boolean } = {},
  ): Promise<void> {
    const { includeTasks = false, onlyFailed = false } = options;
    await this.#call(
      "POST",
      `/connectors/${
        encodeURIComponent(name)
      }/restart?includeTasks=${includeTasks}&onlyFailed=${onlyFailed}`,
    );
  }

  /** Deletes a connector; a missing one is fine. */
  async delete(name: string): Promise<void> {
    try {
      await this.#call("DELETE", `/connectors/${encodeURIComponent(name)}`);
    } catch (err) {
      if (!(err instanceof ConnectError && err.status === 404)) throw err;
    }
  }

  /**
   * Waits until the connector and all its tasks are RUNNING. A FAILED connector or task ends
   * the wait at once with Connect's stack trace in the error.
   */
  async waitRunning(name: string, timeoutMs = 120_000): Promise<ConnectorStatus> {
    const deadline = Date.now() + timeoutMs;
    let last: ConnectorStatus | undefined;
    let lastErr = "";
    while (Date.now() < deadline) {
      try {
        last = await this.status(name);
        const failed = [last.connector, ...last.tasks].find((t) => t.state === "FAILED");
        if (failed) {
          throw new ConnectError(
            `Connector '${name}' failed: ${
              (failed.trace ?? "").split("\n").slice(0, 6).join("\n")
            }`,
            200,
          );
        }
        if (
          last.connector.state === "RUNNING" && last.tasks.length > 0 &&
          last.tasks.every((t) => t.state === "RUNNING")
        ) {
          return last;
        }
      } catch (err) {
        if (err instanceof ConnectError && err.status === 200) throw err;
        lastErr = (err as Error).message;
      }
      await sleep(500);
    }
    throw new ConnectError(
      `Connector '${name}' not running after ${timeoutMs} ms: ${
        last ? JSON.stringify(last) : lastErr
      }`,
      0,
    );
  }
}

/**
 * Parses Prometheus text exposition into `name{labels}` → value (enough for the JMX
 * exporter's output; no exemplars or timestamps).
 */
export function parsePrometheusText(
  text: string,
): { name: string; labels: Record<string, string>; value: number }[] {
  const out = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]] = l[2];
    }
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** Connect's own source task metrics of a connector, read from the worker's JMX exporter. */
export interface SourceTaskMetrics {
  /** `source-record-write-rate` (records/s, Connect's windowed rate), summed over tasks. */
  writeRate: number;
  /** `source-record-write-total`, summed over tasks. */
  writeTotal: number;
  /** `source-record-poll-total`, summed over tasks. */
  pollTotal: number;
}

/** Reads {@linkcode SourceTaskMetrics} of a connector from a JMX exporter URL. */
export async function sourceTaskMetrics(
  metricsUrl: string,
  connector: string,
): Promise<SourceTaskMetrics> {
  const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET ${metricsUrl} answered ${res.status}`);
  const rows = parsePrometheusText(await res.text()).filter((r) =>
    r.labels.connector === connector
  );
  const sum = (name: string) =>
    rows.filter((r) => r.name === name).reduce((s, r) => s + (isFinite(r.value) ? r.value : 0), 0);
  return {
    writeRate: sum("kafka_connect_source_task_source_record_write_rate"),
    writeTotal: sum("kafka_connect_source_task_source_record_write_total"),
    pollTotal: sum("kafka_connect_source_task_source_record_poll_total"),
  };
}
