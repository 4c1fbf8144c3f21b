/**
 * Cluster B of the final project: the analytics mirror, a second, independent KRaft cluster
 * (named `mirror`, plaintext, no ACLs: it lives beside the analytics, not beside the shops)
 * that MirrorMaker 2 fills from the secure main cluster A. One node by default, up to nine.
 *
 * Ports (plus the stack's port offset): node `i` listens on PLAINTEXT `13092+100i`, CONTROLLER
 * `13093+100i` and EXTERNAL `13094+100i` (clients: `localhost:13094`), its JMX exporter on
 * `7091+i`. Data lives in `<dir>/kafka-mirror/`.
 *
 * @example
 * ```ts
 * import { mirrorCluster } from "./mirror.ts";
 * const b = mirrorCluster({ dir: ".stack", brokers: 1 });
 * await b.start();
 * console.log(b.bootstrap()); // localhost:13094
 * ```
 * @module
 */
import { KafkaCluster } from "./kafka.ts";
import { STACK_PORTS } from "../../env/mod.ts";

/** PLAINTEXT port of node 0 of cluster B (before the stack's port offset). */
export const MIRROR_PORT_BASE: number = STACK_PORTS.mirrorKafka;

/** JMX exporter port of node 0 of cluster B (node `i`: `+i`; before the port offset). */
export const MIRROR_JMX_PORT_BASE: number = STACK_PORTS.mirrorJmx;

/** Options of {@linkcode mirrorCluster}. */
export interface MirrorClusterOptions {
  /** Stack data folder; the cluster lives in `<dir>/kafka-mirror/`. */
  dir: string;
  /** Nodes, each broker + controller. @default 1 */
  brokers?: number;
  /** Added to every port. @default 0 */
  portOffset?: number;
  /** JVM heap of each node in MB. @default 384 */
  heapMb?: number;
  /** Extra JVM arguments of node `id` (the JMX exporter). @default none */
  jvmArgs?: (id: number) => string[];
}

/**
 * Cluster B as a {@linkcode KafkaCluster}. Topics are created by MirrorMaker 2 (same
 * partition count as on A), never by a client that happens to read first: auto-creation is off.
 */
export function mirrorCluster(options: MirrorClusterOptions): KafkaCluster {
  const { dir, brokers = 1, portOffset = 0, heapMb = 384, jvmArgs } = options;
  if (!Number.isInteger(brokers) || brokers < 1 || brokers > 9) {
    throw new RangeError(
      `Cannot create cluster B as 'brokers' must be 1 to 9: current value is ${brokers}`,
    );
  }
  return new KafkaCluster({
    dir,
    name: "mirror",
    brokers,
    portBase: MIRROR_PORT_BASE + portOffset,
    heapMb,
    jvmArgs,
    properties: { "auto.create.topics.enable": "false" },
  });
}
