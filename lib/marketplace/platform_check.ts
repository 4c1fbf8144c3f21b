/**
 * `final:check`'s probes: each component of the platform config (platform_config.ts) reached
 * the way the platform reaches it — cluster A over SASL_SSL as each principal the services
 * use, cluster B, PostgreSQL, Kafka Connect, WebHDFS and HDFS's RPC port, the Spark master,
 * Prometheus, the store keys, and the platform's own services' `/healthz` — one line each:
 * ok with what was seen, or what is wrong and how to fix it. Every probe has its own short
 * timeout and never throws.
 *
 * @example
 * ```ts
 * import { checkPlatform } from "./platform_check.ts";
 * import { resolvePlatformConfig } from "./platform_config.ts";
 * for (const line of await checkPlatform(resolvePlatformConfig())) console.log(line.component, line.ok);
 * ```
 * @module
 */
import { createKafka, kafkaConfigFromEnv, secureKafkaConfigFromEnv } from "../kafka/mod.ts";
import { withClient } from "../connect/mod.ts";
import { ConnectClient } from "../connect/mod.ts";
import { WebHdfs } from "../lake/mod.ts";
import { passwordOf, type PlatformConfig, type PlatformKey, roleEnv } from "./platform_config.ts";
import { PRINCIPALS } from "./topology.ts";
import { readStoreKeyFile } from "./store_keys.ts";
import { readIdentityKey } from "./client_api.ts";

/** One component's verdict. */
export interface CheckLine {
  component: string;
  ok: boolean;
  /** What was seen (ok), or what is wrong and how to fix it. */
  detail: string;
  /** The config key(s) that say where it is. */
  keys: PlatformKey[];
}

/** How long one probe waits for an answer (a refused connection fails at once). */
const TIMEOUT_MS = 15_000;

/** The principals the platform's services and tasks use on cluster A. */
const A_PRINCIPALS = [
  "admin",
  PRINCIPALS.shopApi,
  PRINCIPALS.productFilter,
  PRINCIPALS.clientApi,
  PRINCIPALS.analytics,
];

/** The platform's own services: config key of the port, and how to start one. */
const SERVICES: { name: string; key: PlatformKey }[] = [
  { name: "shop-api", key: "PLATFORM_SHOP_API_PORT" },
  { name: "product-filter", key: "PLATFORM_PRODUCT_FILTER_PORT" },
  { name: "client-api", key: "PLATFORM_CLIENT_API_PORT" },
  { name: "lake-sink", key: "PLATFORM_LAKE_SINK_PORT" },
  { name: "platform-exporter", key: "PLATFORM_EXPORTER_PORT" },
];

function message(err: unknown): string {
  const e = err as Error & { cause?: unknown };
  const cause = e?.cause instanceof Error ? ` (${e.cause.message})` : "";
  return `${e?.message ?? String(err)}${cause}`.replace(/\s+/g, " ").slice(0, 240);
}

async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s (${what})`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** ok with what was seen, or `where: error — fix`. */
function verdict(
  component: string,
  keys: PlatformKey[],
  error: string | undefined,
  text: { ok: string; where: string; fix: string },
): CheckLine {
  return error
    ? { component, ok: false, detail: `${text.where}: ${error} — ${text.fix}`, keys }
    : { component, ok: true, detail: text.ok, keys };
}

/** Unset key: one line saying which key to set. */
function missing(component: string, keys: PlatformKey[]): CheckLine {
  return {
    component,
    ok: false,
    detail: `not configured: set ${keys.join(" / ")} in the platform config (or start the ` +
      "local stack: deno task stack up)",
    keys,
  };
}

/** Cluster A: metadata as admin, then a SASL handshake as every principal of the platform. */
export async function checkClusterA(config: PlatformConfig): Promise<CheckLine> {
  const keys: PlatformKey[] = [
    "PLATFORM_A_BOOTSTRAP",
    "PLATFORM_A_CA_FILE",
    "PLATFORM_A_PASSWORDS_FILE",
  ];
  const bootstrap = config.values.PLATFORM_A_BOOTSTRAP;
  if (!bootstrap) return missing("cluster A", keys);
  const fix = "check PLATFORM_A_BOOTSTRAP, the CA file and the passwords file; locally: " +
    "deno task stack up --secure";
  let brokers = 0;
  const env = roleEnv(config, "admin");
  for (const principal of A_PRINCIPALS) {
    let password: string | undefined;
    try {
      password = passwordOf(config, principal);
    } catch (err) {
      return { component: "cluster A", ok: false, detail: message(err), keys };
    }
    if (!password) {
      return {
        component: "cluster A",
        ok: false,
        detail: `no password for principal '${principal}' in PLATFORM_A_PASSWORDS_FILE`,
        keys,
      };
    }
    const options = secureKafkaConfigFromEnv(principal, {
      clientId: "final-check",
      logLevel: "NOTHING",
      connectionTimeout: TIMEOUT_MS,
      retries: 0,
    }, { get: (n) => n === "KAFKA_SASL_PASSWORD" ? password : env[n] });
    const admin = createKafka(options).admin();
    try {
      await within(TIMEOUT_MS * 2, `cluster A at ${bootstrap} as ${principal}`, admin.connect());
      if (principal === "admin") {
        brokers = (await within(TIMEOUT_MS, "describeCluster", admin.describeCluster())).brokers
          .length;
      }
    } catch (err) {
      return {
        component: "cluster A",
        ok: false,
        detail: `${bootstrap} as '${principal}': ${message(err)} — ${fix}`,
        keys,
      };
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }
  return {
    component: "cluster A",
    ok: true,
    detail: `${bootstrap}: ${brokers} brokers; SASL_SSL as ${A_PRINCIPALS.join(", ")}`,
    keys,
  };
}

/** Cluster B: its metadata (PLAINTEXT, as MirrorMaker 2 and the lake sink read it). */
export async function checkClusterB(config: PlatformConfig): Promise<CheckLine> {
  const keys: PlatformKey[] = ["PLATFORM_B_BOOTSTRAP"];
  const bootstrap = config.values.PLATFORM_B_BOOTSTRAP;
  if (!bootstrap) return missing("cluster B", keys);
  const admin = createKafka(kafkaConfigFromEnv({
    clientId: "final-check",
    logLevel: "NOTHING",
    connectionTimeout: TIMEOUT_MS,
    retries: 0,
  }, { get: (n) => n === "KAFKA_BOOTSTRAP_SERVERS" ? bootstrap : undefined })).admin();
  try {
    await within(TIMEOUT_MS * 2, `cluster B at ${bootstrap}`, admin.connect());
    const { brokers } = await within(TIMEOUT_MS, "describeCluster", admin.describeCluster());
    return {
      component: "cluster B",
      ok: true,
      detail: `${bootstrap}: ${brokers.length} brokers`,
      keys,
    };
  } catch (err) {
    return {
      component: "cluster B",
      ok: false,
      detail: `${bootstrap}: ${message(err)} — check PLATFORM_B_BOOTSTRAP; locally: ` +
        "deno task stack up --mirror",
      keys,
    };
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** PostgreSQL: a connection and the server's version. */
export async function checkPostgres(config: PlatformConfig): Promise<CheckLine> {
  const keys: PlatformKey[] = ["PLATFORM_POSTGRES_URL"];
  const url = config.values.PLATFORM_POSTGRES_URL;
  if (!url) return missing("PostgreSQL", keys);
  const shown = url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
  try {
    const version = await within(
      TIMEOUT_MS,
      `PostgreSQL at ${shown}`,
      withClient(url, async (c) => (await c.query("SHOW server_version")).rows[0].server_version),
    );
    return { component: "PostgreSQL", ok: true, detail: `${shown}: server ${version}`, keys };
  } catch (err) {
    return {
      component: "PostgreSQL",
      ok: false,
      detail: `${shown}: ${message(err)} — check PLATFORM_POSTGRES_URL; locally: ` +
        "deno task stack up --postgres",
      keys,
    };
  }
}

/** Kafka Connect: its REST API and the connectors it runs. */
export async function checkConnect(config: PlatformConfig): Promise<CheckLine> {
  const keys: PlatformKey[] = ["PLATFORM_CONNECT_URL"];
  const url = config.values.PLATFORM_CONNECT_URL;
  if (!url) return missing("Kafka Connect", keys);
  try {
    const overview = await new ConnectClient({ url, timeoutMs: TIMEOUT_MS }).overview();
    const states = Object.entries(overview).map(([name, o]) =>
      `${name} ${o.status.connector.state}`
    );
    return {
      component: "Kafka Connect",
      ok: true,
      detail: `${url}: ${states.length ? states.join(", ") : "no connector yet"}`,
      keys,
    };
  } catch (err) {
    return {
      component: "Kafka Connect",
      ok: false,
      detail: `${url}: ${message(err)} — check PLATFORM_CONNECT_URL; locally: ` +
        "deno task stack up --connect",
      keys,
    };
  }
}

/** HDFS: the NameNode's WebHDFS answers a status of `/`, and its RPC port takes a connection. */
export async function checkHdfs(config: PlatformConfig): Promise<CheckLine> {
  const keys: PlatformKey[] = ["PLATFORM_WEBHDFS_URL", "PLATFORM_HDFS_URL"];
  const { PLATFORM_WEBHDFS_URL: web, PLATFORM_HDFS_URL: rpc } = config.values;
  if (!web || !rpc) return missing("HDFS", keys);
  const fix =
    "check PLATFORM_WEBHDFS_URL and PLATFORM_HDFS_URL; locally: deno task stack up --hdfs";
  try {
    const root = await new WebHdfs({ url: web, timeoutMs: TIMEOUT_MS }).stat("/");
    if (!root) throw new Error("no status of /");
  } catch (err) {
    return { component: "HDFS", ok: false, detail: `${web}: ${message(err)} — ${fix}`, keys };
  }
  const rpcError = await tcpError(rpc);
  if (rpcError) {
    return { component: "HDFS", ok: false, detail: `${rpc}: ${rpcError} — ${fix}`, keys };
  }
  return { component: "HDFS", ok: true, detail: `${web} answers; ${rpc} takes connections`, keys };
}

/** A TCP connection to a URL's host and port, or what stopped it. */
async function tcpError(url: string): Promise<string | undefined> {
  const u = new URL(url);
  try {
    const conn = await within(
      TIMEOUT_MS,
      `${u.host}`,
      Deno.connect({ hostname: u.hostname, port: Number(u.port) }),
    );
    conn.close();
    return undefined;
  } catch (err) {
    return message(err);
  }
}

/** The Spark master: a standalone master's port takes connections; local and yarn need none. */
export async function checkSpark(config: PlatformConfig): Promise<CheckLine> {
  const keys: PlatformKey[] = ["PLATFORM_SPARK_MASTER"];
  const master = config.values.PLATFORM_SPARK_MASTER;
  if (!master) return missing("Spark", keys);
  if (!master.startsWith("spark://")) {
    return {
      component: "Spark",
      ok: true,
      detail: `${master} (nothing to reach before a job)`,
      keys,
    };
  }
  return verdict("Spark", keys, await tcpError(master), {
    ok: `${master} takes connections`,
    where: master,
    fix: "check PLATFORM_SPARK_MASTER; locally: deno task stack up --spark",
  });
}

/** Prometheus: ready. */
export async function checkPrometheus(config: PlatformConfig): Promise<CheckLine> {
  const keys: PlatformKey[] = ["PLATFORM_PROMETHEUS_URL"];
  const url = config.values.PLATFORM_PROMETHEUS_URL;
  if (!url) return missing("Prometheus", keys);
  return verdict("Prometheus", keys, await httpError(`${url.replace(/\/$/, "")}/-/ready`), {
    ok: `${url} ready`,
    where: url,
    fix: "check PLATFORM_PROMETHEUS_URL; locally: deno task stack up --monitoring",
  });
}

async function httpError(url: string): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    await res.body?.cancel();
    return res.ok ? undefined : `HTTP ${res.status}`;
  } catch (err) {
    return message(err);
  }
}

/** The store keys file: readable JSON with at least one store. */
export async function checkStoreKeys(config: PlatformConfig): Promise<CheckLine> {
  const keys: PlatformKey[] = ["PLATFORM_STORE_KEYS_FILE"];
  const file = config.values.PLATFORM_STORE_KEYS_FILE;
  if (!file) return missing("store keys", keys);
  try {
    const stores = Object.keys(await readStoreKeyFile(file));
    return { component: "store keys", ok: true, detail: `${file}: ${stores.length} stores`, keys };
  } catch (err) {
    return {
      component: "store keys",
      ok: false,
      detail: `${message(err)} (deno task final:stores add STORE adds a store)`,
      keys,
    };
  }
}

/** The CLIENT API's identity: the provider's JWKS answers, else the key file holds a key. */
export async function checkIdentity(config: PlatformConfig): Promise<CheckLine> {
  const { PLATFORM_JWKS_URL: jwks, PLATFORM_JWT_SECRET_FILE: file } = config.values;
  if (jwks) {
    return verdict("identity", ["PLATFORM_JWKS_URL"], await httpError(jwks), {
      ok: `${jwks} answers (tokens verified with its keys)`,
      where: jwks,
      fix: "check PLATFORM_JWKS_URL",
    });
  }
  const keys: PlatformKey[] = ["PLATFORM_JWT_SECRET_FILE"];
  if (!file) return missing("identity", keys);
  try {
    await readIdentityKey(file, "PLATFORM_JWT_SECRET_FILE");
    return { component: "identity", ok: true, detail: `${file}: an HS256 key`, keys };
  } catch (err) {
    return {
      component: "identity",
      ok: false,
      detail: `${message(err)} (deno task final:token USER makes the stack's key on first use)`,
      keys,
    };
  }
}

/** Each platform service's /healthz on its port. */
export async function checkServices(config: PlatformConfig): Promise<CheckLine[]> {
  return await Promise.all(SERVICES.map(async ({ name, key }) => {
    const port = config.values[key];
    if (!port) return missing(name, [key]);
    return verdict(name, [key], await httpError(`http://127.0.0.1:${port}/healthz`), {
      ok: `port ${port}: healthy`,
      where: `port ${port}`,
      fix: `start it: deno task stack restart ${name} (or deno task demo)`,
    });
  }));
}

/** Every probe, the infrastructure first, then (unless `services` is false) the services. */
export async function checkPlatform(
  config: PlatformConfig,
  options: { services?: boolean } = {},
): Promise<CheckLine[]> {
  const lines = await Promise.all([
    checkClusterA(config),
    checkClusterB(config),
    checkPostgres(config),
    checkConnect(config),
    checkHdfs(config),
    checkSpark(config),
    checkPrometheus(config),
    checkStoreKeys(config),
    checkIdentity(config),
  ]);
  return options.services === false ? lines : [...lines, ...await checkServices(config)];
}
