/**
 * Broker faults under load, as Kafka's own system tests inject them, on a local
 * {@linkcode KafkaCluster}: the leader of a partition killed with SIGKILL, a follower killed,
 * the active controller (as Kafka's `kafka-metadata-quorum` names it) killed, and a rolling
 * restart of every node (SIGTERM, start, back in every ISR). A {@linkcode BrokerDrill} keeps
 * records going out through the project's producer (lib/kafka's PartitionedProducer:
 * idempotent, acks=all, `min.insync.replicas=2`) — or any other {@linkcode DrillProducer}, such
 * as a candidate client's (`deno task soak --client`) — the whole time; after each fault it waits
 * until the producer acknowledges again; at the end it reads the topic back with Kafka's
 * console consumer (a client other than the producer's) so the caller can check that every
 * acknowledged record is there once, per key in the order sent.
 *
 * Used by tests/integration/broker_roll_test.ts (one fixed schedule) and `deno task soak`
 * (random schedules from a seed, for as long as asked).
 *
 * @example
 * ```ts
 * import { BrokerDrill } from "./faults.ts";
 * import { KafkaCluster } from "../services/kafka.ts";
 * const drill = new BrokerDrill(new KafkaCluster({ brokers: 3 }));
 * await drill.start();
 * console.log(await drill.inject("leader-kill"));
 * const result = await drill.finish();
 * console.log(checkDrill(result));
 * ```
 * @module
 */
import type { Admin, Kafka } from "kafkajs";
import { createKafka, ensureTopic, PartitionedProducer } from "../../kafka/mod.ts";
import { pollUntil, sleep } from "../../env/mod.ts";
import { type ConsoleRecord, consoleRecords } from "./console_reader.ts";
import { type KafkaCluster, nodePorts } from "../services/kafka.ts";
import { runKafkaTool } from "./kafka_tools.ts";
import { cmdline, isAlive, tailFile } from "../process/process.ts";

/** The faults a drill can inject. */
export const BROKER_FAULTS = ["leader-kill", "follower-kill", "controller-kill", "roll"] as const;
/** One of {@linkcode BROKER_FAULTS}. */
export type BrokerFault = typeof BROKER_FAULTS[number];

/**
 * The producer a drill keeps busy. The drill sends 30 records at a time and counts a record
 * acknowledged only when its outcome is `undefined`.
 */
export interface DrillProducer {
  connect(): Promise<void>;
  /** Sends the records; one outcome per record: `undefined` when acknowledged, else the error. */
  sendAll(topic: string, records: { key: string; value: string }[]): Promise<(Error | undefined)[]>;
  disconnect(): Promise<void>;
}

/**
 * The project's producer as a {@linkcode DrillProducer}: lib/kafka's PartitionedProducer
 * (kafkajs, idempotent, acks=all), one `send()` per record.
 */
export function projectDrillProducer(kafka: Kafka): DrillProducer {
  const producer = new PartitionedProducer(kafka, { lingerMs: 2, ackTimeoutMs: 10_000 });
  return {
    connect: () => producer.connect(),
    sendAll: async (topic, records) =>
      (await Promise.allSettled(records.map((r) => producer.send(topic, r))))
        .map((r) => r.status === "fulfilled" ? undefined : r.reason as Error),
    disconnect: () => producer.disconnect(),
  };
}

/** Options of {@linkcode BrokerDrill}. */
export interface BrokerDrillOptions {
  /** Topic the load goes to (created with 3 partitions, RF 3, min ISR 2). @default "drill-roll" */
  topic?: string;
  /** Keys the load cycles through (each key's order is checked). @default 6 */
  keys?: number;
  /** Records to wait for after each fault, as proof the producer goes on. @default 300 */
  progressRecords?: number;
  /** Longest wait for any one step (a new leader, ISR, progress), in ms. @default 180000 */
  stepTimeoutMs?: number;
  /** Where progress lines go. @default nowhere */
  log?: (line: string) => void;
  /**
   * The producer under test, made for the cluster's bootstrap servers.
   * @default the project's ({@linkcode projectDrillProducer})
   */
  producer?: (bootstrap: string) => DrillProducer;
}

/** What a drill saw: the records acknowledged and failed, and the topic as Kafka reads it. */
export interface DrillResult {
  /** Values (`phase:seq`) the producer acknowledged. */
  acked: Set<string>;
  /** Sends the producer reported failed, with the reason. */
  failed: string[];
  /** Every record of the topic, read by Kafka's console consumer, by partition and offset. */
  records: ConsoleRecord[];
  /** One line per fault injected, saying what happened. */
  faults: string[];
}

/** Lost, duplicated and out-of-order records of a {@linkcode DrillResult}. */
export interface DrillVerdict {
  lost: string[];
  duplicated: string[];
  /** Keys whose sequence numbers do not rise with the offsets. */
  reordered: string[];
  /** Acknowledged records per phase (warm-up, then each fault). */
  byPhase: Record<string, number>;
}

/** Checks a drill's result: nothing acknowledged lost, nothing twice, each key in order. */
export function checkDrill(result: DrillResult): DrillVerdict {
  const counts = new Map<string, number>();
  for (const r of result.records) counts.set(r.value!, (counts.get(r.value!) ?? 0) + 1);
  const byKey = new Map<string, number[]>();
  for (const r of result.records) {
    const list = byKey.get(r.key!) ?? [];
    list.push(Number(r.value!.split(":").at(-1)));
    byKey.set(r.key!, list);
  }
  const byPhase: Record<string, number> = {};
  for (const v of result.acked) {
    const phase = v.slice(0, v.lastIndexOf(":"));
    byPhase[phase] = (byPhase[phase] ?? 0) + 1;
  }
  return {
    lost: [...result.acked].filter((v) => !counts.has(v)),
    duplicated: [...counts].filter(([, n]) => n > 1).map(([v]) => v),
    reordered: [...byKey].filter(([, s]) => s.some((n, i) => i > 0 && n < s[i - 1]))
      .map(([k]) => k),
    byPhase,
  };
}

/** A seeded schedule of `n` faults (mulberry32), the same for the same seed. */
export function randomSchedule(seed: number, n: number): BrokerFault[] {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: n }, () => BROKER_FAULTS[Math.floor(next() * BROKER_FAULTS.length)]);
}

/** Production under faults on a local 3-node cluster; see the module doc. */
export class BrokerDrill {
  readonly #cluster: KafkaCluster;
  readonly #topic: string;
  readonly #keys: number;
  readonly #progress: number;
  readonly #timeoutMs: number;
  readonly #log: (line: string) => void;
  readonly #kafka: Kafka;
  readonly #admin: Admin;
  readonly #producer: DrillProducer;
  readonly #acked = new Set<string>();
  readonly #failed: string[] = [];
  readonly #faults: string[] = [];
  #phase = "warm-up";
  #seq = 0;
  #stop = false;
  #load?: Promise<void>;

  constructor(cluster: KafkaCluster, options: BrokerDrillOptions = {}) {
    const {
      topic = "drill-roll",
      keys = 6,
      progressRecords = 300,
      stepTimeoutMs = 180_000,
      log = () => {},
      producer,
    } = options;
    if (cluster.nodeIds.length < 3) {
      throw new RangeError(
        `Cannot drill cluster '${cluster.name}' as it must have 3 nodes or more: it has ${cluster.nodeIds.length}`,
      );
    }
    this.#cluster = cluster;
    this.#topic = topic;
    this.#keys = keys;
    this.#progress = progressRecords;
    this.#timeoutMs = stepTimeoutMs;
    this.#log = log;
    this.#kafka = createKafka({
      ...cluster.clientConfig(),
      clientId: "drill",
      logLevel: "NOTHING",
    });
    this.#admin = this.#kafka.admin();
    this.#producer = producer ? producer(cluster.bootstrap()) : projectDrillProducer(this.#kafka);
  }

  /** Records acknowledged so far. */
  get acked(): number {
    return this.#acked.size;
  }

  /** Creates the topic, starts the load and waits for the first acknowledgements. */
  async start(): Promise<void> {
    await this.#admin.connect();
    await ensureTopic(this.#admin, {
      topic: this.#topic,
      partitions: 3,
      replicationFactor: 3,
      config: { "min.insync.replicas": "2" },
    });
    await this.#producer.connect();
    this.#load = this.#produce();
    await this.#waitProgress("in the warm-up");
  }

  /** Injects one fault, waits until the producer acknowledges again and every ISR is full. */
  async inject(fault: BrokerFault): Promise<string> {
    const n = this.#faults.length + 1;
    this.#phase = `${n}-${fault}`;
    let line: string;
    if (fault === "leader-kill" || fault === "follower-kill") {
      const partition = n % 3;
      const meta = await this.#partition(partition);
      const victim = fault === "leader-kill"
        ? meta.leader
        : meta.replicas.find((r) => r !== meta.leader)!;
      await this.#cluster.stopNode(victim, { hard: true });
      if (fault === "leader-kill") {
        await pollUntil(
          `a new leader of ${this.#topic}-${partition}`,
          async () => (await this.#partition(partition)).leader !== victim,
          { timeoutMs: this.#timeoutMs },
        );
      }
      await this.#waitProgress(`with node ${victim} dead`);
      await this.#cluster.startNode(victim);
      line = `${fault}: node ${victim} (${fault === "leader-kill" ? "leader" : "follower"} of ` +
        `partition ${partition}) SIGKILLed and started again`;
    } else if (fault === "controller-kill") {
      const controller = await this.activeController();
      const pidBefore = this.#cluster.pid(controller);
      if (pidBefore === undefined) {
        throw new Error(
          `node ${controller} is the active controller, but its pid file ` +
            `(${this.#cluster.node(controller).pidFile}) names no running process of it`,
        );
      }
      await this.#cluster.stopNode(controller, { hard: true });
      if (isAlive(pidBefore)) {
        throw new Error(
          `node ${controller} (pid ${pidBefore}) still runs after SIGKILL: ` +
            cmdline(pidBefore).slice(0, 200),
        );
      }
      // Wrapped: pollUntil waits for a truthy value, and node 0 is a new controller too.
      const { next } = await pollUntil(
        "a new active controller",
        async () => {
          const id = await this.activeController();
          return id !== controller ? { next: id } : undefined;
        },
        { timeoutMs: this.#timeoutMs },
      ).catch(async (err) => {
        // Say what the quorum's members logged, so that a timeout shows whether an election
        // ran at all.
        throw new Error(`${(err as Error).message}\n${await this.#quorumLog(controller)}`);
      });
      await this.#waitProgress(`with controller ${controller} dead`);
      await this.#cluster.startNode(controller);
      line = `controller-kill: active controller ${controller} SIGKILLed, ${next} took over`;
    } else {
      for (const id of this.#cluster.nodeIds) {
        await this.#cluster.stopNode(id);
        await this.#waitProgress(`with node ${id} stopped for the roll`, this.#progress / 3);
        await this.#cluster.startNode(id);
        await this.#waitFullIsr();
      }
      line = `roll: ${this.#cluster.nodeIds.length} nodes stopped and started one by one`;
    }
    await this.#waitFullIsr();
    await this.#waitProgress("after the fault");
    this.#faults.push(line);
    this.#log(`${line} (${this.#acked.size} acknowledged, ${this.#failed.length} failed)`);
    return line;
  }

  /** Stops the load, starts any node still down, and reads the topic back. */
  async finish(): Promise<DrillResult> {
    this.#stop = true;
    await this.#load;
    await this.#producer.disconnect().catch(() => {});
    for (const id of this.#cluster.nodeIds) {
      if (!this.#cluster.alive(id)) await this.#cluster.startNode(id);
    }
    try {
      const records = await consoleRecords(this.#topic, {
        kafka: { ...this.#cluster.clientConfig(), clientId: "drill-reader" },
      });
      return {
        acked: this.#acked,
        failed: this.#failed,
        records,
        faults: this.#faults,
      };
    } finally {
      await this.#admin.disconnect().catch(() => {});
    }
  }

  /**
   * The active controller, as Kafka's metadata-quorum tool reports it, asking the live nodes'
   * controllers directly (`--bootstrap-controller`: through a broker, the request may wait on
   * a dead controller until the broker learns of the new one).
   */
  async activeController(): Promise<number> {
    const live = this.#cluster.nodeIds.filter((id) => this.#cluster.alive(id));
    const out = await runKafkaTool("org.apache.kafka.tools.MetadataQuorumCommand", [
      "--bootstrap-controller",
      live.map((id) => `127.0.0.1:${nodePorts(this.#cluster.portBase, id).controller}`).join(","),
      "describe",
      "--status",
    ], { what: "kafka-metadata-quorum describe --status" });
    const id = Number(out.match(/LeaderId:\s+(\d+)/)?.[1]);
    if (!Number.isInteger(id)) throw new Error(`kafka-metadata-quorum named no leader:\n${out}`);
    return id;
  }

  /** The last Raft state transitions each node logged, for a failed controller drill. */
  async #quorumLog(killed: number): Promise<string> {
    const parts: string[] = [];
    for (const id of this.#cluster.nodeIds) {
      const tail = (await tailFile(this.#cluster.node(id).log, 4000)).split("\n")
        .filter((l) =>
          /RaftManager|QuorumState|transition to|[Ee]lection|[Vv]ote/.test(l) &&
          !l.includes("NetworkClient") // "could not connect to the killed node", every second
        )
        .slice(-8);
      const state = id === killed ? "killed" : this.#cluster.alive(id) ? "running" : "not running";
      parts.push(`node ${id} (${state}):\n${tail.join("\n") || "(no Raft lines)"}`);
    }
    return parts.join("\n");
  }

  /** Production the whole time: batches of 30 over the keys, values `phase:seq`. */
  async #produce(): Promise<void> {
    while (!this.#stop) {
      const messages = Array.from({ length: 30 }, () => {
        const n = this.#seq++;
        return { key: `k${n % this.#keys}`, value: `${this.#phase}:${n}` };
      });
      const outcomes = await this.#producer.sendAll(this.#topic, messages)
        .catch((err: Error) => messages.map(() => err));
      outcomes.forEach((err, i) => {
        if (err === undefined) this.#acked.add(messages[i].value);
        else this.#failed.push(`${messages[i].value}: ${err.message}`);
      });
      await sleep(20);
    }
  }

  async #waitProgress(what: string, n = this.#progress): Promise<void> {
    const from = this.#acked.size;
    await pollUntil(
      `${Math.ceil(n)} more acknowledged records ${what}`,
      () => this.#acked.size >= from + n,
      { timeoutMs: this.#timeoutMs },
    );
  }

  async #partition(partition: number) {
    const [meta] = (await this.#admin.fetchTopicMetadata({ topics: [this.#topic] })).topics;
    const p = meta.partitions.find((x) => x.partitionId === partition);
    if (!p) throw new Error(`${this.#topic} has no partition ${partition}`);
    return p;
  }

  /** Waits until every partition's ISR holds all its replicas again. */
  async #waitFullIsr(): Promise<void> {
    await pollUntil(
      `every ISR of ${this.#topic} full`,
      async () => {
        const [meta] = (await this.#admin.fetchTopicMetadata({ topics: [this.#topic] })).topics;
        return meta.partitions.every((p) => p.isr.length === p.replicas.length);
      },
      { timeoutMs: this.#timeoutMs, intervalMs: 500 },
    );
  }
}
