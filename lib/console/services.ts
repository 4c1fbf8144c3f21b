/**
 * The services the console operates beside a Kafka cluster: its Kafka Connect clusters and its
 * schema registry. {@linkcode attachServices} gives the `main` cluster the stack's Connect
 * worker (`KAFKA_CONNECT_URL`, else the running stack's, named `connect`) and the stack's
 * registry (`KAFKA_SCHEMA_REGISTRY_URL`, else the running stack's, with its credentials);
 * `CONSOLE_CONNECT` adds Connect clusters to any cluster (`cluster/name=url;…`).
 *
 * @example
 * ```ts
 * import { parseConsoleConnect } from "./services.ts";
 * parseConsoleConnect("main/cdc=http://127.0.0.1:8083"); // [{ cluster: "main", name: "cdc", url: "http://127.0.0.1:8083" }]
 * ```
 * @module
 */
import { ConfigError, localEndpoints } from "../env/mod.ts";
import { type RegistryConfig, registryConfigFromEnv } from "../registry/mod.ts";

/** A Kafka Connect cluster the console shows: a name unique within its Kafka cluster, a REST URL. */
export interface ConnectTarget {
  name: string;
  url: string;
}

/** What a cluster entry needs for its services. */
interface WithServices {
  name: string;
  connect?: ConnectTarget[];
  registry?: RegistryConfig;
}

type Env = { get(name: string): string | undefined };

const NAME = /^[a-z][a-z0-9-]{0,30}$/;

/** `CONSOLE_CONNECT` entries: `cluster/name=url`, separated by `;`. */
export function parseConsoleConnect(text: string): (ConnectTarget & { cluster: string })[] {
  const out: (ConnectTarget & { cluster: string })[] = [];
  for (const entry of text.split(";").map((s) => s.trim()).filter(Boolean)) {
    const m = entry.match(/^([^/=]+)\/([^/=]+)=(.+)$/);
    const [cluster, name, url] = m ? [m[1].trim(), m[2].trim(), m[3].trim()] : [];
    if (!cluster || !name || !url || !NAME.test(cluster) || !NAME.test(name)) {
      throw new ConfigError(
        `Cannot use CONSOLE_CONNECT entry '${entry}' as it must be cluster/name=http://host:port`,
      );
    }
    if (!/^https?:\/\/[^\s/]+/.test(url)) {
      throw new ConfigError(
        `Cannot use CONSOLE_CONNECT entry '${entry}' as its URL must be http(s)://host:port`,
      );
    }
    out.push({ cluster, name, url: url.replace(/\/$/, "") });
  }
  return out;
}

/** The main cluster's Connect worker from env or the running stack, if any. */
function stackConnect(env: Env): ConnectTarget | undefined {
  const url = env.get("KAFKA_CONNECT_URL") || (localEndpoints().connectUrl as string | undefined);
  return url ? { name: "connect", url: url.replace(/\/$/, "") } : undefined;
}

/** The main cluster's registry from env or the running stack, if any. */
function stackRegistry(env: Env): RegistryConfig | undefined {
  if (!env.get("KAFKA_SCHEMA_REGISTRY_URL") && !localEndpoints().schemaRegistryUrl) {
    return undefined;
  }
  return registryConfigFromEnv(env);
}

/** Gives each cluster of `clusters` its Connect clusters and registry (see the module doc). */
export function attachServices(clusters: WithServices[], env: Env): void {
  const main = clusters.find((c) => c.name === "main");
  if (main) {
    const worker = stackConnect(env);
    main.connect = worker ? [worker] : [];
    main.registry = stackRegistry(env);
  }
  for (const extra of parseConsoleConnect(env.get("CONSOLE_CONNECT") ?? "")) {
    const cluster = clusters.find((c) => c.name === extra.cluster);
    if (!cluster) {
      const known = clusters.map((c) => c.name).join(", ");
      throw new ConfigError(
        `CONSOLE_CONNECT names cluster '${extra.cluster}', which the console lacks (it has ${known})`,
      );
    }
    cluster.connect ??= [];
    if (cluster.connect.some((c) => c.name === extra.name)) {
      throw new ConfigError(
        `CONSOLE_CONNECT names Connect cluster '${extra.name}' of '${extra.cluster}' twice`,
      );
    }
    cluster.connect.push({ name: extra.name, url: extra.url });
  }
}
