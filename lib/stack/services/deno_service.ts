/**
 * A long-running Deno task of the project run as a stack service: started detached, healthy
 * when its `/healthz` answers 200, and registered as a Prometheus scrape target.
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
  /** Marker in the command line that ties the pid to this stack. */
  get #marker(): string {
    return this.#options.flags === false
      ? `--env-file=${this.envFile}`
      : `--stack-dir=${this.#options.dir}`;
  }

  async start(): Promise<void> {
    const running = readPid(this.pidFile, this.#marker).state === "running";
    if (!running) {
      await Deno.mkdir(this.root, { recursive: true });
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
        throw new StackError(
          `${this.name} exited during start-up. Last lines of ${this.log}:\n${await tailFile(
            this.log,
          )}`,
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
      health = await fetch(`http://127.0.0.1:${this.port}/healthz`)
        .then(async (r) => (await r.body?.cancel(), r.ok ? "serving" : `HTTP ${r.status}`))
        .catch(() => "starting");
    }
    return [{
      name: this.name,
      pid: st.state === "absent" ? undefined : st.pid,
      state: st.state === "absent" ? "stopped" : st.state,
      ports: { metrics: this.port },
      health,
      log: this.log,
    }];
  }
}
