/**
 * HDFS as local processes: one NameNode and one DataNode from Apache Hadoop's jars on Maven
 * Central (bundle `hadoop`), WebHDFS on, permissions off (a single-user practicum). The
 * NameNode is formatted once, on the first start; the data survives `stack down`.
 *
 * The shape of its data is the cluster id and layout version in the NameNode's
 * `name/current/VERSION`: a DataNode's blocks belong to that cluster id only, so data of
 * another cluster id stops `up` before anything is touched (`deno task stack reset hdfs` is
 * the way on). A format that never finished (no `VERSION`) is redone on the next start.
 *
 * Ports (offset by the stack's port offset): NameNode RPC 9000 and HTTP/WebHDFS 9870,
 * DataNode HTTP 9864, data transfer 9866 and IPC 9867.
 *
 * @example
 * ```ts
 * import { HdfsCluster } from "./hdfs.ts";
 * const hdfs = new HdfsCluster({ dir: ".stack" });
 * await hdfs.start();
 * console.log(hdfs.webhdfsUrl()); // http://127.0.0.1:9870/webhdfs/v1
 * console.log(await hdfs.report()); // { liveDataNodes: 1, capacityBytes: …, … }
 * ```
 * @module
 */
import { join } from "node:path";
import { bundleClasspath } from "../process/artifacts.ts";
import {
  portOpen,
  readPid,
  requireFreePorts,
  run,
  startDetached,
  stopProcess,
  tailFile,
} from "../process/process.ts";
import { type ProcessStatus, type Service, StackError } from "../process/service.ts";
import { checkShape, type Shape, type ShapedService } from "../process/shape.ts";
import { sleep, STACK_PORTS } from "../../env/mod.ts";

/** The cluster id HDFS is formatted with. */
export const HDFS_CLUSTER_ID = "practicum";

/** Options of an {@linkcode HdfsCluster}. */
export interface HdfsOptions {
  /** Stack data folder; HDFS lives in `<dir>/hdfs/`. */
  dir: string;
  /** Added to every port. @default 0 */
  portOffset?: number;
  /** JVM heap of each process in MB. @default 256 */
  heapMb?: number;
  /** Seconds to wait for the NameNode to leave safe mode with a live DataNode. @default 120 */
  readyTimeoutSec?: number;
}

/** Ports of the HDFS processes. */
export interface HdfsPorts {
  rpc: number;
  http: number;
  dataHttp: number;
  dataTransfer: number;
  dataIpc: number;
}

/** What the NameNode reports about the file system. */
export interface HdfsReport {
  /** DataNodes the NameNode counts as live. */
  liveDataNodes: number;
  /** DataNodes it counts as dead. */
  deadDataNodes: number;
  /** Configured capacity in bytes. */
  capacityBytes: number;
  /** Bytes used by HDFS blocks. */
  usedBytes: number;
  /** Bytes still free for HDFS. */
  remainingBytes: number;
  /** Whether the NameNode is in safe mode (read-only). */
  safeMode: boolean;
}

const LOG4J = `log4j.rootLogger=INFO,console
log4j.appender.console=org.apache.log4j.ConsoleAppender
log4j.appender.console.target=System.err
log4j.appender.console.layout=org.apache.log4j.PatternLayout
log4j.appender.console.layout.ConversionPattern=%d{ISO8601} %p %c{2}: %m%n
log4j.logger.org.apache.hadoop.hdfs.StateChange=WARN
log4j.logger.org.apache.hadoop.hdfs.server.namenode.FSNamesystem.audit=WARN
log4j.logger.org.apache.hadoop.hdfs.server.datanode.DataNode.clienttrace=WARN
log4j.logger.org.apache.hadoop.util.NativeCodeLoader=ERROR
`;

/** The last lines of a Hadoop log, without the start-up banner's kilobytes of classpath. */
async function tailHadoop(log: string): Promise<string> {
  return (await tailFile(log, 60)).split("\n")
    .filter((l) => !l.startsWith("STARTUP_MSG:   classpath"))
    .slice(-30).join("\n");
}

function xml(props: Record<string, string>): string {
  const body = Object.entries(props)
    .map(([k, v]) => `  <property><name>${k}</name><value>${v}</value></property>`)
    .join("\n");
  return `<?xml version="1.0"?>\n<configuration>\n${body}\n</configuration>\n`;
}

type Role = "namenode" | "datanode";

const MAIN_CLASS: Record<Role, string> = {
  namenode: "org.apache.hadoop.hdfs.server.namenode.NameNode",
  datanode: "org.apache.hadoop.hdfs.server.datanode.DataNode",
};

/** A local single-DataNode HDFS; see the module doc. */
export class HdfsCluster implements Service, ShapedService {
  readonly name = "hdfs";
  readonly dataName = "hdfs";
  readonly root: string;
  readonly ports: HdfsPorts;
  readonly #heapMb: number;
  readonly #readyTimeoutSec: number;

  constructor(options: HdfsOptions) {
    const { dir, portOffset = 0, heapMb = 256, readyTimeoutSec = 120 } = options;
    if (!Number.isInteger(heapMb) || heapMb < 64) {
      throw new RangeError(
        `Cannot create HDFS as 'heapMb' must be an integer >= 64: current value is ${heapMb}`,
      );
    }
    this.root = join(dir, "hdfs");
    this.ports = {
      rpc: STACK_PORTS.hdfsRpc + portOffset,
      http: STACK_PORTS.hdfsHttp + portOffset,
      dataHttp: STACK_PORTS.hdfsDataHttp + portOffset,
      dataTransfer: STACK_PORTS.hdfsDataTransfer + portOffset,
      dataIpc: STACK_PORTS.hdfsDataIpc + portOffset,
    };
    this.#heapMb = heapMb;
    this.#readyTimeoutSec = readyTimeoutSec;
  }

  /** The folder of HDFS's metadata, blocks, config and logs. */
  dataFolders(): string[] {
    return [this.root];
  }

  /** Cluster id and layout version from the NameNode's `VERSION`, or undefined before a format. */
  async recordedShape(): Promise<Shape | undefined> {
    const text = await Deno.readTextFile(join(this.root, "name", "current", "VERSION"))
      .catch(() => undefined);
    if (text === undefined) return undefined;
    const get = (k: string) => text.match(new RegExp(`^${k}=(.*)$`, "m"))?.[1]?.trim() ?? "";
    return { clusterId: get("clusterID"), layoutVersion: Number(get("layoutVersion")) };
  }

  /** Refuses data of another cluster id; touches nothing. */
  async checkShape(): Promise<void> {
    const recorded = await this.recordedShape();
    if (recorded === undefined) return;
    await checkShape({
      service: this.dataName,
      folder: this.root,
      asked: { clusterId: HDFS_CLUSTER_ID },
      recorded,
      holdsData: () => Promise.resolve(true),
    });
  }

  /** `hdfs://` URL of the file system (fs.defaultFS). */
  defaultFs(): string {
    return `hdfs://localhost:${this.ports.rpc}`;
  }

  /** Base URL of the NameNode's WebHDFS REST API. */
  webhdfsUrl(): string {
    return `http://127.0.0.1:${this.ports.http}/webhdfs/v1`;
  }

  get confDir(): string {
    return join(this.root, "conf");
  }

  #proc(role: Role): { pidFile: string; log: string } {
    return { pidFile: join(this.root, role, "pid"), log: join(this.root, role, `${role}.log`) };
  }

  /** Pid of a running process, or undefined. */
  pid(role: Role): number | undefined {
    const st = readPid(this.#proc(role).pidFile, MAIN_CLASS[role]);
    return st.state === "running" ? st.pid : undefined;
  }

  /** The Hadoop configuration the processes run with. */
  configuration(): { core: Record<string, string>; hdfs: Record<string, string> } {
    const p = this.ports;
    return {
      core: {
        "fs.defaultFS": this.defaultFs(),
        "hadoop.tmp.dir": join(this.root, "tmp"),
        "hadoop.http.staticuser.user": "root",
        "hadoop.proxyuser.root.hosts": "*",
        "hadoop.proxyuser.root.groups": "*",
      },
      hdfs: {
        "dfs.replication": "1",
        "dfs.namenode.name.dir": `file://${join(this.root, "name")}`,
        "dfs.datanode.data.dir": `file://${join(this.root, "data")}`,
        "dfs.namenode.rpc-address": `localhost:${p.rpc}`,
        "dfs.namenode.rpc-bind-host": "127.0.0.1",
        "dfs.namenode.http-address": `localhost:${p.http}`,
        "dfs.namenode.http-bind-host": "127.0.0.1",
        "dfs.namenode.secondary.http-address": "127.0.0.1:0",
        "dfs.datanode.address": `127.0.0.1:${p.dataTransfer}`,
        "dfs.datanode.http.address": `127.0.0.1:${p.dataHttp}`,
        "dfs.datanode.ipc.address": `127.0.0.1:${p.dataIpc}`,
        "dfs.datanode.hostname": "localhost",
        "dfs.client.use.datanode.hostname": "true",
        "dfs.datanode.use.datanode.hostname": "true",
        "dfs.namenode.datanode.registration.ip-hostname-check": "false",
        "dfs.http.policy": "HTTP_ONLY",
        "dfs.webhdfs.enabled": "true",
        "dfs.permissions.enabled": "false",
        "dfs.namenode.safemode.extension": "0",
        "dfs.namenode.safemode.min.datanodes": "1",
        "dfs.datanode.du.reserved": "0",
        "dfs.namenode.handler.count": "10",
        "dfs.datanode.handler.count": "5",
        "dfs.heartbeat.interval": "1",
        "dfs.namenode.heartbeat.recheck-interval": "10000",
        "dfs.blocksize": String(64 * 1024 * 1024),
      },
    };
  }

  async #prepare(classpath: string): Promise<void> {
    for (const role of ["namenode", "datanode"] as const) {
      await Deno.mkdir(join(this.root, role), { recursive: true });
    }
    await Deno.mkdir(this.confDir, { recursive: true });
    const { core, hdfs } = this.configuration();
    await Deno.writeTextFile(join(this.confDir, "core-site.xml"), xml(core));
    await Deno.writeTextFile(join(this.confDir, "hdfs-site.xml"), xml(hdfs));
    await Deno.writeTextFile(join(this.confDir, "log4j.properties"), LOG4J);
    const formatted = await Deno.stat(join(this.root, "name", "current", "VERSION")).then(
      () => true,
      () => false,
    );
    if (!formatted) {
      await run("java", [
        ...this.#jvm("namenode", classpath),
        "-format",
        "-nonInteractive",
        "-force",
        "-clusterid",
        HDFS_CLUSTER_ID,
      ], { what: "formatting the HDFS NameNode", env: this.#env() });
    }
  }

  #env(): Record<string, string> {
    return { HADOOP_CONF_DIR: this.confDir, HADOOP_USER_NAME: "root" };
  }

  #jvm(role: Role, classpath: string): string[] {
    return [
      `-Xmx${this.#heapMb}m`,
      "-XX:+UseSerialGC",
      "-XX:TieredStopAtLevel=1",
      "-Djava.net.preferIPv4Stack=true",
      `-Dhadoop.log.dir=${join(this.root, role)}`,
      `-Dhadoop.home.dir=${this.root}`,
      `-Dlog4j.configuration=file:${join(this.confDir, "log4j.properties")}`,
      "--add-opens=java.base/java.lang=ALL-UNNAMED",
      "--add-opens=java.base/java.nio=ALL-UNNAMED",
      "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
      "-cp",
      `${this.confDir}:${classpath}`,
      MAIN_CLASS[role],
    ];
  }

  async #startRole(role: Role, classpath: string): Promise<void> {
    if (this.pid(role) !== undefined) return;
    const ports = role === "namenode"
      ? [this.ports.rpc, this.ports.http]
      : [this.ports.dataHttp, this.ports.dataTransfer, this.ports.dataIpc];
    await requireFreePorts(`the HDFS ${role}`, ports);
    const { pidFile, log } = this.#proc(role);
    await startDetached({
      cmd: "java",
      args: this.#jvm(role, classpath),
      log,
      pidFile,
      cwd: join(this.root, role),
      env: this.#env(),
    });
  }

  /** Formats the NameNode once, starts both processes and waits until HDFS is writable. */
  async start(): Promise<void> {
    await this.checkShape();
    const classpath = await bundleClasspath("hadoop");
    await this.#prepare(classpath);
    await this.#startRole("namenode", classpath);
    await this.#startRole("datanode", classpath);
    await this.waitReady();
  }

  /** Waits until the NameNode answers, a DataNode is live and safe mode is off. */
  async waitReady(timeoutSec = this.#readyTimeoutSec): Promise<HdfsReport> {
    const deadline = Date.now() + timeoutSec * 1000;
    let last = "not answering";
    while (Date.now() < deadline) {
      for (const role of ["namenode", "datanode"] as const) {
        // The pid alone, no marker: right after the fork the child still shows our command line.
        if (readPid(this.#proc(role).pidFile).state !== "running") {
          const { log } = this.#proc(role);
          throw new StackError(
            `HDFS ${role} exited during start-up. Last lines of ${log}:\n${await tailHadoop(log)}`,
          );
        }
      }
      try {
        const report = await this.report();
        if (report.liveDataNodes > 0 && !report.safeMode && report.remainingBytes > 0) {
          return report;
        }
        last = `${report.liveDataNodes} live DataNodes, safe mode ${
          report.safeMode ? "on" : "off"
        }`;
      } catch (err) {
        last = (err as Error).message;
      }
      await sleep(500);
    }
    const { log } = this.#proc("namenode");
    throw new StackError(
      `HDFS not ready after ${timeoutSec}s (${last}). Last lines of ${log}:\n${await tailHadoop(
        log,
      )}`,
    );
  }

  /** Live DataNodes, capacity and safe mode, from the NameNode's JMX servlet. */
  async report(): Promise<HdfsReport> {
    const jmx = async (query: string) => {
      const res = await fetch(`http://127.0.0.1:${this.ports.http}/jmx?qry=${query}`, {
        signal: AbortSignal.timeout(3_000),
      });
      if (!res.ok) throw new Error(`NameNode /jmx answered ${res.status}`);
      const body = await res.json() as { beans: Record<string, unknown>[] };
      if (!body.beans[0]) throw new Error(`NameNode /jmx has no bean ${query}`);
      return body.beans[0];
    };
    const state = await jmx("Hadoop:service=NameNode,name=FSNamesystemState");
    const info = await jmx("Hadoop:service=NameNode,name=NameNodeInfo");
    return {
      liveDataNodes: Number(state.NumLiveDataNodes),
      deadDataNodes: Number(state.NumDeadDataNodes),
      capacityBytes: Number(state.CapacityTotal),
      usedBytes: Number(state.CapacityUsed),
      remainingBytes: Number(state.CapacityRemaining),
      safeMode: String(info.Safemode ?? "") !== "",
    };
  }

  async stop(): Promise<void> {
    await stopProcess(this.#proc("datanode").pidFile, {
      marker: MAIN_CLASS.datanode,
      graceMs: 15_000,
    });
    await stopProcess(this.#proc("namenode").pidFile, {
      marker: MAIN_CLASS.namenode,
      graceMs: 15_000,
    });
  }

  async status(): Promise<ProcessStatus[]> {
    const gb = (n: number) => `${(n / 1e9).toFixed(1)} GB`;
    let health: string | undefined;
    if (this.pid("namenode") !== undefined) {
      health = await this.report().then(
        (r) =>
          `${r.liveDataNodes} live DataNode(s), capacity ${gb(r.capacityBytes)}, used ${
            gb(r.usedBytes)
          }, free ${gb(r.remainingBytes)}${r.safeMode ? ", SAFE MODE" : ""}`,
        (e) => `not answering: ${(e as Error).message}`,
      );
    }
    const row = (role: Role, ports: Record<string, number>, h?: string): ProcessStatus => {
      const { pidFile, log } = this.#proc(role);
      const st = readPid(pidFile, MAIN_CLASS[role]);
      return {
        name: `hdfs-${role}`,
        pid: st.state === "absent" ? undefined : st.pid,
        state: st.state === "absent" ? "stopped" : st.state,
        ports,
        health: st.state === "running" ? h : undefined,
        log,
      };
    };
    const dn = this.pid("datanode") !== undefined
      ? ((await portOpen(this.ports.dataHttp)) ? "serving" : "starting")
      : undefined;
    return [
      row("namenode", { rpc: this.ports.rpc, http: this.ports.http }, health),
      row("datanode", {
        http: this.ports.dataHttp,
        data: this.ports.dataTransfer,
        ipc: this.ports.dataIpc,
      }, dn),
    ];
  }
}
