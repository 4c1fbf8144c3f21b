/**
 * Monitoring of the local stack: Prometheus and Alertmanager from Debian's packages (installed
 * with apt when we are root and they are missing), configured from the stack itself: the JMX
 * exporters of the brokers and of the Connect worker, every Deno service that registered a
 * scrape target, and the alert rules of `compose/prometheus/alerts.yml`.
 *
 * @example
 * ```ts
 * import { PrometheusServer } from "./prometheus.ts";
 * const prom = new PrometheusServer({ dir: ".stack", port: 9090, targets: { kafka: ["127.0.0.1:7071"] } });
 * await prom.start();
 * console.log(prom.url()); // http://127.0.0.1:9090
 * ```
 * @module
 */
import { join } from "node:path";
import { stringify } from "yaml";
import { PROJECT_ROOT, sleep, STACK_PORTS } from "../../env/mod.ts";
import {
  readPid,
  requireFreePorts,
  run,
  startDetached,
  stopProcess,
  tailFile,
} from "../process/process.ts";
import { type ProcessStatus, type Service, StackError } from "../process/service.ts";

/** Debian package versions the stack was built and tested with (bookworm). */
export const PROMETHEUS_PACKAGES = {
  prometheus: "2.42.0+ds-5+deb12u1",
  "prometheus-alertmanager": "0.25.0-1+b4",
} as const;

/** Alert rules shared by the local stack and the compose files. */
export const ALERT_RULES: string = join(PROJECT_ROOT, "compose/prometheus/alerts.yml");

/** Alert rules of the marketplace platform (the final project), loaded beside {@linkcode ALERT_RULES}. */
export const FINAL_ALERT_RULES: string = join(
  PROJECT_ROOT,
  "compose/prometheus/alerts_final.yml",
);

/**
 * Folder for extra rule files of a stack (`<dir>/prometheus/rules/*.yml`, e.g. a drill's or an
 * operator's own rules); Prometheus loads them on start and on `POST /-/reload`.
 */
export function extraRulesDir(stackDir: string): string {
  return join(stackDir, "prometheus", "rules");
}

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

/**
 * Path of a Prometheus binary (`prometheus`, `promtool`, `prometheus-alertmanager`), installing
 * Debian's packages first when they are missing and we are root on a machine with apt.
 */
export async function prometheusBinary(
  name: "prometheus" | "promtool" | "prometheus-alertmanager",
): Promise<string> {
  const path = `/usr/bin/${name}`;
  if (await exists(path)) return path;
  if (Deno.uid() === 0 && await exists("/usr/bin/apt-get")) {
    console.error(`${name} not found: installing Debian's prometheus packages…`);
    const env = { DEBIAN_FRONTEND: "noninteractive" };
    // Debian would start its own Prometheus on :9090; a policy-rc.d forbids that for the install.
    const policy = "/usr/sbin/policy-rc.d";
    const ownPolicy = !(await exists(policy));
    if (ownPolicy) await Deno.writeTextFile(policy, "#!/bin/sh\nexit 101\n", { mode: 0o755 });
    try {
      await run("apt-get", ["update", "-q"], { env, what: "apt-get update" });
      await run("apt-get", [
        "install",
        "-y",
        "-q",
        "--no-install-recommends",
        ...Object.entries(PROMETHEUS_PACKAGES).map(([p, v]) => `${p}=${v}`),
      ], { env, what: "apt-get install prometheus prometheus-alertmanager" });
    } finally {
      if (ownPolicy) await Deno.remove(policy).catch(() => {});
    }
    if (await exists(path)) return path;
  }
  throw new StackError(
    `${name} not found. Install it (Debian: \`apt-get install -y prometheus prometheus-alertmanager\`)`,
  );
}

/** Folder where Deno services drop their scrape targets (Prometheus file service discovery). */
export function scrapeTargetsDir(stackDir: string): string {
  return join(stackDir, "prometheus", "targets");
}

/**
 * Registers a Deno service's `/metrics` endpoint with the stack's Prometheus (file service
 * discovery: Prometheus picks the file up within seconds; remove it when the service ends).
 * Returns the file written.
 */
export async function registerScrapeTarget(
  stackDir: string,
  service: string,
  address: string,
): Promise<string> {
  const dir = scrapeTargetsDir(stackDir);
  await Deno.mkdir(dir, { recursive: true });
  const file = join(dir, `${service.replace(/[^A-Za-z0-9_.-]/g, "_")}.json`);
  await Deno.writeTextFile(
    file,
    JSON.stringify([{ targets: [address], labels: { service } }], null, 2),
  );
  return file;
}

/** Options of a {@linkcode PrometheusServer}. */
export interface PrometheusOptions {
  /** Stack data folder; Prometheus lives in `<dir>/prometheus/`. */
  dir: string;
  /** HTTP port on 127.0.0.1. @default 9090 */
  port?: number;
  /** Static scrape targets (`host:port`) by job name, e.g. `{ kafka: [...], connect: [...] }`. */
  targets: Record<string, string[]>;
  /** Alertmanager address (`host:port`), when one runs. */
  alertmanager?: string;
  /** Scrape and rule evaluation interval in seconds. @default 5 */
  intervalSec?: number;
}

/** The Prometheus configuration of a stack (also what `compose/prometheus/prometheus.yml` mirrors). */
export function prometheusConfig(options: PrometheusOptions): Record<string, unknown> {
  const { dir, targets, alertmanager, intervalSec = 5, port = STACK_PORTS.prometheus } = options;
  return {
    global: { scrape_interval: `${intervalSec}s`, evaluation_interval: `${intervalSec}s` },
    ...(alertmanager
      ? { alerting: { alertmanagers: [{ static_configs: [{ targets: [alertmanager] }] }] } }
      : {}),
    rule_files: [ALERT_RULES, FINAL_ALERT_RULES, join(extraRulesDir(dir), "*.yml")],
    scrape_configs: [
      { job_name: "prometheus", static_configs: [{ targets: [`127.0.0.1:${port}`] }] },
      ...Object.entries(targets).filter(([, t]) => t.length > 0).map(([job, t]) => ({
        job_name: job,
        static_configs: [{ targets: t }],
      })),
      {
        job_name: "deno",
        file_sd_configs: [{
          files: [join(scrapeTargetsDir(dir), "*.json")],
          refresh_interval: "5s",
        }],
      },
    ],
  };
}

/** A local Prometheus; see the module doc. */
export class PrometheusServer implements Service {
  readonly name = "prometheus";
  readonly port: number;
  readonly root: string;
  readonly #options: PrometheusOptions;

  constructor(options: PrometheusOptions) {
    this.#options = options;
    this.port = options.port ?? STACK_PORTS.prometheus;
    this.root = join(options.dir, "prometheus");
  }

  url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get config(): string {
    return join(this.root, "prometheus.yml");
  }
  get log(): string {
    return join(this.root, "prometheus.log");
  }
  get pidFile(): string {
    return join(this.root, "pid");
  }

  async start(): Promise<void> {
    await Deno.mkdir(scrapeTargetsDir(this.#options.dir), { recursive: true });
    await Deno.writeTextFile(this.config, stringify(prometheusConfig(this.#options)));
    const running = readPid(this.pidFile, this.config).state === "running";
    if (running) {
      // Pick up a changed configuration (e.g. Connect added to a running stack).
      await fetch(`${this.url()}/-/reload`, { method: "POST" }).then((r) => r.body?.cancel())
        .catch(() => {});
    } else {
      const bin = await prometheusBinary("prometheus");
      await requireFreePorts("Prometheus", [this.port]);
      await startDetached({
        cmd: bin,
        args: [
          `--config.file=${this.config}`,
          `--storage.tsdb.path=${join(this.root, "data")}`,
          "--storage.tsdb.retention.time=2d",
          `--web.listen-address=127.0.0.1:${this.port}`,
          "--web.enable-lifecycle",
        ],
        log: this.log,
        pidFile: this.pidFile,
        cwd: this.root,
      });
    }
    await waitHttp(
      `${this.url()}/-/ready`,
      "Prometheus",
      this.log,
      () => readPid(this.pidFile).state === "running",
    );
  }

  async stop(): Promise<void> {
    await stopProcess(this.pidFile, { marker: this.config });
  }

  async status(): Promise<ProcessStatus[]> {
    return [
      await httpStatus(this.name, this.pidFile, this.config, this.port, this.log, "/-/ready"),
    ];
  }
}

/** Options of an {@linkcode AlertmanagerServer}. */
export interface AlertmanagerOptions {
  /** Stack data folder; Alertmanager lives in `<dir>/alertmanager/`. */
  dir: string;
  /** HTTP port on 127.0.0.1. @default 9099 */
  port?: number;
}

/** A local Alertmanager (single node, clustering off); receives the stack's alerts. */
export class AlertmanagerServer implements Service {
  readonly name = "alertmanager";
  readonly port: number;
  readonly root: string;

  constructor(options: AlertmanagerOptions) {
    this.port = options.port ?? STACK_PORTS.alertmanager;
    this.root = join(options.dir, "alertmanager");
  }

  url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get config(): string {
    return join(this.root, "alertmanager.yml");
  }
  get log(): string {
    return join(this.root, "alertmanager.log");
  }
  get pidFile(): string {
    return join(this.root, "pid");
  }

  async start(): Promise<void> {
    if (readPid(this.pidFile, this.config).state !== "running") {
      const bin = await prometheusBinary("prometheus-alertmanager");
      await Deno.mkdir(this.root, { recursive: true });
      await Deno.copyFile(join(PROJECT_ROOT, "compose/prometheus/alertmanager.yml"), this.config);
      await requireFreePorts("Alertmanager", [this.port]);
      await startDetached({
        cmd: bin,
        args: [
          `--config.file=${this.config}`,
          `--storage.path=${join(this.root, "data")}`,
          `--web.listen-address=127.0.0.1:${this.port}`,
          "--cluster.listen-address=",
        ],
        log: this.log,
        pidFile: this.pidFile,
        cwd: this.root,
      });
    }
    await waitHttp(
      `${this.url()}/-/ready`,
      "Alertmanager",
      this.log,
      () => readPid(this.pidFile).state === "running",
    );
  }

  async stop(): Promise<void> {
    await stopProcess(this.pidFile, { marker: this.config });
  }

  async status(): Promise<ProcessStatus[]> {
    return [
      await httpStatus(this.name, this.pidFile, this.config, this.port, this.log, "/-/ready"),
    ];
  }
}

/**
 * Waits for a readiness URL; `alive` checks the pid alone (no command-line marker: right after
 * the fork the child still shows its parent's command line).
 */
async function waitHttp(
  url: string,
  what: string,
  log: string,
  alive: () => boolean,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    if (!alive()) {
      throw new StackError(
        `${what} exited during start-up. Last lines of ${log}:\n${await tailFile(log)}`,
      );
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
      await res.body?.cancel();
      if (res.ok) return;
      last = `${url} answered ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(300);
  }
  throw new StackError(
    `${what} not ready (${last}). Last lines of ${log}:\n${await tailFile(log)}`,
  );
}

async function httpStatus(
  name: string,
  pidFile: string,
  marker: string,
  port: number,
  log: string,
  probe: string,
): Promise<ProcessStatus> {
  const st = readPid(pidFile, marker);
  let health: string | undefined;
  if (st.state === "running") {
    health = await fetch(`http://127.0.0.1:${port}${probe}`, { signal: AbortSignal.timeout(3000) })
      .then(async (r) => (await r.body?.cancel(), r.ok ? "serving" : `HTTP ${r.status}`))
      .catch(() => "starting");
  }
  return {
    name,
    pid: st.state === "absent" ? undefined : st.pid,
    state: st.state === "absent" ? "stopped" : st.state,
    ports: { http: port },
    health,
    log,
  };
}
