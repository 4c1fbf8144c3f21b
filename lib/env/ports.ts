/**
 * The local stack's default ports, in one table: what each service listens on before the stack's
 * port offset (`STACK_PORT_OFFSET`, the test stack's 18000, the bench stack's 21000) is added.
 * lib/stack builds the stack from it; lib/env's help texts and unreachable-service messages and
 * the clients' fallback addresses read it, so a port is declared once.
 *
 * A Kafka cluster is a port base: node `i` of a cluster with base `B` listens on PLAINTEXT (or
 * the secure cluster's INTERNAL) `B+100i`, CONTROLLER `B+100i+1` and EXTERNAL (the clients')
 * `B+100i+2` ({@linkcode kafkaNodePorts}).
 *
 * @example
 * ```ts
 * import { KAFKA_CLIENT_PORTS, STACK_PORTS } from "./ports.ts";
 * console.log(STACK_PORTS.connect, KAFKA_CLIENT_PORTS.main); // 8083 9094
 * ```
 * @module
 */

/** Default ports of the local stack, before the port offset. */
export const STACK_PORTS = {
  /** The main cluster's port base (node 0's PLAINTEXT; clients at `+2`: 9094). */
  kafka: 9092,
  /** The secure cluster's port base (practice 6, the final project's cluster A; clients 11094). */
  secureKafka: 11092,
  /** Cluster B's port base (the final project's analytics mirror; clients 13094). */
  mirrorKafka: 13092,
  /** JMX exporter of the main cluster's node 0 (node `i`: `+i`). */
  kafkaJmx: 7071,
  /** JMX exporter of cluster B's node 0 (node `i`: `+i`). */
  mirrorJmx: 7091,
  /** PostgreSQL. */
  postgres: 5432,
  /** The schema registry (Apicurio, Confluent-compatible API). */
  registry: 8081,
  /** Kafka Connect's REST API. */
  connect: 8083,
  /** Kafka Connect's JMX exporter. */
  connectJmx: 7081,
  /** MirrorMaker 2's internal (KIP-710) REST server. */
  mirrorMakerRest: 8084,
  /** MirrorMaker 2's JMX exporter. */
  mirrorMakerJmx: 7082,
  /** Prometheus. */
  prometheus: 9090,
  /** Alertmanager. */
  alertmanager: 9099,
  /** The consumer-lag exporter's `/metrics`. */
  lagExporter: 9308,
  /** MirrorMaker 2's watchdog's `/metrics` (with cluster B and MirrorMaker). */
  mirrorWatchdog: 9309,
  /** HDFS NameNode RPC (`hdfs://localhost:9000`). */
  hdfsRpc: 9000,
  /** HDFS NameNode HTTP and WebHDFS. */
  hdfsHttp: 9870,
  /** HDFS DataNode HTTP. */
  hdfsDataHttp: 9864,
  /** HDFS DataNode data transfer. */
  hdfsDataTransfer: 9866,
  /** HDFS DataNode IPC. */
  hdfsDataIpc: 9867,
  /**
   * The standalone Spark master (`spark://127.0.0.1:7177`). Not Spark's customary 7077: that
   * is the JMX exporter of the main cluster's node 6 (`kafkaJmx + 6`).
   */
  sparkMaster: 7177,
  /** The Spark master's web UI and its `/json/` state (Spark's own default is 8080). */
  sparkMasterUi: 8088,
  /** The Spark worker's RPC port (Spark's own default is a random one). */
  sparkWorker: 7178,
  /** The Spark worker's web UI (8089+offset is a test's registry in practice7_test). */
  sparkWorkerUi: 8087,
} as const;

/** The listener ports of one Kafka node. */
export interface NodePorts {
  /** PLAINTEXT (inter-broker) listener; the secure cluster's INTERNAL one. */
  plaintext: number;
  /** CONTROLLER listener (KRaft quorum). */
  controller: number;
  /** EXTERNAL listener: the one clients bootstrap from. */
  external: number;
}

/** Ports of node `id` of a cluster whose port base is `portBase`. */
export function kafkaNodePorts(portBase: number, id: number): NodePorts {
  return {
    plaintext: portBase + 100 * id,
    controller: portBase + 100 * id + 1,
    external: portBase + 100 * id + 2,
  };
}

/** The clients' port of node 0 of each cluster, before the port offset: 9094, 11094, 13094. */
export const KAFKA_CLIENT_PORTS = {
  /** The main (plaintext) cluster. */
  main: kafkaNodePorts(STACK_PORTS.kafka, 0).external,
  /** The secure cluster (SASL_SSL). */
  secure: kafkaNodePorts(STACK_PORTS.secureKafka, 0).external,
  /** Cluster B, the mirror. */
  mirror: kafkaNodePorts(STACK_PORTS.mirrorKafka, 0).external,
} as const;
