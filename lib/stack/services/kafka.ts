/**
 * A KRaft Kafka cluster of 1–N local nodes, each broker + controller as in the seed's
 * KAFKA-KRAFT table: PLAINTEXT (inter-broker), EXTERNAL (clients) and CONTROLLER listeners
 * and a fixed cluster id. A cluster is a value: several can run side by side on different
 * port bases (the final project's main and mirror clusters).
 *
 * Node `i` of a cluster with port base `B` listens on PLAINTEXT `B+100i`, CONTROLLER
 * `B+100i+1` and EXTERNAL `B+100i+2`; with the default base 9092 node 0 has the seed's
 * 9092/9093/9094.
 *
 * @example
 * ```ts
 * import { KafkaCluster } from "./kafka.ts";
 * const cluster = new KafkaCluster({ dir: ".stack", brokers: 3 });
 * await cluster.start();
 * console.log(cluster.bootstrap()); // localhost:9094,localhost:9194,localhost:9294
 * ```
 * @module
 */
import { join } from "node:path";
import { bundleClasspath } from "../process/artifacts.ts";
import {
  isAlive,
  killHard,
  portOpen,
  readPid,
  requireFreePorts,
  run,
  startDetached,
  stopProcess,
  tailFile,
} from "../process/process.ts";
import { type ProcessStatus, type Service, StackError } from "../process/service.ts";
import { createKafka, type KafkaClientOptions } from "../../kafka/mod.ts";
import {
  checkShape,
  readShape,
  type Shape,
  type ShapedService,
  writeShape,
} from "../process/shape.ts";
import { kafkaNodePorts, type NodePorts, sleep, STACK_PORTS } from "../../env/mod.ts";

/** The seed's cluster id (`KAFKA_KRAFT_CLUSTER_ID`). */
export const SEED_CLUSTER_ID = "abcdefghijklmnopqrstuv";

/** Options of a {@linkcode KafkaCluster}. */
export interface KafkaClusterOptions {
  /** Stack data folder; the cluster lives in `<dir>/kafka-<name>/`. */
  dir: string;
  /** Cluster name, unique within a stack. @default "main" */
  name?: string;
  /** Number of nodes, each broker + controller. @default 1 */
  brokers?: number;
  /** PLAINTEXT port of node 0; the other ports derive from it. @default 9092 */
  portBase?: number;
  /** KRaft cluster id (22 characters of URL-safe base64). @default SEED_CLUSTER_ID */
  clusterId?: string;
  /** JVM heap of each node in MB. @default 512 */
  heapMb?: number;
  /** Extra broker properties, applied last. @default {} */
  properties?: Record<string, string>;
  /** Seconds to wait for the cluster to serve. @default 120 */
  readyTimeoutSec?: number;
  /** Extra JVM arguments of node `id`, e.g. a `-javaagent:` (the JMX exporter). @default none */
  jvmArgs?: (id: number) => string[];
  /**
   * Listener and security properties of node `id`, applied over the plaintext layout and the
   * defaults but under `properties` (a secured cluster: SASL_SSL listeners, authorizer).
   * Called when the nodes are configured. @default none (plaintext)
   */
  nodeProperties?: (id: number, ports: NodePorts) => Record<string, string>;
  /** Extra arguments of the storage format, e.g. `--add-scram …`. Called once per format. @default none */
  formatArgs?: () => string[];
  /**
   * Client options of the readiness check and of {@linkcode KafkaCluster.client}, over the
   * bootstrap list (a secured cluster's admin credentials). @default plaintext
   */
  clientOptions?: () => Partial<KafkaClientOptions>;
  /**
   * Security of the listeners, recorded in the cluster's shape (a cluster's data is not
   * reused under another security). @default "plaintext"
   */
  security?: string;
  /**
   * Names how to bring the cluster's old shape back when a start is refused for a shape
   * change, e.g. `(old) => \`deno task stack up --brokers ${old.brokers}\``. @default its settings
   */
  shapeHint?: (old: Shape) => string;
}

export type { NodePorts };

/** Ports of node `id` for a port base (see the module doc; lib/env's `kafkaNodePorts`). */
export const nodePorts: (portBase: number, id: number) => NodePorts = kafkaNodePorts;

/** Default broker settings of the local stack for a cluster of `n` nodes. */
export function defaultBrokerProperties(n: number): Record<string, string> {
  const rf = String(Math.min(3, n));
  const isr = String(Math.min(2, n));
  return {
    "num.partitions": "1",
    "default.replication.factor": rf,
    "offsets.topic.replication.factor": rf,
    "offsets.topic.num.partitions": "10",
    "transaction.state.log.replication.factor": rf,
    "transaction.state.log.min.isr": isr,
    "transaction.state.log.num.partitions": "10",
    "share.coordinator.state.topic.replication.factor": rf,
    "share.coordinator.state.topic.min.isr": isr,
    "group.initial.rebalance.delay.ms": "0",
    "auto.create.topics.enable": "true",
    "log.retention.hours": "168",
  };
}

const LOG4J2 = `status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
`;

/** A local KRaft cluster; see the module doc. */
export class KafkaCluster implements Service, ShapedService {
  readonly name: string;
  readonly brokers: number;
  readonly portBase: number;
  readonly clusterId: string;
  readonly root: string;
  readonly #heapMb: number;
  readonly #props: Record<string, string>;
  readonly #readyTimeoutSec: number;
  readonly #jvmArgs?: (id: number) => string[];
  readonly #nodeProperties?: (id: number, ports: NodePorts) => Record<string, string>;
  readonly #formatArgs?: () => string[];
  readonly #clientOptions?: () => Partial<KafkaClientOptions>;
  readonly security: string;
  readonly #shapeHint?: (old: Shape) => string;

  constructor(options: KafkaClusterOptions) {
    const {
      dir,
      name = "main",
      brokers = 1,
      portBase = STACK_PORTS.kafka,
      clusterId = SEED_CLUSTER_ID,
      heapMb = 512,
      properties = {},
      readyTimeoutSec = 120,
      jvmArgs,
      nodeProperties,
      formatArgs,
      clientOptions,
      security = "plaintext",
      shapeHint,
    } = options;
    if (!Number.isInteger(brokers) || brokers < 1 || brokers > 9) {
      throw new RangeError(
        `Cannot create a Kafka cluster as 'brokers' must be an integer from 1 to 9: current value is ${brokers}`,
      );
    }
    if (!/^[A-Za-z0-9_-]{22}$/.test(clusterId)) {
      throw new RangeError(
        `Cannot create a Kafka cluster as 'clusterId' must be 22 URL-safe base64 characters: current value is '${clusterId}'`,
      );
    }
    this.name = name;
    this.brokers = brokers;
    this.portBase = portBase;
    this.clusterId = clusterId;
    this.root = join(dir, `kafka-${name}`);
    this.#heapMb = heapMb;
    this.#props = properties;
    this.#readyTimeoutSec = readyTimeoutSec;
    this.#jvmArgs = jvmArgs;
    this.#nodeProperties = nodeProperties;
    this.#formatArgs = formatArgs;
    this.#clientOptions = clientOptions;
    this.security = security;
    this.#shapeHint = shapeHint;
  }

  /** Client options for this cluster (bootstrap list plus any security options). */
  clientConfig(): KafkaClientOptions {
    return { brokers: this.bootstrap().split(","), ...this.#clientOptions?.() };
  }

  /** Node ids 0..n-1. */
  get nodeIds(): number[] {
    return Array.from({ length: this.brokers }, (_, i) => i);
  }

  /** Client bootstrap list (EXTERNAL listeners). */
  bootstrap(): string {
    return this.nodeIds.map((i) => `localhost:${nodePorts(this.portBase, i).external}`).join(",");
  }

  /** Folder, config, log and pid file of a node. */
  node(
    id: number,
  ): { dir: string; config: string; log: string; pidFile: string; ports: NodePorts } {
    const dir = join(this.root, `node-${id}`);
    return {
      dir,
      config: join(dir, "server.properties"),
      log: join(dir, "server.log"),
      pidFile: join(dir, "pid"),
      ports: nodePorts(this.portBase, id),
    };
  }

  /** The broker properties of a node. */
  properties(id: number): Record<string, string> {
    const { dir, ports } = this.node(id);
    const voters = this.nodeIds.map((i) =>
      `${i}@127.0.0.1:${nodePorts(this.portBase, i).controller}`
    );
    return {
      "process.roles": "broker,controller",
      "node.id": String(id),
      "controller.quorum.voters": voters.join(","),
      "listeners":
        `PLAINTEXT://127.0.0.1:${ports.plaintext},EXTERNAL://127.0.0.1:${ports.external},CONTROLLER://127.0.0.1:${ports.controller}`,
      "advertised.listeners":
        `PLAINTEXT://127.0.0.1:${ports.plaintext},EXTERNAL://localhost:${ports.external}`,
      "listener.security.protocol.map":
        "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,EXTERNAL:PLAINTEXT",
      "controller.listener.names": "CONTROLLER",
      "inter.broker.listener.name": "PLAINTEXT",
      "log.dirs": join(dir, "data"),
      ...defaultBrokerProperties(this.brokers),
      ...this.#nodeProperties?.(id, ports),
      ...this.#props,
    };
  }

  /** Name of the cluster's data for `stack reset` and `stack status`. */
  get dataName(): string {
    return `kafka-${this.name}`;
  }

  #specFile(): string {
    return join(this.root, "cluster.json");
  }

  /** The shape this cluster asks for: what its data folder is only valid for. */
  shape(): Shape {
    return {
      brokers: this.brokers,
      portBase: this.portBase,
      clusterId: this.clusterId,
      security: this.security,
    };
  }

  /** The folder of the cluster's data (every node, its config and logs). */
  dataFolders(): string[] {
    return [this.root];
  }

  /** The shape its data was made with (`cluster.json`), or undefined. */
  recordedShape(): Promise<Shape | undefined> {
    return readShape(this.#specFile());
  }

  /**
   * Whether any node folder (also of nodes the asked shape lacks) holds more than a fresh
   * format: a node that ever ran has partition folders (at least `__cluster_metadata-0`).
   */
  async holdsData(): Promise<boolean> {
    try {
      for await (const n of Deno.readDir(this.root)) {
        if (!n.isDirectory || !n.name.startsWith("node-")) continue;
        try {
          for await (const e of Deno.readDir(join(this.root, n.name, "data"))) {
            if (e.isDirectory) return true;
          }
        } catch { /* no data folder */ }
      }
    } catch { /* no cluster folder */ }
    return false;
  }

  /** Refuses a shape change of a cluster whose folder holds data; touches nothing. */
  async checkShape(): Promise<void> {
    await this.#checkShape();
  }

  #checkShape() {
    return checkShape({
      service: this.dataName,
      folder: this.root,
      file: this.#specFile(),
      asked: this.shape(),
      holdsData: () => this.holdsData(),
      oldShapeHint: this.#shapeHint,
    });
  }

  /** Pid of a running node, or undefined. */
  pid(id: number): number | undefined {
    const st = readPid(this.node(id).pidFile, this.node(id).config);
    return st.state === "running" ? st.pid : undefined;
  }

  async #prepare(classpath: string): Promise<void> {
    // A folder of another shape that holds data stops here, before anything is touched.
    if (await this.#checkShape() === "empty") {
      // Another shape, but no node ever ran on it (an interrupted first start): nothing of
      // the user's is there, so it is made afresh for the asked shape.
      console.error(
        `Kafka cluster '${this.name}': ${this.root} holds no data yet; re-creating it as ${
          JSON.stringify(this.shape())
        }`,
      );
      await Deno.remove(this.root, { recursive: true });
    }
    await Deno.mkdir(this.root, { recursive: true });
    await writeShape(this.#specFile(), this.shape());
    await Deno.writeTextFile(join(this.root, "log4j2.properties"), LOG4J2);
    for (const id of this.nodeIds) {
      const node = this.node(id);
      await Deno.mkdir(node.dir, { recursive: true });
      const props = Object.entries(this.properties(id)).map(([k, v]) => `${k}=${v}`).join("\n");
      await Deno.writeTextFile(node.config, props + "\n");
      const formatted = await Deno.stat(join(node.dir, "data", "meta.properties")).then(
        () => true,
        () => false,
      );
      if (!formatted) {
        await run("java", [
          "-cp",
          classpath,
          "kafka.tools.StorageTool",
          "format",
          "-t",
          this.clusterId,
          "-c",
          node.config,
          ...(this.#formatArgs?.() ?? []),
        ], {
          what: `formatting storage of ${this.name} node ${id}`,
        }).catch((err) => {
          throw new StackError((err as Error).message);
        });
      }
    }
  }

  /** Starts one node (it must be prepared, i.e. the cluster started once). */
  async startNode(id: number, classpath?: string): Promise<void> {
    if (this.pid(id) !== undefined) return;
    const node = this.node(id);
    const cp = classpath ?? await bundleClasspath("kafka");
    await requireFreePorts(`${this.name} node ${id}`, Object.values(node.ports));
    await startDetached({
      cmd: "java",
      args: [
        `-Xms${Math.min(256, this.#heapMb)}m`,
        `-Xmx${this.#heapMb}m`,
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        `-Dlog4j2.configurationFile=${join(this.root, "log4j2.properties")}`,
        ...(this.#jvmArgs?.(id) ?? []),
        "-cp",
        cp,
        "kafka.Kafka",
        node.config,
      ],
      log: node.log,
      pidFile: node.pidFile,
      cwd: node.dir,
    });
  }

  /** Stops one node: gracefully, or with SIGKILL when `hard` (a crash drill). */
  async stopNode(id: number, { hard = false }: { hard?: boolean } = {}): Promise<void> {
    const node = this.node(id);
    if (hard) {
      const pid = this.pid(id);
      if (pid !== undefined) killHard(pid);
    }
    await stopProcess(node.pidFile, { marker: node.config, graceMs: 30_000 });
  }

  /** Starts every node that is not running and waits until all brokers are registered. */
  async start(): Promise<void> {
    const classpath = await bundleClasspath("kafka");
    await this.#prepare(classpath);
    for (const id of this.nodeIds) await this.startNode(id, classpath);
    await this.waitReady();
  }

  /**
   * Waits until the KRaft quorum has a leader and every node is registered as a broker;
   * fails with the tail of the log of a node that died or of node 0 at the timeout.
   */
  async waitReady(timeoutSec = this.#readyTimeoutSec): Promise<void> {
    const deadline = Date.now() + timeoutSec * 1000;
    const kafka = createKafka({
      ...this.clientConfig(),
      logLevel: "NOTHING",
      connectionTimeout: 3_000,
    });
    let lastErr = "";
    while (Date.now() < deadline) {
      for (const id of this.nodeIds) {
        // The pid alone: we just wrote it, and right after the fork the child can still show
        // its parent's command line, which a marker check would take for a stale pid.
        const st = readPid(this.node(id).pidFile);
        if (st.state !== "running") {
          throw new StackError(
            `Kafka ${this.name} node ${id} exited during start-up. Last lines of ${
              this.node(id).log
            }:\n` +
              await tailFile(this.node(id).log),
          );
        }
      }
      const admin = kafka.admin({ retry: { retries: 0 } });
      try {
        await admin.connect();
        const desc = await admin.describeCluster();
        if (
          desc.brokers.length === this.brokers && desc.controller !== null && desc.controller >= 0
        ) {
          return;
        }
        lastErr = `${desc.brokers.length}/${this.brokers} brokers registered`;
      } catch (err) {
        lastErr = err instanceof Error ? err.message : String(err);
      } finally {
        await admin.disconnect().catch(() => {});
      }
      await sleep(500);
    }
    throw new StackError(
      `Kafka cluster '${this.name}' not ready after ${timeoutSec}s (${lastErr}). Last lines of ${
        this.node(0).log
      }:\n` +
        await tailFile(this.node(0).log),
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodeIds.map((id) => this.stopNode(id)));
  }

  async status(): Promise<ProcessStatus[]> {
    const rows: ProcessStatus[] = [];
    for (const id of this.nodeIds) {
      const node = this.node(id);
      const st = readPid(node.pidFile, node.config);
      let health: string | undefined;
      if (st.state === "running") {
        health = (await portOpen(node.ports.external)) ? "serving" : "starting";
      }
      rows.push({
        name: `kafka-${this.name}-${id}`,
        pid: st.state === "absent" ? undefined : st.pid,
        state: st.state === "absent" ? "stopped" : st.state,
        ports: { ...node.ports },
        health,
        log: node.log,
      });
    }
    return rows;
  }

  /** Whether a node process is alive (for drills). */
  alive(id: number): boolean {
    const pid = this.pid(id);
    return pid !== undefined && isAlive(pid);
  }
}
