/**
 * A Kafka Connect worker in distributed mode, from Apache Kafka's own jars (the `kafka`
 * bundle), with a plugin path holding the pinned connector bundles (Debezium's PostgreSQL
 * source and JDBC sink) and the Prometheus JMX exporter attached. Its REST API is what the
 * seed's `curl localhost:8083/…` commands talk to.
 *
 * @example
 * ```ts
 * import { ConnectWorker } from "./connect.ts";
 * const worker = new ConnectWorker({ dir: ".stack", bootstrap: "localhost:9094", port: 8083 });
 * await worker.start();
 * console.log(worker.url()); // http://127.0.0.1:8083
 * ```
 * @module
 */
import { join } from "node:path";
import { bundleClasspath, fetchBundle } from "../process/artifacts.ts";
import { jmxAgentArg } from "./jmx.ts";
import {
  killHard,
  readPid,
  requireFreePorts,
  startDetached,
  stopProcess,
  tailFile,
} from "../process/process.ts";
import { type ProcessStatus, type Service, StackError } from "../process/service.ts";
import { sleep, STACK_PORTS } from "../../env/mod.ts";

/** Connector bundles (see bundles.ts) every worker gets in its plugin path. */
export const CONNECT_PLUGINS: readonly string[] = ["debezium-postgres", "debezium-jdbc"];

/** Options of a {@linkcode ConnectWorker}. */
export interface ConnectWorkerOptions {
  /** Stack data folder; the worker lives in `<dir>/connect-<name>/`. */
  dir: string;
  /** Bootstrap servers of the Kafka cluster it stores its state in. */
  bootstrap: string;
  /** REST port on 127.0.0.1. @default 8083 */
  port?: number;
  /** Port of the JMX exporter; 0 attaches none. @default 0 */
  jmxPort?: number;
  /** Worker name, unique within a stack; also part of the group id and topic names. @default "main" */
  name?: string;
  /** Replication factor of the internal topics (1..3). @default 3 */
  replicationFactor?: number;
  /** JVM heap in MB. @default 512 */
  heapMb?: number;
  /** Extra worker properties, applied last. @default {} */
  properties?: Record<string, string>;
  /** Seconds to wait for the REST API. @default 300 */
  readyTimeoutSec?: number;
}

const LOG4J2 = `status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %X{connector.context}%m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.reflections.name = org.reflections
logger.reflections.level = ERROR
logger.clients.name = org.apache.kafka.clients
logger.clients.level = WARN
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = WARN
`;

/** A local Connect worker; see the module doc. */
export class ConnectWorker implements Service {
  readonly name: string;
  readonly port: number;
  readonly jmxPort: number;
  readonly root: string;
  readonly bootstrap: string;
  readonly #rf: number;
  readonly #heapMb: number;
  readonly #props: Record<string, string>;
  readonly #readyTimeoutSec: number;

  constructor(options: ConnectWorkerOptions) {
    const {
      dir,
      bootstrap,
      port = STACK_PORTS.connect,
      jmxPort = 0,
      name = "main",
      replicationFactor = 3,
      heapMb = 512,
      properties = {},
      readyTimeoutSec = 300,
    } = options;
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new RangeError(
        `Cannot create a Connect worker as 'port' must be 1..65535: current value is ${port}`,
      );
    }
    if (!Number.isInteger(replicationFactor) || replicationFactor < 1 || replicationFactor > 3) {
      throw new RangeError(
        `Cannot create a Connect worker as 'replicationFactor' must be 1..3: current value is ${replicationFactor}`,
      );
    }
    this.name = `connect-${name}`;
    this.port = port;
    this.jmxPort = jmxPort;
    this.root = join(dir, `connect-${name}`);
    this.bootstrap = bootstrap;
    this.#rf = replicationFactor;
    this.#heapMb = heapMb;
    this.#props = properties;
    this.#readyTimeoutSec = readyTimeoutSec;
  }

  /** REST base URL. */
  url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get config(): string {
    return join(this.root, "connect-distributed.properties");
  }
  get log(): string {
    return join(this.root, "connect.log");
  }
  get pidFile(): string {
    return join(this.root, "pid");
  }
  get pluginPath(): string {
    return join(this.root, "plugins");
  }

  /** The worker properties. */
  properties(): Record<string, string> {
    const rf = String(this.#rf);
    const group = this.name;
    return {
      "bootstrap.servers": this.bootstrap,
      "group.id": group,
      "config.storage.topic": `${group}-configs`,
      "offset.storage.topic": `${group}-offsets`,
      "status.storage.topic": `${group}-status`,
      "config.storage.replication.factor": rf,
      "offset.storage.replication.factor": rf,
      "status.storage.replication.factor": rf,
      "offset.storage.partitions": "5",
      "status.storage.partitions": "3",
      "key.converter": "org.apache.kafka.connect.json.JsonConverter",
      "value.converter": "org.apache.kafka.connect.json.JsonConverter",
      "key.converter.schemas.enable": "false",
      "value.converter.schemas.enable": "false",
      "offset.flush.interval.ms": "1000",
      "listeners": `http://127.0.0.1:${this.port}`,
      "rest.advertised.host.name": "127.0.0.1",
      "rest.advertised.port": String(this.port),
      "plugin.path": this.pluginPath,
      "plugin.discovery": "service_load",
      "connector.client.config.override.policy": "All",
      "scheduled.rebalance.max.delay.ms": "5000",
      ...this.#props,
    };
  }

  /** Pid of the running worker, or undefined. */
  pid(): number | undefined {
    const st = readPid(this.pidFile, this.config);
    return st.state === "running" ? st.pid : undefined;
  }

  /**
   * One folder of links per plugin bundle. A jar the worker's own classpath already holds
   * (same file name, e.g. jackson-databind-2.19.0.jar) is left out of the plugin: two copies of
   * one class in two loaders break ServiceLoader lookups (the JDBC sink's Hibernate fails with
   * "Jdk8Module not a subtype").
   */
  async #preparePlugins(): Promise<void> {
    const base = (p: string) => p.split("/").pop()!;
    const onClasspath = new Set((await fetchBundle("kafka")).map(base));
    for (const bundle of CONNECT_PLUGINS) {
      const jars = (await fetchBundle(bundle)).filter((p) =>
        p.endsWith(".jar") && !onClasspath.has(base(p))
      );
      const dir = join(this.pluginPath, bundle);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      await Deno.mkdir(dir, { recursive: true });
      for (const jar of jars) await Deno.symlink(jar, join(dir, jar.split("/").pop()!));
    }
  }

  /** Starts the worker when it is not running and waits until its REST API serves. */
  async start(): Promise<void> {
    if (this.pid() === undefined) {
      const classpath = await bundleClasspath("kafka");
      await Deno.mkdir(this.root, { recursive: true });
      await this.#preparePlugins();
      await Deno.writeTextFile(join(this.root, "log4j2.properties"), LOG4J2);
      const props = Object.entries(this.properties()).map(([k, v]) => `${k}=${v}`).join("\n");
      await Deno.writeTextFile(this.config, props + "\n");
      await requireFreePorts("Kafka Connect", [this.port, ...(this.jmxPort ? [this.jmxPort] : [])]);
      const agent = this.jmxPort
        ? [await jmxAgentArg({ port: this.jmxPort, rules: "connect" })]
        : [];
      await startDetached({
        cmd: "java",
        args: [
          `-Xms${Math.min(256, this.#heapMb)}m`,
          `-Xmx${this.#heapMb}m`,
          "-XX:+UseG1GC",
          "-Djava.awt.headless=true",
          `-Dlog4j2.configurationFile=${join(this.root, "log4j2.properties")}`,
          ...agent,
          "-cp",
          classpath,
          "org.apache.kafka.connect.cli.ConnectDistributed",
          this.config,
        ],
        log: this.log,
        pidFile: this.pidFile,
        cwd: this.root,
      });
    }
    await this.waitReady();
  }

  /** Waits until the REST API lists connectors (the herder has joined its group). */
  async waitReady(timeoutSec = this.#readyTimeoutSec): Promise<void> {
    const deadline = Date.now() + timeoutSec * 1000;
    let last = "";
    while (Date.now() < deadline) {
      // The pid alone, no marker: right after the fork the child still shows our command line.
      if (readPid(this.pidFile).state !== "running") {
        throw new StackError(
          `Kafka Connect exited during start-up. Last lines of ${this.log}:\n${await tailFile(
            this.log,
          )}`,
        );
      }
      try {
        const res = await fetch(`${this.url()}/connectors`, { signal: AbortSignal.timeout(5000) });
        await res.body?.cancel();
        if (res.ok) return;
        last = `GET /connectors answered ${res.status}`;
      } catch (err) {
        last = (err as Error).message;
      }
      await sleep(500);
    }
    throw new StackError(
      `Kafka Connect not ready after ${timeoutSec}s (${last}). Last lines of ${this.log}:\n` +
        await tailFile(this.log),
    );
  }

  /** Stops the worker: gracefully, or with SIGKILL when `hard` (a crash drill). */
  async stop({ hard = false }: { hard?: boolean } = {}): Promise<void> {
    if (hard) {
      const pid = this.pid();
      if (pid !== undefined) killHard(pid);
    }
    await stopProcess(this.pidFile, { marker: this.config, graceMs: 30_000 });
  }

  async status(): Promise<ProcessStatus[]> {
    const st = readPid(this.pidFile, this.config);
    let health: string | undefined;
    if (st.state === "running") {
      health = await fetch(`${this.url()}/`, { signal: AbortSignal.timeout(3000) })
        .then(async (r) => `serving (Kafka ${(await r.json()).version})`)
        .catch(() => "starting");
    }
    return [{
      name: this.name,
      pid: st.state === "absent" ? undefined : st.pid,
      state: st.state === "absent" ? "stopped" : st.state,
      ports: { rest: this.port, ...(this.jmxPort ? { jmx: this.jmxPort } : {}) },
      health,
      log: this.log,
    }];
  }
}
