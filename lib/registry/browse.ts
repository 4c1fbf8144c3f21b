/**
 * Reading a schema registry through its Confluent-compatible REST API, for pages that show it:
 * subjects, a subject's versions, one version's schema, and the compatibility level (global,
 * and a subject's own when it has one). Read only: registering stays with
 * {@linkcode registerSchema} in lib/registry/client.ts. Refusals surface as
 * {@linkcode RegistryError} with the HTTP status (0: the registry did not answer).
 *
 * @example
 * ```ts
 * import { RegistryReader } from "./browse.ts";
 * import { registryConfigFromEnv } from "./client.ts";
 * const reader = new RegistryReader(registryConfigFromEnv());
 * for (const subject of await reader.subjects()) console.log(subject, await reader.versions(subject));
 * ```
 * @module
 */
import type { RegistryConfig } from "./client.ts";

/** The registry refused a request (HTTP status; 0 when it did not answer). */
export class RegistryError extends Error {
  override name = "RegistryError";
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

/** One registered version of a subject. */
export interface SchemaVersion {
  subject: string;
  version: number;
  /** The registry's global id of the schema. */
  id: number;
  /** `AVRO` (the Confluent default when the registry leaves it out), `JSON`, `PROTOBUF`. */
  schemaType: string;
  /** The schema as registered (for Avro and JSON Schema: JSON text). */
  schema: string;
}

/** A compatibility level and where it comes from. */
export interface Compatibility {
  level: string;
  /** `subject` when the subject sets its own, `global` when it inherits the registry's. */
  source: "subject" | "global";
}

/** A read-only client of a registry's REST API; see the module doc. */
export class RegistryReader {
  readonly #headers: Record<string, string> = { accept: "application/json" };
  readonly #client?: Deno.HttpClient;

  constructor(readonly config: RegistryConfig, readonly timeoutMs = 8_000) {
    if (config.username) {
      this.#headers.authorization = `Basic ${btoa(`${config.username}:${config.password}`)}`;
    }
    if (config.caFile) {
      this.#client = Deno.createHttpClient({ caCerts: [Deno.readTextFileSync(config.caFile)] });
    }
  }

  async #get<T>(path: string): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.config.url}${path}`, {
        headers: this.#headers,
        client: this.#client,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new RegistryError(
        `the schema registry at ${this.config.url} is not reachable (${(err as Error).message})`,
        0,
      );
    }
    const text = await res.text();
    if (!res.ok) {
      let message = text.slice(0, 300);
      try {
        message = JSON.parse(text).message ?? message;
      } catch { /* not JSON */ }
      throw new RegistryError(
        `the schema registry answered GET ${path} with HTTP ${res.status}: ${message}`,
        res.status,
      );
    }
    return JSON.parse(text) as T;
  }

  /** Every subject, sorted. */
  async subjects(): Promise<string[]> {
    return (await this.#get<string[]>("/subjects")).sort();
  }

  /** A subject's versions, oldest first; a {@linkcode RegistryError} 404 when it has none. */
  async versions(subject: string): Promise<number[]> {
    const v = await this.#get<number[]>(`/subjects/${encodeURIComponent(subject)}/versions`);
    return v.sort((a, b) => a - b);
  }

  /** One version of a subject with its schema. */
  async version(subject: string, version: number): Promise<SchemaVersion> {
    const v = await this.#get<Partial<SchemaVersion>>(
      `/subjects/${encodeURIComponent(subject)}/versions/${version}`,
    );
    return {
      subject,
      version: v.version ?? version,
      id: v.id ?? -1,
      schemaType: v.schemaType ?? "AVRO",
      schema: v.schema ?? "",
    };
  }

  /** The compatibility level of `subject` (its own, else the global one), or the global one. */
  async compatibility(subject?: string): Promise<Compatibility> {
    if (subject !== undefined) {
      try {
        const own = await this.#get<{ compatibilityLevel?: string; compatibility?: string }>(
          `/config/${encodeURIComponent(subject)}`,
        );
        const level = own.compatibilityLevel ?? own.compatibility;
        if (level) return { level, source: "subject" };
      } catch (err) {
        if (!(err instanceof RegistryError && err.status === 404)) throw err;
      }
    }
    const global = await this.#get<{ compatibilityLevel?: string; compatibility?: string }>(
      "/config",
    );
    return { level: global.compatibilityLevel ?? global.compatibility ?? "?", source: "global" };
  }

  /** Releases the TLS client, if any. */
  close(): void {
    this.#client?.close();
  }
}
