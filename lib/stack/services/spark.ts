/**
 * A standalone Apache Spark cluster as local processes: one master and one worker, run from the
 * jars of the pinned pyspark (`PYTHON_PACKAGES.pyspark`, from PyPI, in the cached venv the
 * Spark jobs use too) with `java -cp <pyspark>/jars/*`, so the cluster and the jobs' driver are
 * the same Spark release. The worker launches its executors from the same folder
 * (`SPARK_HOME` = the pyspark package).
 *
 * Sized for a 2-core machine shared with the rest of the stack: the master's heap 512 MiB, the
 * worker daemon's 256 MiB, and the worker offers 2 cores and 2 GiB to executors (one
 * application's executor takes both cores; `jobs/spark.ts` asks for 1 GiB of executor heap).
 * Everything binds 127.0.0.1. The worker's `work/` folder (executor logs, application files)
 * is pruned of finished applications after an hour.
 *
 * Ports (offset by the stack's port offset): master RPC 7177 (`spark://127.0.0.1:7177`), its
 * web UI and `/json/` state 8088, worker RPC 7178, worker UI 8087.
 *
 * @example
 * ```ts
 * import { SparkCluster } from "./spark.ts";
 * const spark = new SparkCluster({ dir: ".stack" });
 * await spark.start();
 * console.log(spark.masterUrl()); // spark://127.0.0.1:7177
 * console.log((await spark.masterState()).aliveWorkers); // 1
 * ```
 * @module
 */
import { join } from "node:path";
import {
  readPid,
  requireFreePorts,
  startDetached,
  stopProcess,
  tailFile,
} from "../process/process.ts";
import { PYTHON_PACKAGES, type PythonEnv, pythonEnv } from "../process/python.ts";
import { type ProcessStatus, type Service, StackError } from "../process/service.ts";
import { sleep, STACK_PORTS } from "../../env/mod.ts";

/** The pinned pyspark's venv, and the Spark installation inside it. */
export interface SparkHome extends PythonEnv {
  /** The pyspark package folder: `SPARK_HOME` (holds `jars/` and `bin/`). */
  home: string;
  /** Scala version of its jars, e.g. `2.12` (`SPARK_SCALA_VERSION` for the launcher). */
  scalaVersion: string;
}

/**
 * The venv with the pinned pyspark (and pyarrow), installed into the cache on first use, and
 * the Spark home inside it. The Spark jobs and the standalone cluster share it.
 */
export async function sparkHome(): Promise<SparkHome> {
  const env = await pythonEnv("spark", [PYTHON_PACKAGES.pyspark, PYTHON_PACKAGES.pyarrow]);
  const lib = join(env.dir, "lib");
  for await (const e of Deno.readDir(lib)) {
    if (!e.isDirectory || !e.name.startsWith("python")) continue;
    const home = join(lib, e.name, "site-packages", "pyspark");
    const jars = join(home, "jars");
    try {
      for await (const j of Deno.readDir(jars)) {
        const m = /^spark-core_(\d+\.\d+)-/.exec(j.name);
        if (m) return { ...env, home, scalaVersion: m[1] };
      }
    } catch { /* not this Python */ }
  }
  throw new StackError(
    `Cannot find Spark's jars in ${lib}/python*/site-packages/pyspark/jars: the venv of ${PYTHON_PACKAGES.pyspark} is incomplete; delete ${env.dir} to install it again`,
  );
}

/** Options of a {@linkcode SparkCluster}. */
export interface SparkOptions {
  /** Stack data folder; Spark lives in `<dir>/spark/`. */
  dir: string;
  /** Added to every port. @default 0 */
  portOffset?: number;
  /** The master's JVM heap in MiB. @default 512 */
  masterHeapMb?: number;
  /** The worker daemon's JVM heap in MiB (its executors are JVMs of their own). @default 256 */
  workerHeapMb?: number;
  /** Cores the worker offers to executors. @default 2 */
  workerCores?: number;
  /** Memory the worker offers to executors, in MiB. @default 2048 */
  workerMemoryMb?: number;
  /** Seconds to wait for the master to answer and the worker to register. @default 120 */
  readyTimeoutSec?: number;
}

/** Ports of the Spark processes. */
export interface SparkPorts {
  /** Master RPC: what `spark://` URLs name. */
  master: number;
  /** Master web UI (and `/json/`). */
  masterUi: number;
  /** Worker RPC. */
  worker: number;
  /** Worker web UI. */
  workerUi: number;
}

/** A worker as the master's `/json/` lists it. */
export interface SparkWorkerState {
  id: string;
  host: string;
  port: number;
  /** `ALIVE`, `DEAD`, `DECOMMISSIONED`, … */
  state: string;
  cores: number;
  coresUsed: number;
  memoryMb: number;
  memoryUsedMb: number;
}

/** The master's state, from its `/json/`. */
export interface SparkMasterState {
  /** `ALIVE` once it leads (a single master elects itself). */
  status: string;
  /** Workers it knows, the dead ones too. */
  workers: SparkWorkerState[];
  /** Workers alive. */
  aliveWorkers: number;
  /** Applications running. */
  activeApps: number;
  /** Names of the applications that ran to their end (the latest 200, Spark's default). */
  completedApps: string[];
}

type Role = "master" | "worker";

const MAIN_CLASS: Record<Role, string> = {
  master: "org.apache.spark.deploy.master.Master",
  worker: "org.apache.spark.deploy.worker.Worker",
};

/** A local standalone Spark cluster of one master and one worker; see the module doc. */
export class SparkCluster implements Service {
  readonly name = "spark";
  /** Spark's folder: `master/` and `worker/` (pid, log; the worker's `work/`). */
  readonly root: string;
  readonly ports: SparkPorts;
  /** Cores the worker offers. */
  readonly workerCores: number;
  /** Memory the worker offers, MiB. */
  readonly workerMemoryMb: number;
  readonly #masterHeapMb: number;
  readonly #workerHeapMb: number;
  readonly #readyTimeoutSec: number;

  constructor(options: SparkOptions) {
    const {
      dir,
      portOffset = 0,
      masterHeapMb = 512,
      workerHeapMb = 256,
      workerCores = 2,
      workerMemoryMb = 2048,
      readyTimeoutSec = 120,
    } = options;
    for (
      const [k, v, min] of [
        ["masterHeapMb", masterHeapMb, 128],
        ["workerHeapMb", workerHeapMb, 128],
        ["workerCores", workerCores, 1],
        ["workerMemoryMb", workerMemoryMb, 512],
      ] as const
    ) {
      if (!Number.isInteger(v) || v < min) {
        throw new RangeError(
          `Cannot create the Spark cluster as '${k}' must be an integer >= ${min}: current value is ${v}`,
        );
      }
    }
    this.root = join(dir, "spark");
    this.ports = {
      master: STACK_PORTS.sparkMaster + portOffset,
      masterUi: STACK_PORTS.sparkMasterUi + portOffset,
      worker: STACK_PORTS.sparkWorker + portOffset,
      workerUi: STACK_PORTS.sparkWorkerUi + portOffset,
    };
    this.workerCores = workerCores;
    this.workerMemoryMb = workerMemoryMb;
    this.#masterHeapMb = masterHeapMb;
    this.#workerHeapMb = workerHeapMb;
    this.#readyTimeoutSec = readyTimeoutSec;
  }

  /** The master's URL, what a driver's `--master` takes. */
  masterUrl(): string {
    return `spark://127.0.0.1:${this.ports.master}`;
  }

  /** The master's web UI (its state as JSON at `/json/`). */
  uiUrl(): string {
    return `http://127.0.0.1:${this.ports.masterUi}`;
  }

  #proc(role: Role): { pidFile: string; log: string } {
    return { pidFile: join(this.root, role, "pid"), log: join(this.root, role, `${role}.log`) };
  }

  /** Log file of the master or the worker. */
  log(role: Role): string {
    return this.#proc(role).log;
  }

  /** Pid of a running process, or undefined. */
  pid(role: Role): number | undefined {
    const st = readPid(this.#proc(role).pidFile, MAIN_CLASS[role]);
    return st.state === "running" ? st.pid : undefined;
  }

  /** The master's state from its `/json/` (throws when it does not answer). */
  async masterState(): Promise<SparkMasterState> {
    const res = await fetch(`${this.uiUrl()}/json/`, { signal: AbortSignal.timeout(3_000) });
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`Spark master UI answered ${res.status}`);
    }
    const body = await res.json() as {
      status?: string;
      aliveworkers?: number;
      activeapps?: unknown[];
      completedapps?: { name: string }[];
      workers?: {
        id: string;
        host: string;
        port: number;
        state: string;
        cores: number;
        coresused: number;
        memory: number;
        memoryused: number;
      }[];
    };
    return {
      status: String(body.status ?? ""),
      aliveWorkers: Number(body.aliveworkers ?? 0),
      activeApps: body.activeapps?.length ?? 0,
      completedApps: (body.completedapps ?? []).map((a) => a.name),
      workers: (body.workers ?? []).map((w) => ({
        id: w.id,
        host: w.host,
        port: Number(w.port),
        state: w.state,
        cores: Number(w.cores),
        coresUsed: Number(w.coresused),
        memoryMb: Number(w.memory),
        memoryUsedMb: Number(w.memoryused),
      })),
    };
  }

  /** This stack's worker as the master lists it (alive or not), or undefined. */
  #ourWorker(state: SparkMasterState): SparkWorkerState | undefined {
    // A worker that restarted on the same port is listed twice (the old one DEAD): the live one.
    const ours = state.workers.filter((w) => w.port === this.ports.worker);
    return ours.find((w) => w.state === "ALIVE") ?? ours.at(-1);
  }

  #env(home: SparkHome): Record<string, string> {
    return {
      SPARK_HOME: home.home,
      // The launcher the worker builds executor commands with reads it (pyspark has no
      // `launcher/target/scala-*` folders to guess it from).
      SPARK_SCALA_VERSION: home.scalaVersion,
      SPARK_CONF_DIR: join(this.root, "conf"),
      SPARK_LOCAL_IP: "127.0.0.1",
      SPARK_PUBLIC_DNS: "127.0.0.1",
    };
  }

  #jvm(role: Role, home: SparkHome): string[] {
    const common = [
      `-Xmx${role === "master" ? this.#masterHeapMb : this.#workerHeapMb}m`,
      "-XX:+UseSerialGC",
      "-XX:TieredStopAtLevel=1",
      "-Djava.net.preferIPv4Stack=true",
      // A taken port fails the start instead of Spark quietly binding the next one.
      "-Dspark.port.maxRetries=0",
      "-cp",
      `${join(this.root, "conf")}:${join(home.home, "jars", "*")}`,
      MAIN_CLASS[role],
      "--host",
      "127.0.0.1",
    ];
    if (role === "master") {
      return [
        ...common,
        "--port",
        String(this.ports.master),
        "--webui-port",
        String(this.ports.masterUi),
      ];
    }
    return [
      "-Dspark.worker.cleanup.enabled=true",
      "-Dspark.worker.cleanup.interval=600",
      "-Dspark.worker.cleanup.appDataTtl=3600",
      ...common,
      "--port",
      String(this.ports.worker),
      "--webui-port",
      String(this.ports.workerUi),
      "--cores",
      String(this.workerCores),
      "--memory",
      `${this.workerMemoryMb}m`,
      "--work-dir",
      join(this.root, "worker", "work"),
      this.masterUrl(),
    ];
  }

  async #startRole(role: Role, home: SparkHome): Promise<void> {
    if (this.pid(role) !== undefined) return;
    const ports = role === "master"
      ? [this.ports.master, this.ports.masterUi]
      : [this.ports.worker, this.ports.workerUi];
    await requireFreePorts(`the Spark ${role}`, ports);
    const { pidFile, log } = this.#proc(role);
    await Deno.mkdir(join(this.root, role), { recursive: true });
    await startDetached({
      cmd: "java",
      args: this.#jvm(role, home),
      log,
      pidFile,
      cwd: join(this.root, role),
      env: this.#env(home),
    });
  }

  /** Starts the master, waits until it leads, starts the worker and waits until it registers. */
  async start(): Promise<void> {
    const home = await sparkHome();
    await Deno.mkdir(join(this.root, "conf"), { recursive: true });
    const deadline = Date.now() + this.#readyTimeoutSec * 1000;
    await this.#startRole("master", home);
    await this.#waitFor("master", deadline, (s) => s.status === "ALIVE");
    await this.#startRole("worker", home);
    await this.#waitFor("worker", deadline, (s) => this.#ourWorker(s)?.state === "ALIVE");
  }

  /** Polls the master's state until `ready` says so; fails when a process exits meanwhile. */
  async #waitFor(
    role: Role,
    deadline: number,
    ready: (s: SparkMasterState) => boolean,
  ): Promise<void> {
    let last = "not answering";
    for (;;) {
      for (const r of role === "master" ? ["master"] as const : ["master", "worker"] as const) {
        // The pid alone, no marker: right after the fork the child still shows our command line.
        if (readPid(this.#proc(r).pidFile).state !== "running") {
          const { log } = this.#proc(r);
          throw new StackError(
            `Spark ${r} exited during start-up. Last lines of ${log}:\n${await tailFile(log)}`,
          );
        }
      }
      try {
        const state = await this.masterState();
        if (ready(state)) return;
        last = role === "master"
          ? `master status ${state.status || "unknown"}`
          : `worker ${this.#ourWorker(state)?.state ?? "not registered"} with the master`;
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() >= deadline) break;
      await sleep(500);
    }
    const { log } = this.#proc(role);
    throw new StackError(
      `Spark ${role} not ready after ${this.#readyTimeoutSec}s (${last}). Last lines of ${log}:\n${await tailFile(
        log,
      )}`,
    );
  }

  /** Stops the worker (and its executors, which are in its process group), then the master. */
  async stop(): Promise<void> {
    await stopProcess(this.#proc("worker").pidFile, { marker: MAIN_CLASS.worker, graceMs: 15_000 });
    await stopProcess(this.#proc("master").pidFile, { marker: MAIN_CLASS.master, graceMs: 15_000 });
  }

  async status(): Promise<ProcessStatus[]> {
    const mib = (n: number) => `${(n / 1024).toFixed(1)} GiB`;
    let master: string | undefined;
    let worker: string | undefined = "master not running";
    if (this.pid("master") !== undefined) {
      try {
        const s = await this.masterState();
        const alive = s.workers.filter((w) => w.state === "ALIVE");
        const cores = alive.reduce((n, w) => n + w.cores, 0);
        const mem = alive.reduce((n, w) => n + w.memoryMb, 0);
        master = `${
          s.status === "ALIVE" ? "serving" : `status ${s.status}`
        }: ${alive.length} worker(s) alive (${cores} cores, ${
          mib(mem)
        }), ${s.activeApps} app(s) running`;
        const w = this.#ourWorker(s);
        worker = w
          ? w.state === "ALIVE"
            ? `registered: ${w.coresUsed}/${w.cores} cores, ${mib(w.memoryUsedMb)}/${
              mib(w.memoryMb)
            } in use`
            : `${w.state} for the master`
          : "not registered with the master";
      } catch (err) {
        master = `not answering: ${(err as Error).message}`;
        worker = "master not answering";
      }
    }
    const row = (role: Role, ports: Record<string, number>, h?: string): ProcessStatus => {
      const { pidFile, log } = this.#proc(role);
      const st = readPid(pidFile, MAIN_CLASS[role]);
      return {
        name: `spark-${role}`,
        pid: st.state === "absent" ? undefined : st.pid,
        state: st.state === "absent" ? "stopped" : st.state,
        ports,
        health: st.state === "running" ? h : undefined,
        log,
      };
    };
    return [
      row("master", { rpc: this.ports.master, ui: this.ports.masterUi }, master),
      row("worker", { rpc: this.ports.worker, ui: this.ports.workerUi }, worker),
    ];
  }
}
