/**
 * One place that says where the platform's components are: cluster A (bootstrap, CA, the file of
 * its principals' SASL passwords), cluster B, PostgreSQL, Kafka Connect, HDFS (WebHDFS and
 * fs.defaultFS), the Spark master, Prometheus, the SHOP API's store keys and the ports of the
 * platform's own services.
 *
 * Each value is looked up in this order: an env variable of the key's name, the platform config
 * file (`PLATFORM_CONFIG=path`, lines `KEY=value`, `#` comments), the running local stack
 * (`<STACK_DIR>/endpoints.json`). So with no file the platform runs on the local stack as it always
 * did, a file points it at real clusters, and an env variable still overrides one value.
 *
 * {@linkcode applyPlatformConfig} is the first line of every platform task: it resolves the
 * config and hands it to the task's clients through the variables they already read
 * (`KAFKA_BOOTSTRAP_SERVERS`, `KAFKA_SASL_PASSWORD`, `POSTGRES_URL`, `WEBHDFS_URL`, …), never
 * replacing one the user set.
 *
 * @example
 * ```ts
 * import { applyPlatformConfig, resolvePlatformConfig } from "./platform_config.ts";
 * applyPlatformConfig("shop-api"); // PLATFORM_CONFIG=platform.env deno task final:shop-api
 * const config = resolvePlatformConfig(); // values and where each came from
 * ```
 * @module
 */
import { ConfigError, defaultStackDir, localEndpoints, parseIntValue } from "../env/mod.ts";
import { join } from "node:path";
import { type FinalService, PRINCIPALS, SERVICE_PORTS } from "./topology.ts";

/** Where a value came from. */
export type ConfigSource = "env" | "file" | "stack" | "default";

/** One key of the platform config. */
interface KeySpec {
  description: string;
  /** The value the running local stack gives, if any. */
  stack?: (endpoints: ReturnType<typeof localEndpoints>, stackDir: string) => string | undefined;
}

type Endpoints = ReturnType<typeof localEndpoints>;
const secure = (ep: Endpoints) =>
  ep.kafkaSecure as { caFile?: string; secretsFile?: string } | undefined;
const offset = () => {
  const raw = Deno.env.get("STACK_PORT_OFFSET")?.trim();
  return raw ? parseIntValue("STACK_PORT_OFFSET", raw, { min: 0, max: 50_000 }) : 0;
};
const port = (service: FinalService) => () => String(SERVICE_PORTS[service] + offset());

/** The keys of the platform config file (and env variables of the same names). */
export const PLATFORM_KEYS = {
  PLATFORM_A_BOOTSTRAP: {
    description: "cluster A (SASL_SSL): bootstrap servers host:port,…",
    stack: (ep) => ep.kafka.secure,
  },
  PLATFORM_A_CA_FILE: {
    description: "cluster A: PEM file of the CA that signed its brokers' certificates",
    stack: (ep) => secure(ep)?.caFile,
  },
  PLATFORM_A_PASSWORDS_FILE: {
    description: 'cluster A: JSON file of SASL passwords by principal, {"users": {"shop-api": …}}',
    stack: (ep) => secure(ep)?.secretsFile,
  },
  PLATFORM_A_SASL_MECHANISM: {
    description: "cluster A: plain, scram-sha-256 or scram-sha-512",
    stack: () => "scram-sha-512",
  },
  PLATFORM_B_BOOTSTRAP: {
    description: "cluster B (the mirror, PLAINTEXT): bootstrap servers",
    stack: (ep) => ep.kafka.mirror,
  },
  PLATFORM_POSTGRES_URL: {
    description: "PostgreSQL: postgres://user:password@host:port/db",
    stack: (ep) => ep.postgresUrl,
  },
  PLATFORM_CONNECT_URL: {
    description: "Kafka Connect REST URL (the JDBC sink and the forbidden-list CDC)",
    stack: (ep) => ep.connectUrl as string | undefined,
  },
  PLATFORM_WEBHDFS_URL: {
    description: "HDFS NameNode's WebHDFS URL: http://namenode:9870/webhdfs/v1",
    stack: (ep) => ep.webhdfsUrl as string | undefined,
  },
  PLATFORM_HDFS_URL: {
    description: "HDFS as Spark names it (fs.defaultFS): hdfs://namenode:9000",
    stack: (ep) => ep.hdfsUrl as string | undefined,
  },
  PLATFORM_SPARK_MASTER: {
    description: "Spark master: spark://host:7077, yarn or local[N]",
    stack: (ep) => (ep.sparkMasterUrl as string | undefined) ?? "local[2]",
  },
  PLATFORM_PROMETHEUS_URL: {
    description: "Prometheus URL (the dashboard's data)",
    stack: (ep) => ep.prometheusUrl as string | undefined,
  },
  PLATFORM_STORE_KEYS_FILE: {
    description: "the SHOP API's store keys (JSON, 0600; deno task final:stores)",
    stack: (_ep, dir) => join(dir, "secrets", "final", "store-keys.json"),
  },
  PLATFORM_JWT_SECRET_FILE: {
    description:
      "the CLIENT API's identity key (HS256 secret; deno task final:token signs with it)",
    stack: (_ep, dir) => join(dir, "secrets", "final", "identity-key"),
  },
  PLATFORM_JWKS_URL: {
    description: "an identity provider's JWKS URL: the CLIENT API verifies tokens with it instead",
  },
  PLATFORM_SHOP_API_PORT: { description: "port of the SHOP API", stack: port("shop-api") },
  PLATFORM_CLIENT_API_PORT: { description: "port of the CLIENT API", stack: port("client-api") },
  PLATFORM_PRODUCT_FILTER_PORT: {
    description: "port of the product filter's /metrics",
    stack: port("product-filter"),
  },
  PLATFORM_LAKE_SINK_PORT: {
    description: "port of the lake sink's /metrics",
    stack: port("lake-sink"),
  },
  PLATFORM_EXPORTER_PORT: {
    description: "port of the platform exporter's /metrics",
    stack: port("platform-exporter"),
  },
} satisfies Record<string, KeySpec>;

/** A key of the platform config. */
export type PlatformKey = keyof typeof PLATFORM_KEYS;

/** The config's values and where each came from; a key nothing gives is absent. */
export interface PlatformConfig {
  /** The file read, if any. */
  file?: string;
  values: Partial<Record<PlatformKey, string>>;
  sources: Partial<Record<PlatformKey, ConfigSource>>;
}

/**
 * Parses a platform config file's text: `KEY=value` lines, blank lines and `#` comments; quotes
 * around a value are taken off. An unknown key or a line that is not `KEY=value` is an error
 * naming the file and line (a typo must not silently fall back to the local stack).
 */
export function parsePlatformConfig(
  text: string,
  file: string,
): Partial<Record<PlatformKey, string>> {
  const values: Partial<Record<PlatformKey, string>> = {};
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const m = /^(?:export\s+)?([A-Z0-9_]+)\s*=\s*(.*)$/.exec(line);
    if (!m) throw new ConfigError(`${file}:${i + 1}: expected KEY=value, got '${line}'`);
    const [, key, rawValue] = m;
    if (!(key in PLATFORM_KEYS)) {
      throw new ConfigError(
        `${file}:${i + 1}: unknown key ${key} (known: ${Object.keys(PLATFORM_KEYS).join(", ")})`,
      );
    }
    values[key as PlatformKey] = rawValue.replace(/^(["'])(.*)\1$/, "$2");
  });
  for (const key of Object.keys(values) as PlatformKey[]) checkValue(key, values[key]!, file);
  return values;
}

/** Checks a value's shape (ports are ports, URLs parse, host:port lists have ports). */
function checkValue(key: PlatformKey, value: string, where: string): void {
  const bad = (must: string) =>
    new ConfigError(
      `Cannot use ${key} (${where}) as it must be ${must}: current value is '${value}'`,
    );
  if (key.endsWith("_PORT")) {
    parseIntValue(`${key} (${where})`, value, { min: 0, max: 65_535 });
  } else if (key.endsWith("_BOOTSTRAP")) {
    if (!value.split(",").every((hp) => /^[^:\s,]+:\d{1,5}$/.test(hp.trim()))) {
      throw bad("host:port[,host:port…]");
    }
  } else if (key.endsWith("_URL")) {
    try {
      new URL(value);
    } catch {
      throw bad("a URL");
    }
  } else if (key === "PLATFORM_A_SASL_MECHANISM") {
    if (!["plain", "scram-sha-256", "scram-sha-512"].includes(value)) {
      throw bad("plain, scram-sha-256 or scram-sha-512");
    }
  }
}

/**
 * Resolves every key: env variable, else the file of `PLATFORM_CONFIG` (or `file`), else the
 * running local stack. Throws {@linkcode ConfigError} naming the key, file and line of a bad value.
 */
export function resolvePlatformConfig(
  options: { file?: string; stackDir?: string; env?: { get(name: string): string | undefined } } =
    {},
): PlatformConfig {
  const env = options.env ?? Deno.env;
  const file = options.file ?? (env.get("PLATFORM_CONFIG")?.trim() || undefined);
  let fromFile: Partial<Record<PlatformKey, string>> = {};
  if (file) {
    let text: string;
    try {
      text = Deno.readTextFileSync(file);
    } catch (err) {
      throw new ConfigError(
        `Cannot read the platform config PLATFORM_CONFIG=${file}: ${(err as Error).message}`,
      );
    }
    fromFile = parsePlatformConfig(text, file);
  }
  const stackDir = options.stackDir ?? defaultStackDir();
  const endpoints = localEndpoints(stackDir);
  const config: PlatformConfig = { file, values: {}, sources: {} };
  for (const [key, spec] of Object.entries(PLATFORM_KEYS) as [PlatformKey, KeySpec][]) {
    const fromEnv = env.get(key)?.trim();
    if (fromEnv) checkValue(key, fromEnv, "env");
    const [value, source]: [string | undefined, ConfigSource] = fromEnv
      ? [fromEnv, "env"]
      : fromFile[key] !== undefined
      ? [fromFile[key], "file"]
      : [spec.stack?.(endpoints, stackDir), "stack"];
    if (value === undefined || value === "") continue;
    config.values[key] = value;
    config.sources[key] = source;
  }
  return config;
}

/** What a platform task is, for the variables it gets: which principal it uses on cluster A. */
export type PlatformRole =
  | "shop-api"
  | "product-filter"
  | "client-api"
  | "lake-sink"
  | "platform-exporter"
  | "admin"
  | "analytics"
  | "connect"
  | "tool";

const PRINCIPAL_OF: Partial<Record<PlatformRole, string>> = {
  "shop-api": PRINCIPALS.shopApi,
  "product-filter": PRINCIPALS.productFilter,
  "client-api": PRINCIPALS.clientApi,
  "platform-exporter": "admin",
  admin: "admin",
  analytics: PRINCIPALS.analytics,
};

/** The SASL password of `principal` in cluster A's passwords file, if the file has it. */
export function passwordOf(config: PlatformConfig, principal: string): string | undefined {
  const file = config.values.PLATFORM_A_PASSWORDS_FILE;
  if (!file) return undefined;
  let users: Record<string, string> | undefined;
  try {
    users = JSON.parse(Deno.readTextFileSync(file)).users;
  } catch (err) {
    throw new ConfigError(
      `Cannot read PLATFORM_A_PASSWORDS_FILE=${file}: ${(err as Error).message}`,
    );
  }
  return users?.[principal];
}

/**
 * The variables a task of `role` reads, from the config: cluster A's bootstrap, CA, mechanism
 * and its principal's password; cluster B for the lake sink and the exporter; PostgreSQL,
 * Connect, HDFS, Spark, Prometheus; the service's own port.
 */
export function roleEnv(config: PlatformConfig, role: PlatformRole): Record<string, string> {
  const v = config.values;
  const out: Record<string, string | undefined> = {
    POSTGRES_URL: v.PLATFORM_POSTGRES_URL,
    KAFKA_CONNECT_URL: v.PLATFORM_CONNECT_URL,
    CONNECT_URL: v.PLATFORM_CONNECT_URL,
    WEBHDFS_URL: v.PLATFORM_WEBHDFS_URL,
    HDFS_URL: v.PLATFORM_HDFS_URL,
    SPARK_MASTER: v.PLATFORM_SPARK_MASTER,
    PROMETHEUS_URL: v.PLATFORM_PROMETHEUS_URL,
    SHOP_API_KEYS_FILE: v.PLATFORM_STORE_KEYS_FILE,
    CLIENT_API_JWT_SECRET_FILE: v.PLATFORM_JWT_SECRET_FILE,
    CLIENT_API_JWKS_URL: v.PLATFORM_JWKS_URL,
    FINAL_A_BOOTSTRAP: v.PLATFORM_A_BOOTSTRAP,
    FINAL_B_BOOTSTRAP: v.PLATFORM_B_BOOTSTRAP,
    FINAL_KAFKA_BOOTSTRAP_SERVERS: v.PLATFORM_A_BOOTSTRAP,
    LAKE_BOOTSTRAP_SERVERS: v.PLATFORM_B_BOOTSTRAP,
    SHOP_API_PORT: v.PLATFORM_SHOP_API_PORT,
    CLIENT_API_PORT: v.PLATFORM_CLIENT_API_PORT,
    LAKE_METRICS_PORT: v.PLATFORM_LAKE_SINK_PORT,
  };
  if (role === "product-filter") out.METRICS_PORT = v.PLATFORM_PRODUCT_FILTER_PORT;
  const principal = PRINCIPAL_OF[role];
  if (principal && role !== "lake-sink") {
    // The lake sink's KAFKA_* are cluster B's; every other role's are cluster A's.
    out.KAFKA_BOOTSTRAP_SERVERS = v.PLATFORM_A_BOOTSTRAP;
    out.KAFKA_SSL_CA_FILE = v.PLATFORM_A_CA_FILE;
    out.KAFKA_SASL_MECHANISM = v.PLATFORM_A_SASL_MECHANISM;
    out.KAFKA_SASL_PASSWORD = passwordOf(config, principal);
  }
  return Object.fromEntries(
    Object.entries(out).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ""),
  );
}

/**
 * Resolves the platform config and sets the variables of `role` that are not set yet (an env
 * variable always wins). With no `PLATFORM_CONFIG` and no `PLATFORM_*` variable it changes
 * nothing: the task reads the local stack as before. Returns the config.
 */
export function applyPlatformConfig(role: PlatformRole): PlatformConfig {
  const config = resolvePlatformConfig();
  const fromStack = Object.values(config.sources).every((s) => s === "stack");
  if (fromStack) return config;
  const set = (name: string, value: string) => {
    if (!Deno.env.get(name)?.trim()) Deno.env.set(name, value);
  };
  // The file's own keys too: servicePort() reads the ports, child processes inherit them.
  for (const [key, value] of Object.entries(config.values)) {
    if (config.sources[key as PlatformKey] === "file") set(key, value);
  }
  for (const [name, value] of Object.entries(roleEnv(config, role))) set(name, value);
  return config;
}

/** The config as a file's text (what `final:check --print` writes): every key, commented. */
export function formatPlatformConfig(config: PlatformConfig): string {
  const lines = [
    "# The platform's components (deno task final:check reads it: PLATFORM_CONFIG=this-file).",
    "# An env variable of the same name overrides a line; a key left out comes from the local stack.",
  ];
  for (const [key, spec] of Object.entries(PLATFORM_KEYS) as [PlatformKey, KeySpec][]) {
    lines.push("", `# ${spec.description}`);
    const value = config.values[key];
    lines.push(value === undefined ? `# ${key}=` : `${key}=${value}`);
  }
  return lines.join("\n") + "\n";
}
