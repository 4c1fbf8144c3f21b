/**
 * A long-running Deno task of the project run as a stack service: started detached, healthy
 * when its `/healthz` answers 200, and registered as a Prometheus scrape target.
 *
 * Each start records how the service was started — script, port, arguments, environment —
 * in `<dir>/<name>/service.json` (mode 0600), beside its pid file and log. A service some
 * other code started on a stack (the platform's SHOP API, filter, …) is thereby a service of
 * that stack like the others: {@linkcode recordedDenoServices} finds it again, so
 * `stack status`, `logs`, `restart` and `stop` work on it, and a restart starts it exactly as
 * it was started.
 *
 * @example
 * ```ts
 * import { DenoService } from "./deno_service.ts";
 * const lag = new DenoService({
 *   dir: ".stack", name: "lag-exporter", script: "tasks/monitoring/lag_exporter.ts", port: 9308,
 * });
 * await lag.start();
 * ```
 * @module
 */
import { join } from "node:path";
import { PROJECT_ROOT, sleep } from "../../env/mod.ts";
import { registerScrapeTarget } from "./prometheus.ts";
import {
  readPid,
  requireFreePorts,
  startDetached,
  stopProcess,
  tailFile,
} from "../process/process.ts";
import { type ProcessStatus, type Service, StackError } from "../process/service.ts";

/** Options of a {@linkcode DenoService}. */
export interface DenoServiceOptions {
  /** Stack data folder; the service lives in `<dir>/<name>/`. */
  dir: string;
  /** Service name. */
  name: string;
  /** Script path relative to the project root. */
  script: string;
  /** Port of its `/metrics` and `/healthz`, passed as `--port`. */
  port: number;
  /** What the port serves, as `stack status` labels it. @default "metrics" */
  portName?: string;
  /** Extra arguments. @default [] */
  args?: string[];
  /** Extra environment. @default {} */
  env?: Record<string, string>;
  /**
   * Pass `--port=<port>` and `--stack-dir=<dir>` to the script. Off for a task whose strict
   * flags do not declare them: its port then comes from `env`, and the environment is also
   * written to `<dir>/<name>/service.env`, passed as `--env-file`, whose path ties the pid to
   * this stack (so `stack down` stops it too). @default true
   */
  flags?: boolean;
}

/** A Deno task run as a service; see the module doc. */
export class DenoService implements Service {
  readonly name: string;
  readonly port: number;
  readonly root: string;
  readonly #options: DenoServiceOptions;

  constructor(options: DenoServiceOptions) {
    this.#options = options;
    this.name = options.name;
    this.port = options.port;
    this.root = join(options.dir, options.name);
  }

  get log(): string {
    return join(this.root, `${this.name}.log`);
  }
  get pidFile(): string {
    return join(this.root, "pid");
  }
  /** File of the service's environment when it takes no flags. */
  get envFile(): string {
    return join(this.root, "service.env");
  }
  /** File recording how the service was started (see the module doc). */
  get recordFile(): string {
    return serviceRecordFile(this.#options.dir, this.name);
  }
  /** Marker in the command line that ties the pid to this stack. */
  get #marker(): string {
    return this.#options.flags === false
      ? `--env-file=${this.envFile}`
      : `--stack-dir=${this.#options.dir}`;
  }

  async start(): Promise<void> {
    const running = readPid(this.pidFile, this.#marker).state === "running";
    await Deno.mkdir(this.root, { recursive: true });
    // Also when it runs already: one started by an older checkout gets its record too.
    await writeServiceRecord(this.recordFile, this.#options);
    if (!running) {
      await requireFreePorts(this.name, [this.port]);
      const env = { ...this.#options.env, STACK_DIR: this.#options.dir };
      const script = join(PROJECT_ROOT, this.#options.script);
      let args = [script, `--port=${this.port}`, this.#marker];
      if (this.#options.flags === false) {
        const quote = (v: string) => JSON.stringify(v); // dotenv double quotes, escapes as JSON
        await Deno.writeTextFile(
          this.envFile,
          Object.entries(env).map(([k, v]) => `${k}=${quote(v)}\n`).join(""),
        );
        args = [this.#marker, script];
      }
      await startDetached({
        cmd: Deno.execPath(),
        args: ["run", "-A", ...args, ...(this.#options.args ?? [])],
        env,
        log: this.log,
        pidFile: this.pidFile,
        cwd: PROJECT_ROOT,
      });
    }
    // A service that was already running is asked once: `up` on a running stack is a no-op and
    // says what is unhealthy rather than waiting on it. One just started gets a minute.
    const deadline = Date.now() + (running ? 0 : 60_000);
    let healthy = false;
    do {
      // The pid alone, no marker: right after the fork the child still shows our command line.
      if (readPid(this.pidFile).state !== "running") {
        const tail = await tailFile(this.log);
        throw new StackError(
          `${this.name} exited during start-up. ` +
            (tail.trim()
              ? `Last lines of ${this.log}:\n${tail}`
              : `Its log ${this.log} is empty: run \`deno run -A ${this.#options.script}\` to see why`),
        );
      }
      healthy = await fetch(`http://127.0.0.1:${this.port}/healthz`, {
        signal: AbortSignal.timeout(5_000),
      }).then(async (r) => (await r.body?.cancel(), r.ok)).catch(() => false);
      if (!healthy && Date.now() < deadline) await sleep(300);
    } while (!healthy && Date.now() < deadline);
    if (!healthy) {
      console.error(
        `${this.name} runs but its /healthz on port ${this.port} does not answer 200: see ${this.log}`,
      );
    }
    await registerScrapeTarget(this.#options.dir, this.name, `127.0.0.1:${this.port}`);
  }

  async stop(): Promise<void> {
    await stopProcess(this.pidFile, { marker: this.#marker, graceMs: 5_000 });
  }

  async status(): Promise<ProcessStatus[]> {
    const st = readPid(this.pidFile, this.#marker);
    let health: string | undefined;
    if (st.state === "running") {
      health = await fetch(`http://127.0.0.1:${this.port}/healthz`, {
        signal: AbortSignal.timeout(5_000),
      })
        .then(async (r) => (await r.body?.cancel(), r.ok ? "serving" : `HTTP ${r.status}`))
        .catch(() => "starting");
    }
    return [{
      name: this.name,
      pid: st.state === "absent" ? undefined : st.pid,
      state: st.state === "absent" ? "stopped" : st.state,
      ports: { [this.#options.portName ?? "metrics"]: this.port },
      health,
      log: this.log,
    }];
  }
}

/** The record of how a service was started: its options less the stack folder. */
type ServiceRecord = Omit<DenoServiceOptions, "dir">;

/** Where the record of the Deno service `name` of the stack in `dir` lives. */
export function serviceRecordFile(dir: string, name: string): string {
  return join(dir, name, "service.json");
}

async function writeServiceRecord(file: string, options: DenoServiceOptions): Promise<void> {
  const { dir: _dir, ...record } = options;
  // Replaced whole (a temporary file renamed over it); 0600: the environment may hold secrets.
  const tmp = `${file}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(record, null, 2) + "\n", { mode: 0o600 });
  await Deno.rename(tmp, file);
}

/** Parses a service record; undefined when the text is not one. */
export function parseServiceRecord(text: string): ServiceRecord | undefined {
  let r: unknown;
  try {
    r = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof r !== "object" || r === null) return undefined;
  const o = r as Record<string, unknown>;
  const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === "string");
  const env = o.env === undefined ||
    (typeof o.env === "object" && o.env !== null &&
      Object.values(o.env).every((x) => typeof x === "string"));
  const ok = typeof o.name === "string" && /^[\w.-]+$/.test(o.name) &&
    typeof o.script === "string" && Number.isInteger(o.port) &&
    (o.portName === undefined || typeof o.portName === "string") &&
    (o.args === undefined || strings(o.args)) && env &&
    (o.flags === undefined || typeof o.flags === "boolean");
  return ok ? o as unknown as ServiceRecord : undefined;
}

/**
 * The Deno services ever started on the stack in `dir`, from their records, by name; a
 * record that cannot be read is skipped with a line on stderr naming it.
 */
export async function recordedDenoServices(dir: string): Promise<DenoService[]> {
  const out: DenoService[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch {
    return out;
  }
  for (const e of entries.filter((e) => e.isDirectory).sort((a, b) => a.name < b.name ? -1 : 1)) {
    const file = serviceRecordFile(dir, e.name);
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch {
      continue;
    }
    const record = parseServiceRecord(text);
    if (!record || record.name !== e.name) {
      console.error(`Skipping ${file}: not a service record of '${e.name}'`);
      continue;
    }
    out.push(new DenoService({ ...record, dir }));
  }
  return out;
}
