/**
 * Schema registry access for practice 7: the Confluent wire format (magic byte 0, 4-byte
 * schema id, Avro body) through `@kafkajs/confluent-schema-registry`, configured from env so
 * the same tasks run against the local stack's registry or a managed cloud one.
 *
 * Env: `KAFKA_SCHEMA_REGISTRY_URL` (the seed's name; `host:port` or a URL; default: the
 * local stack's), `SCHEMA_REGISTRY_USERNAME` / `SCHEMA_REGISTRY_PASSWORD` (basic auth),
 * `SCHEMA_REGISTRY_CA_FILE` (PEM of the CA of an https registry).
 *
 * @example
 * ```ts
 * import { createRegistry, registerSchema, registryConfigFromEnv } from "./client.ts";
 * const registry = createRegistry(registryConfigFromEnv());
 * const id = await registerSchema(registry, "users-value", USER_AVRO_V1);
 * const bytes = await registry.encode(id, { name: "Ann", favorite_number: 7 });
 * ```
 * @module
 */
import { Agent as HttpsAgent } from "node:https";
import { SchemaRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import { ConfigError, envString } from "../env/mod.ts";
import { localEndpoints, STACK_PORTS } from "../env/mod.ts";

/** How to reach the registry. */
export interface RegistryConfig {
  /** Base URL of the Confluent-compatible API. */
  url: string;
  /** Basic-auth user. */
  username?: string;
  /** Basic-auth password. */
  password?: string;
  /** PEM file of the CA that signed an https registry's certificate. */
  caFile?: string;
}

/** Reads {@linkcode RegistryConfig} from env (see the module doc). */
export function registryConfigFromEnv(
  env: { get(name: string): string | undefined } = Deno.env,
): RegistryConfig {
  const local = localEndpoints().schemaRegistryUrl as string | undefined;
  let url = envString(
    "KAFKA_SCHEMA_REGISTRY_URL",
    local ?? `http://localhost:${STACK_PORTS.registry}`,
    env,
  );
  if (!/^https?:\/\//.test(url)) url = `http://${url}`;
  try {
    new URL(url);
  } catch {
    throw new ConfigError(
      `Cannot use KAFKA_SCHEMA_REGISTRY_URL as it must be a URL or host:port: current value is '${url}'`,
    );
  }
  let username = env.get("SCHEMA_REGISTRY_USERNAME") || undefined;
  let password = env.get("SCHEMA_REGISTRY_PASSWORD") || undefined;
  const localCreds = localEndpoints().schemaRegistryCredentialsFile as string | undefined;
  if (!username && !password && localCreds && !env.get("KAFKA_SCHEMA_REGISTRY_URL")) {
    // The local stack's registry requires basic auth when the stack is secure.
    ({ username, password } = JSON.parse(Deno.readTextFileSync(localCreds)));
  }
  if ((username === undefined) !== (password === undefined)) {
    throw new ConfigError(
      "SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD must be set together",
    );
  }
  const caFile = env.get("SCHEMA_REGISTRY_CA_FILE") || undefined;
  if (caFile) {
    try {
      Deno.statSync(caFile);
    } catch {
      throw new ConfigError(
        `Cannot use SCHEMA_REGISTRY_CA_FILE as the file does not exist: current value is '${caFile}'`,
      );
    }
  }
  return { url: url.replace(/\/$/, ""), username, password, caFile };
}

/** A registry client for {@linkcode RegistryConfig}. */
export function createRegistry(config: RegistryConfig): SchemaRegistry {
  const agent = config.caFile
    ? new HttpsAgent({ ca: Deno.readTextFileSync(config.caFile), keepAlive: true })
    : undefined;
  return new SchemaRegistry({
    host: config.url,
    clientId: "practicum",
    auth: config.username ? { username: config.username, password: config.password! } : undefined,
    // deno-lint-ignore no-explicit-any
    agent: agent as any,
    retry: { retries: 2 },
  });
}

/** Raised when the registry refuses a schema as incompatible with earlier versions. */
export class IncompatibleSchemaError extends Error {
  override name = "IncompatibleSchemaError";
  constructor(readonly subject: string, readonly detail: string) {
    super(
      `The schema registry refused the new schema for subject '${subject}': it is incompatible ` +
        `with an earlier version under the subject's compatibility rule (${detail})`,
    );
  }
}

/**
 * A one-line explanation of a registry failure the user can act on (bad credentials, no
 * registry at the URL), or undefined when it is none of those.
 */
export function explainRegistryError(err: unknown, config: RegistryConfig): string | undefined {
  const e = err as { status?: number; message?: string; code?: string };
  if (e.status === 401 || e.status === 403) {
    return config.username
      ? `The schema registry at ${config.url} refused the credentials of user '${config.username}' (${e.status}); check SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD`
      : `The schema registry at ${config.url} requires authentication (${e.status}); set SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD`;
  }
  if (/ECONNREFUSED|Connection refused|ENOTFOUND/.test(`${e.code ?? ""} ${e.message ?? ""}`)) {
    return `No schema registry answers at ${config.url}; start it with \`deno task stack up --registry\` or set KAFKA_SCHEMA_REGISTRY_URL`;
  }
  return undefined;
}

/** Subject of a topic's values (Confluent's TopicNameStrategy). */
export function valueSubject(topic: string): string {
  return `${topic}-value`;
}

/**
 * Registers an Avro schema under `subject` (BACKWARD compatibility, set on first use) and
 * returns its id; an already registered schema returns its existing id.
 * Throws {@linkcode IncompatibleSchemaError} when the registry refuses it.
 */
export async function registerSchema(
  registry: SchemaRegistry,
  subject: string,
  schema: object,
): Promise<number> {
  try {
    const { id } = await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
      { subject },
    );
    return id;
  } catch (err) {
    const e = err as { status?: number; message?: string };
    if (e.status === 409) {
      const detail = String(e.message ?? "")
        .replace(/^\S+ - /, "")
        .replace(/^[\w.]+Exception: /, "");
      throw new IncompatibleSchemaError(subject, detail);
    }
    throw err;
  }
}

/** Versions registered under a subject, oldest first (empty when none). */
export async function subjectVersions(config: RegistryConfig, subject: string): Promise<number[]> {
  const headers: Record<string, string> = {};
  if (config.username) {
    headers.authorization = `Basic ${btoa(`${config.username}:${config.password}`)}`;
  }
  const res = await fetch(`${config.url}/subjects/${encodeURIComponent(subject)}/versions`, {
    headers,
  });
  if (res.status === 404) {
    await res.body?.cancel();
    return [];
  }
  if (!res.ok) throw new Error(`GET /subjects/${subject}/versions answered ${res.status}`);
  return await res.json();
}
