/**
 * A schema registry speaking the Confluent Schema Registry REST API: Apicurio Registry
 * (bundle `apicurio-registry`, its distribution archive on Maven Central) run as a local
 * process, with its Confluent-compatible API at `/apis/ccompat/v7` and its schemas in an H2
 * database file in the stack's data folder, so they survive `stack down`.
 *
 * Confluent's own registry is not published on the registries this project may use;
 * Apicurio's "ccompat" API is what Confluent clients (serializers,
 * `@kafkajs/confluent-schema-registry`) talk to. Like Confluent's, the global compatibility
 * level is set to BACKWARD on start (Apicurio's own default is NONE).
 *
 * With `auth` (the stack does this when it is secure) every API call needs HTTP basic auth:
 * a user `registry` with a random password generated into `<dir>/secrets/registry/` (mode
 * 0600, never committed), through Quarkus' embedded users.
 *
 * @example
 * ```ts
 * import { SchemaRegistryServer } from "./registry.ts";
 * const registry = new SchemaRegistryServer({ dir: ".stack", port: 8081 });
 * await registry.start();
 * console.log(registry.url()); // http://127.0.0.1:8081/apis/ccompat/v7
 * ```
 * @module
 */
import { join } from "node:path";
import { fetchBundle } from "../process/artifacts.ts";
import { APICURIO_VERSION } from "../process/bundles.ts";
import { cacheDir, sleep, STACK_PORTS } from "../../env/mod.ts";
import {
  readPid,
  requireFreePorts,
  run,
  startDetached,
  stopProcess,
  tailFile,
} from "../process/process.ts";
import { type ProcessStatus, type Service, StackError } from "../process/service.ts";

/** Options of a {@linkcode SchemaRegistryServer}. */
export interface SchemaRegistryOptions {
  /** Stack data folder; the registry lives in `<dir>/registry/`. */
  dir: string;
  /** HTTP port. @default 8081 */
  port?: number;
  /** JVM heap in MB. @default 256 */
  heapMb?: number;
  /** Compatibility level set globally on start (Confluent's default). @default "BACKWARD" */
  compatibility?: "NONE" | "BACKWARD" | "FORWARD" | "FULL";
  /** Seconds to wait until the API answers. @default 120 */
  readyTimeoutSec?: number;
  /** Require HTTP basic auth (credentials generated into the data folder). @default false */
  auth?: boolean;
}

/** Basic-auth credentials of a registry. */
export interface RegistryCredentials {
  username: string;
  password: string;
}

const MARKER = "apicurio-registry-app";

/** Unpacks the pinned distribution into the cache once; returns the folder with the runner jar. */
export async function apicurioHome(): Promise<string> {
  const [archive] = await fetchBundle("apicurio-registry");
  const home = join(cacheDir(), `apicurio-registry-${APICURIO_VERSION}`);
  const runner = join(home, `apicurio-registry-app-${APICURIO_VERSION}-runner.jar`);
  if (await Deno.stat(join(home, ".complete")).then(() => true, () => false)) return home;
  const tmp = `${home}.tmp-${Deno.pid}`;
  await Deno.mkdir(tmp, { recursive: true });
  await run("tar", ["xzf", archive, "-C", tmp], { what: `unpacking ${archive}` });
  await Deno.writeTextFile(join(tmp, ".complete"), "");
  await Deno.rename(tmp, home).catch(async () => await Deno.remove(tmp, { recursive: true }));
  if (!(await Deno.stat(runner).then(() => true, () => false))) {
    throw new StackError(`${archive} holds no ${runner.split("/").pop()}`);
  }
  return home;
}

/** A local Apicurio Registry; see the module doc. */
export class SchemaRegistryServer implements Service {
  readonly name = "schema-registry";
  readonly port: number;
  readonly root: string;
  readonly #heapMb: number;
  readonly #compatibility: string;
  readonly #readyTimeoutSec: number;
  readonly auth: boolean;

  constructor(options: SchemaRegistryOptions) {
    const {
      dir,
      port = STACK_PORTS.registry,
      heapMb = 256,
      compatibility = "BACKWARD",
      readyTimeoutSec = 120,
      auth = false,
    } = options;
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new RangeError(
        `Cannot create the schema registry as 'port' must be 1 to 65535: current value is ${port}`,
      );
    }
    this.port = port;
    this.root = join(dir, "registry");
    this.#heapMb = heapMb;
    this.#compatibility = compatibility;
    this.#readyTimeoutSec = readyTimeoutSec;
    this.auth = auth;
  }

  /** File holding the basic-auth credentials (when `auth`). */
  get credentialsFile(): string {
    return join(this.root, "..", "secrets", "registry", "credentials.json");
  }

  /** The basic-auth credentials, generated on first use (when `auth`). */
  credentials(): RegistryCredentials | undefined {
    if (!this.auth) return undefined;
    try {
      return JSON.parse(Deno.readTextFileSync(this.credentialsFile));
    } catch {
      const bytes = crypto.getRandomValues(new Uint8Array(18));
      const creds = {
        username: "registry",
        password: btoa(String.fromCharCode(...bytes)).replace(/[+/=]/g, "x"),
      };
      Deno.mkdirSync(join(this.credentialsFile, ".."), { recursive: true, mode: 0o700 });
      Deno.writeTextFileSync(this.credentialsFile, JSON.stringify(creds, null, 2) + "\n", {
        mode: 0o600,
      });
      return creds;
    }
  }

  #headers(): Record<string, string> {
    const c = this.credentials();
    return c ? { authorization: `Basic ${btoa(`${c.username}:${c.password}`)}` } : {};
  }

  /** Base URL of the Confluent-compatible API (what `KAFKA_SCHEMA_REGISTRY_URL` points at). */
  url(): string {
    return `http://127.0.0.1:${this.port}/apis/ccompat/v7`;
  }

  get log(): string {
    return join(this.root, "registry.log");
  }

  get #pidFile(): string {
    return join(this.root, "pid");
  }

  #pid(): number | undefined {
    const st = readPid(this.#pidFile, MARKER);
    return st.state === "running" ? st.pid : undefined;
  }

  async start(): Promise<void> {
    if (this.#pid() === undefined) {
      const home = await apicurioHome();
      await requireFreePorts("the schema registry", [this.port]);
      await Deno.mkdir(this.root, { recursive: true });
      await this.#writeAuthConfig();
      await startDetached({
        cmd: "java",
        args: [
          `-Xmx${this.#heapMb}m`,
          "-XX:+UseSerialGC",
          "-XX:TieredStopAtLevel=1",
          `-Dquarkus.http.port=${this.port}`,
          "-Dquarkus.http.host=127.0.0.1",
          "-Dquarkus.log.level=INFO",
          "-Dquarkus.http.access-log.enabled=false",
          "-Dapicurio.storage.kind=sql",
          "-Dapicurio.storage.sql.kind=h2",
          `-Dapicurio.datasource.url=jdbc:h2:file:${join(this.root, "db", "registry")}`,
          "-Dapicurio.datasource.jdbc.initial-size=2",
          "-Dapicurio.datasource.jdbc.min-size=2",
          "-Dapicurio.datasource.jdbc.max-size=10",
          "-jar",
          join(home, `apicurio-registry-app-${APICURIO_VERSION}-runner.jar`),
        ],
        log: this.log,
        pidFile: this.#pidFile,
        cwd: this.root,
      });
    }
    await this.#waitReady();
    const res = await fetch(`${this.url()}/config`, {
      method: "PUT",
      headers: { "content-type": "application/vnd.schemaregistry.v1+json", ...this.#headers() },
      body: JSON.stringify({ compatibility: this.#compatibility }),
    });
    if (!res.ok) {
      throw new StackError(
        `Schema registry refused the global compatibility ${this.#compatibility}: ${res.status} ${await res
          .text()}`,
      );
    }
    await res.body?.cancel();
  }

  /**
   * Quarkus reads `config/application.properties` from the working folder: the basic-auth
   * users go there (mode 0600), not on the command line where `ps` would show them.
   */
  async #writeAuthConfig(): Promise<void> {
    const file = join(this.root, "config", "application.properties");
    const c = this.credentials();
    if (!c) {
      await Deno.remove(file).catch(() => {});
      return;
    }
    await Deno.mkdir(join(this.root, "config"), { recursive: true, mode: 0o700 });
    await Deno.writeTextFile(
      file,
      [
        "quarkus.http.auth.basic=true",
        "quarkus.security.users.embedded.enabled=true",
        "quarkus.security.users.embedded.plain-text=true",
        `quarkus.security.users.embedded.users.${c.username}=${c.password}`,
        `quarkus.security.users.embedded.roles.${c.username}=sr-admin`,
        "quarkus.http.auth.permission.api.paths=/apis/*",
        "quarkus.http.auth.permission.api.policy=authenticated",
        "",
      ].join("\n"),
      { mode: 0o600 },
    );
  }

  async #waitReady(): Promise<void> {
    const deadline = Date.now() + this.#readyTimeoutSec * 1000;
    let last = "not answering";
    while (Date.now() < deadline) {
      // The pid alone, no marker: right after the fork the child still shows our command line
      // (an empty log and "exited" for a JVM that was just starting).
      if (readPid(this.#pidFile).state !== "running") {
        throw new StackError(
          `Schema registry exited during start-up. Last lines of ${this.log}:\n${await tailFile(
            this.log,
          )}`,
        );
      }
      try {
        const res = await fetch(`${this.url()}/subjects`, {
          headers: this.#headers(),
          signal: AbortSignal.timeout(3_000),
        });
        await res.body?.cancel();
        if (res.ok) return;
        last = `answered ${res.status}`;
      } catch (err) {
        last = (err as Error).message;
      }
      await sleep(500);
    }
    throw new StackError(
      `Schema registry not ready after ${this.#readyTimeoutSec}s (${last}). Last lines of ${this.log}:\n${await tailFile(
        this.log,
      )}`,
    );
  }

  async stop(): Promise<void> {
    await stopProcess(this.#pidFile, { marker: MARKER, graceMs: 15_000 });
  }

  async status(): Promise<ProcessStatus[]> {
    const st = readPid(this.#pidFile, MARKER);
    let health: string | undefined;
    if (st.state === "running") {
      health = await fetch(`${this.url()}/subjects`, {
        headers: this.#headers(),
        signal: AbortSignal.timeout(3_000),
      })
        .then(async (r) =>
          r.ok ? `serving (${(await r.json()).length} subjects)` : `answered ${r.status}`
        )
        .catch((e) => `not answering: ${(e as Error).message}`);
    }
    return [{
      name: this.name,
      pid: st.state === "absent" ? undefined : st.pid,
      state: st.state === "absent" ? "stopped" : st.state,
      ports: { http: this.port },
      health,
      log: this.log,
    }];
  }
}
