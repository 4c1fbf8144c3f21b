/**
 * A local stack: the services of one data folder, started and stopped together. The options
 * of the last `up` are kept in `<dir>/stack.json`, so `down` and `status` need no flags, and
 * the addresses in `<dir>/endpoints.json`, so clients find the stack that is up.
 *
 * @example
 * ```ts
 * import { Stack } from "./stack.ts";
 * const stack = new Stack({ brokers: 3 });
 * await stack.up();
 * console.table(await stack.status());
 * await stack.down();
 * ```
 * @module
 */
import { dirname, join, relative } from "node:path";
import { envInt } from "../env/mod.ts";
import { KafkaCluster } from "./services/kafka.ts";
import { PostgresServer } from "./services/postgres.ts";
import { HdfsCluster } from "./services/hdfs.ts";
import { SparkCluster } from "./services/spark.ts";
import { SchemaRegistryServer } from "./services/registry.ts";
import { SecureKafkaCluster } from "./services/secure_kafka.ts";
import { ConnectWorker } from "./services/connect.ts";
import { checkShapes, dataName } from "./process/shape.ts";
import { MIRROR_JMX_PORT_BASE, mirrorCluster } from "./services/mirror.ts";
import {
  MIRROR_MAKER_JMX_PORT,
  MIRROR_MAKER_REST_PORT,
  MirrorMaker,
  saslSslClientProperties,
} from "./services/mirror_maker.ts";
import { jmxAgentArg, jmxRulesFile } from "./services/jmx.ts";
import { LOCK_FILE } from "./process/artifacts.ts";
import { AlertmanagerServer, PrometheusServer } from "./services/prometheus.ts";
import { DenoService, recordedDenoServices } from "./services/deno_service.ts";
import { cacheDir, defaultStackDir, STACK_PORTS } from "../env/mod.ts";
import { readPid, stopProcess } from "./process/process.ts";
import { type ProcessStatus, type Service, StackError } from "./process/service.ts";
import { type StackEndpoints, writeEndpoints } from "../env/mod.ts";

/** What a stack runs. */
export interface StackOptions {
  /** Data folder. @default `$STACK_DIR` or `<project>/.stack` */
  dir?: string;
  /** Added to every port, so a test stack runs beside a user's. @default `$STACK_PORT_OFFSET` or 0 */
  portOffset?: number;
  /** Nodes of the main Kafka cluster. @default 1 */
  brokers?: number;
  /** Run PostgreSQL. @default true */
  postgres?: boolean;
  /** Run the schema registry (Apicurio, Confluent-compatible API; port 8081). @default false */
  registry?: boolean;
  /** Run HDFS: a NameNode (RPC 9000, HTTP/WebHDFS 9870) and a DataNode (9864/9866/9867). @default false */
  hdfs?: boolean;
  /**
   * Run a standalone Spark cluster from the pinned pyspark's jars: a master (RPC 7177, UI
   * 8088) and one worker (7178, UI 8087) offering 2 cores and 2 GiB. @default false
   */
  spark?: boolean;
  /** Run the secure Kafka cluster (practice 6: SASL_SSL, ACLs; 3 nodes, port base 11092). @default false */
  secure?: boolean;
  /** Attach the Prometheus JMX exporter to the main cluster's nodes (node i: 7071+i). @default true */
  jmx?: boolean;
  /** Run a Kafka Connect worker with the Debezium plugins (REST 8083, JMX exporter 7081). @default false */
  connect?: boolean;
  /** Run Prometheus (9090), Alertmanager (9099) and the consumer-lag exporter (9308). @default false */
  monitoring?: boolean;
  /**
   * Run cluster B (`mirror`, port base 13092, JMX exporter 7091+i) and MirrorMaker 2 (REST
   * 8084, JMX exporter 7082) replicating the secure cluster into it; implies `secure`.
   * @default false
   */
  mirror?: boolean;
  /** Nodes of cluster B. @default 1 */
  mirrorBrokers?: number;
  /**
   * Topics MirrorMaker 2 replicates (names or regexes); empty: every topic its principal
   * `mirror-maker` may read on the secure cluster (its ACLs are the list). @default []
   */
  mirrorTopics?: string[];
}

type Resolved = Required<StackOptions>;

/** Resolves options with defaults from env, validating them. */
export function resolveStackOptions(options: StackOptions = {}): Resolved {
  const {
    dir = defaultStackDir(),
    portOffset = envInt("STACK_PORT_OFFSET", { default: 0, min: 0, max: 50_000 }),
    brokers = 1,
    postgres = true,
    registry = false,
    hdfs = false,
    spark = false,
    secure = false,
    jmx = true,
    connect = false,
    monitoring = false,
    mirror = false,
    mirrorBrokers = 1,
    mirrorTopics = [],
  } = options;
  if (!Number.isInteger(mirrorBrokers) || mirrorBrokers < 1 || mirrorBrokers > 9) {
    throw new RangeError(
      `Cannot start the stack as 'mirrorBrokers' must be 1 to 9: current value is ${mirrorBrokers}`,
    );
  }
  if (!Number.isInteger(brokers) || brokers < 1 || brokers > 9) {
    throw new RangeError(
      `Cannot start the stack as 'brokers' must be 1 to 9: current value is ${brokers}`,
    );
  }
  return {
    dir,
    portOffset,
    brokers,
    postgres,
    secure: secure || mirror, // MirrorMaker 2 reads the secure cluster (cluster A)
    jmx,
    connect,
    monitoring,
    registry,
    hdfs,
    spark,
    mirror,
    mirrorBrokers,
    mirrorTopics,
  };
}

/** The services of a local stack. */
export class Stack {
  readonly options: Resolved;
  readonly kafka: KafkaCluster;
  readonly postgres?: PostgresServer;
  readonly registry?: SchemaRegistryServer;
  readonly hdfs?: HdfsCluster;
  /** The standalone Spark master and worker (with `spark`). */
  readonly spark?: SparkCluster;
  readonly secureKafka?: SecureKafkaCluster;
  readonly connect?: ConnectWorker;
  readonly prometheus?: PrometheusServer;
  readonly alertmanager?: AlertmanagerServer;
  readonly lagExporter?: DenoService;
  /** Cluster B, the analytics mirror (with `mirror`). */
  readonly mirrorKafka?: KafkaCluster;
  /** MirrorMaker 2, secure cluster → cluster B (with `mirror`). */
  readonly mirrorMaker?: MirrorMaker;
  /** MirrorMaker's watchdog: restarts it when a task failed (with `mirror` and JMX). */
  readonly mirrorWatchdog?: DenoService;

  constructor(options: StackOptions = {}) {
    this.options = resolveStackOptions(options);
    const { dir, portOffset, brokers, postgres } = this.options;
    const jmxPort = (id: number) => STACK_PORTS.kafkaJmx + id + portOffset;
    this.kafka = new KafkaCluster({
      dir,
      name: "main",
      brokers,
      portBase: STACK_PORTS.kafka + portOffset,
      shapeHint: (old) =>
        `\`${
          old.portBase === STACK_PORTS.kafka + portOffset
            ? ""
            : `STACK_PORT_OFFSET=${Number(old.portBase) - STACK_PORTS.kafka} `
        }deno task stack up --brokers ${old.brokers}\` with your other flags`,
      jvmArgs: this.options.jmx
        ? (id) => [jmxAgentArgSync(jmxPort(id), "kafka-broker")]
        : undefined,
    });
    if (postgres) {
      this.postgres = new PostgresServer({ dir, port: STACK_PORTS.postgres + portOffset });
    }
    if (this.options.registry) {
      this.registry = new SchemaRegistryServer({
        dir,
        port: STACK_PORTS.registry + portOffset,
        auth: this.options.secure,
      });
    }
    if (this.options.hdfs) this.hdfs = new HdfsCluster({ dir, portOffset });
    if (this.options.spark) this.spark = new SparkCluster({ dir, portOffset });
    if (this.options.secure) {
      this.secureKafka = new SecureKafkaCluster({
        dir,
        brokers: 3,
        portBase: STACK_PORTS.secureKafka + portOffset,
      });
    }
    if (this.options.mirror && this.secureKafka) {
      const secure = this.secureKafka;
      const mirrorJmx = (id: number) => MIRROR_JMX_PORT_BASE + id + portOffset;
      const mirror = mirrorCluster({
        dir,
        brokers: this.options.mirrorBrokers,
        portOffset,
        jvmArgs: this.options.jmx
          ? (id) => [jmxAgentArgSync(mirrorJmx(id), "kafka-broker")]
          : undefined,
      });
      this.mirrorKafka = mirror;
      this.mirrorMaker = new MirrorMaker({
        dir,
        source: {
          bootstrap: secure.bootstrap(),
          properties: () => {
            const s = secure.secrets();
            return saslSslClientProperties({
              username: "mirror-maker",
              password: s.users["mirror-maker"],
              truststore: s.truststore,
              truststorePassword: s.storePassword,
            });
          },
        },
        target: { bootstrap: mirror.bootstrap() },
        topics: this.options.mirrorTopics,
        replicationFactor: Math.min(3, this.options.mirrorBrokers),
        restPort: MIRROR_MAKER_REST_PORT + portOffset,
        jmxPort: this.options.jmx ? MIRROR_MAKER_JMX_PORT + portOffset : 0,
      });
      // Restarts MirrorMaker when a task of it has failed for good; it reads the task status
      // from the JMX exporter, so there is none without one.
      if (this.options.jmx) {
        this.mirrorWatchdog = new DenoService({
          dir,
          name: "mirror-watchdog",
          script: "tasks/stack_mirror_watchdog.ts",
          port: STACK_PORTS.mirrorWatchdog + portOffset,
        });
      }
    }
    if (this.options.connect) {
      this.connect = new ConnectWorker({
        dir,
        bootstrap: this.kafka.bootstrap(),
        port: STACK_PORTS.connect + portOffset,
        jmxPort: STACK_PORTS.connectJmx + portOffset,
        replicationFactor: Math.min(3, brokers),
      });
    }
    if (this.options.monitoring) {
      this.alertmanager = new AlertmanagerServer({
        dir,
        port: STACK_PORTS.alertmanager + portOffset,
      });
      this.prometheus = new PrometheusServer({
        dir,
        port: STACK_PORTS.prometheus + portOffset,
        alertmanager: `127.0.0.1:${this.alertmanager.port}`,
        targets: {
          kafka: this.options.jmx ? this.kafka.nodeIds.map((i) => `127.0.0.1:${jmxPort(i)}`) : [],
          connect: this.connect ? [`127.0.0.1:${this.connect.jmxPort}`] : [],
          "kafka-mirror": this.mirrorKafka && this.options.jmx
            ? this.mirrorKafka.nodeIds.map((i) =>
              `127.0.0.1:${MIRROR_JMX_PORT_BASE + i + portOffset}`
            )
            : [],
          "mirror-maker": this.mirrorMaker?.jmxPort
            ? [`127.0.0.1:${this.mirrorMaker.jmxPort}`]
            : [],
        },
      });
      this.lagExporter = new DenoService({
        dir,
        name: "lag-exporter",
        script: "tasks/monitoring/lag_exporter.ts",
        port: STACK_PORTS.lagExporter + portOffset,
        env: { KAFKA_BOOTSTRAP_SERVERS: this.kafka.bootstrap() },
      });
    }
  }

  /** The stack that was last brought up in `dir`, or a default one. */
  static async load(dir: string = defaultStackDir()): Promise<Stack> {
    try {
      const saved = JSON.parse(await Deno.readTextFile(join(dir, "stack.json")));
      return new Stack({ ...saved, dir });
    } catch {
      return new Stack({ dir });
    }
  }

  /** Services in start order. */
  get services(): Service[] {
    return [
      this.kafka,
      ...(this.postgres ? [this.postgres] : []),
      ...(this.registry ? [this.registry] : []),
      ...(this.hdfs ? [this.hdfs] : []),
      ...(this.spark ? [this.spark] : []),
      ...(this.secureKafka ? [this.secureKafka] : []),
      ...(this.mirrorKafka ? [this.mirrorKafka] : []),
      ...this.#dependent,
    ];
  }

  /** Services that need the main cluster up first (started after it, in this order). */
  get #dependent(): Service[] {
    return [
      this.connect,
      this.mirrorMaker,
      this.mirrorWatchdog,
      this.alertmanager,
      this.prometheus,
      this.lagExporter,
    ]
      .filter((s): s is NonNullable<typeof s> => s !== undefined);
  }

  /** Addresses of the stack's services. */
  endpoints(): StackEndpoints {
    const endpoints: StackEndpoints = {
      kafka: { main: this.kafka.bootstrap() },
      postgresUrl: this.postgres?.url(),
    };
    if (this.secureKafka) {
      endpoints.kafka.secure = this.secureKafka.bootstrap();
      const dir = this.secureKafka.secretsDir;
      endpoints.kafkaSecure = {
        internal: this.secureKafka.internalBootstrap(),
        caFile: join(dir, "ca.crt"),
        secretsFile: join(dir, "secrets.json"),
      };
    }
    if (this.mirrorKafka) endpoints.kafka.mirror = this.mirrorKafka.bootstrap();
    if (this.mirrorMaker?.jmxPort) {
      endpoints.mirrorMakerMetricsUrl = `http://127.0.0.1:${this.mirrorMaker.jmxPort}/metrics`;
    }
    if (this.connect) {
      endpoints.connectUrl = this.connect.url();
      endpoints.connectMetricsUrl = `http://127.0.0.1:${this.connect.jmxPort}/metrics`;
    }
    if (this.registry) {
      endpoints.schemaRegistryUrl = this.registry.url();
      if (this.registry.auth) {
        endpoints.schemaRegistryCredentialsFile = this.registry.credentialsFile;
      }
    }
    if (this.hdfs) {
      endpoints.webhdfsUrl = this.hdfs.webhdfsUrl();
      endpoints.hdfsUrl = this.hdfs.defaultFs();
    }
    if (this.spark) {
      endpoints.sparkMasterUrl = this.spark.masterUrl();
      endpoints.sparkUiUrl = this.spark.uiUrl();
    }
    if (this.prometheus) endpoints.prometheusUrl = this.prometheus.url();
    if (this.alertmanager) endpoints.alertmanagerUrl = this.alertmanager.url();
    return endpoints;
  }

  /** Starts every service that is not running and waits until each serves. */
  async up(): Promise<void> {
    // A service whose data was made for another shape stops `up` before anything is touched.
    await checkShapes(this.services);
    await Deno.mkdir(this.options.dir, { recursive: true });
    await Deno.writeTextFile(
      join(this.options.dir, "stack.json"),
      JSON.stringify(this.options, null, 2) + "\n",
    );
    if (this.options.jmx) await jmxAgentArg({ port: STACK_PORTS.kafkaJmx, rules: "kafka-broker" }); // fetch the agent
    const late = this.#dependent;
    // Every start runs to its end before a failure is reported: a service still starting in
    // the background after `up` has thrown would race whatever comes next (a retry, `down`).
    const started = await Promise.allSettled(
      this.services.filter((s) => !late.includes(s)).map((s) => s.start()),
    );
    const failed = started.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed.length === 1) throw failed[0].reason;
    if (failed.length > 1) {
      throw new StackError(failed.map((f) => (f.reason as Error).message ?? f.reason).join("\n"));
    }
    for (const s of late) await s.start();
    await writeEndpoints(this.options.dir, this.endpoints());
  }

  /**
   * The Deno services other code started on this stack (e.g. the platform's SHOP API and
   * filter), found by the record each start leaves in `<dir>/<name>/service.json`. `up` does
   * not start them; `status`, `down` and {@linkcode service} include them.
   */
  async attached(): Promise<DenoService[]> {
    const own = new Set(this.services.map((s) => s.name));
    return (await recordedDenoServices(this.options.dir)).filter((s) => !own.has(s.name));
  }

  /**
   * A service by name (as `reset` and `status` name it, e.g. `kafka-main`, `postgres`,
   * `shop-api`) — one of the stack's own or an attached one — for `stack restart` and `stack
   * stop`; a name it does not know throws, naming the ones it does.
   */
  async service(name: string): Promise<Service> {
    const all = [...this.services, ...(await this.attached())];
    // By the name `reset` uses too (`kafka-main` for the cluster named `main`).
    const found = all.find((s) => dataName(s) === name || s.name === name);
    if (!found) {
      throw new RangeError(
        `No service named '${name}' in ${this.options.dir}: its services are ${
          all.map(dataName).join(", ")
        }`,
      );
    }
    return found;
  }

  /**
   * Stops every service — the attached ones first, while what they use still runs — and any
   * process still named by a pid file in the data folder (services the stack was not asked
   * for, e.g. ones a test started in the test stack's folder).
   */
  async down(): Promise<string[]> {
    const stopped: string[] = [];
    for (const s of [...(await this.attached()), ...[...this.services].reverse()]) {
      await s.stop();
      stopped.push(s.name);
    }
    for (const pidFile of await findPidFiles(this.options.dir)) {
      if (readPid(pidFile).state !== "absent") {
        const pid = await stopProcess(pidFile, { marker: this.options.dir });
        // Named by its folder (e.g. `kafka-secure/node-1`), which says what it was.
        const what = relative(this.options.dir, dirname(pidFile)) || "process";
        if (pid) stopped.push(`${what} (pid ${pid})`);
      }
    }
    await Deno.remove(join(this.options.dir, "endpoints.json")).catch(() => {});
    return stopped;
  }

  /** Status of every process: the stack's own services, then the attached ones. */
  async status(): Promise<ProcessStatus[]> {
    const all = [...this.services, ...(await this.attached())];
    return (await Promise.all(all.map((s) => s.status()))).flat();
  }
}

async function findPidFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, depth: number) => {
    if (depth > 3) return;
    try {
      for await (const e of Deno.readDir(d)) {
        const p = join(d, e.name);
        if (e.isDirectory && e.name !== "data") await walk(p, depth + 1);
        else if (e.isFile && e.name === "pid") out.push(p);
      }
    } catch { /* missing folder */ }
  };
  await walk(dir, 0);
  return out;
}

/** The JMX exporter argument once the agent is in the cache (`up` fetches it first). */
function jmxAgentArgSync(port: number, rules: "kafka-broker" | "connect" | "mirror-maker"): string {
  const lock = JSON.parse(Deno.readTextFileSync(LOCK_FILE));
  const jar = join(cacheDir(), "maven", lock.bundles["jmx-exporter"].files[0].path);
  return `-javaagent:${jar}=127.0.0.1:${port}:${jmxRulesFile(rules)}`;
}
