/**
 * The clusters the console shows, and what it asks them. {@linkcode discoverClusters} finds the
 * stack's clusters in its `endpoints.json`: `main` (plaintext, or `KAFKA_*` env), `secure`
 * (SASL_SSL as `CONSOLE_SECURE_USER`, default `admin`, with the stack's generated password and
 * CA) and `mirror` (cluster B) when it runs; `CONSOLE_CLUSTERS` adds plaintext ones
 * (`name=host:port,host:port;…`). Each cluster's Connect clusters and schema registry come from
 * lib/console/services.ts.
 *
 * A {@linkcode ClusterClient} keeps one admin connection per cluster and drops it on any failure,
 * so a cluster that goes down is reported ({@linkcode ClusterDownError}) and picked up again when
 * it is back. Every call has a time limit: a page never hangs on a dead broker.
 *
 * @example
 * ```ts
 * import { ClusterClient, discoverClusters } from "./clusters.ts";
 * const [main] = discoverClusters();
 * const client = new ClusterClient(main);
 * const { brokers } = await client.brokers();
 * await client.close();
 * ```
 * @module
 */
import { Buffer } from "node:buffer";
import { type Admin, AssignerProtocol, type Batch, type IHeaders, type Kafka } from "kafkajs";
import { ConfigError, localEndpoints } from "../env/mod.ts";
import {
  createKafka,
  errorText,
  type KafkaClientOptions,
  kafkaConfigFromEnv,
  localSecureCluster,
  secureKafkaConfigFromEnv,
} from "../kafka/mod.ts";
import type { RegistryConfig } from "../registry/mod.ts";
import type { BrowseInput, CreateTopicInput, ProduceInput } from "./forms.ts";
import { attachServices, type ConnectTarget } from "./services.ts";

/** A cluster the console shows. */
export interface ConsoleCluster {
  /** Short name used in URLs: `main`, `secure`, `mirror`, … */
  name: string;
  /** What the page says about it, e.g. "SASL_SSL as admin". */
  description: string;
  options: KafkaClientOptions;
  /** Its Kafka Connect clusters (lib/console/services.ts). */
  connect?: ConnectTarget[];
  /** Its schema registry (lib/console/services.ts). */
  registry?: RegistryConfig;
}

const NO_ENV = { get: (_: string) => undefined };

/** The stack's clusters (see the module doc), `main` first. */
export function discoverClusters(env: { get(name: string): string | undefined } = Deno.env) {
  const ep = localEndpoints();
  const clusters: ConsoleCluster[] = [];
  const main = kafkaConfigFromEnv({}, env);
  clusters.push({
    name: "main",
    description: `${main.securityProtocol ?? "PLAINTEXT"}${
      main.username ? ` as ${main.username}` : ""
    }`,
    options: main,
  });
  if (localSecureCluster()) {
    const user = env.get("CONSOLE_SECURE_USER") || "admin";
    clusters.push({
      name: "secure",
      description: `cluster A, SASL_SSL as ${user}`,
      options: secureKafkaConfigFromEnv(user, {}, {
        get: (n: string) => n === "KAFKA_SASL_USERNAME" ? user : NO_ENV.get(n),
      }),
    });
  }
  if (ep.kafka.mirror) {
    clusters.push({
      name: "mirror",
      description: "cluster B (mirror), PLAINTEXT",
      options: kafkaConfigFromEnv({}, {
        get: (n: string) => n === "KAFKA_BOOTSTRAP_SERVERS" ? ep.kafka.mirror : undefined,
      }),
    });
  }
  for (const entry of (env.get("CONSOLE_CLUSTERS") ?? "").split(";").filter((s) => s.trim())) {
    const [name, brokers] = entry.split("=").map((s) => s.trim());
    if (!/^[a-z][a-z0-9-]{0,30}$/.test(name ?? "") || !brokers) {
      throw new ConfigError(
        `Cannot use CONSOLE_CLUSTERS entry '${entry}' as it must be name=host:port[,host:port]`,
      );
    }
    if (clusters.some((c) => c.name === name)) {
      throw new ConfigError(`CONSOLE_CLUSTERS names cluster '${name}' twice`);
    }
    clusters.push({
      name,
      description: "PLAINTEXT (CONSOLE_CLUSTERS)",
      options: kafkaConfigFromEnv({}, {
        get: (n: string) => n === "KAFKA_BOOTSTRAP_SERVERS" ? brokers : undefined,
      }),
    });
  }
  attachServices(clusters, env);
  return clusters;
}

/** The cluster did not answer (down, unreachable, or too slow). */
export class ClusterDownError extends Error {
  override name = "ClusterDownError";
}

/** The request names something the cluster does not have, or a value it refuses. */
export class ConsoleInputError extends Error {
  override name = "ConsoleInputError";
  constructor(readonly status: 400 | 404 | 409, readonly field: string, message: string) {
    super(message);
  }
}

/** A broker as the brokers table shows it. */
export interface BrokerRow {
  id: number;
  host: string;
  port: number;
  controller: boolean;
  /** False for a broker that replicas name but the cluster does not list (down). */
  up: boolean;
  leaderOf: number;
  replicas: number;
  /** Partitions with a replica here that is out of the ISR. */
  outOfSync: number;
}

/** One partition of a topic. */
export interface PartitionRow {
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
  offline: number[];
  low: string;
  high: string;
  messages: number;
}

/** A topic as the topics table shows it. */
export interface TopicRow {
  name: string;
  partitions: number;
  replicationFactor: number;
  underReplicated: number;
  messages: number;
}

/** A consumer group with its lag per partition. */
export interface GroupRow {
  groupId: string;
  state: string;
  protocol: string;
  members: { id: string; clientId: string; host: string; assigned: string[] }[];
  lag: { topic: string; partition: number; committed: string; high: string; lag: number }[];
  totalLag: number;
}

/** A record read from a topic. */
export interface BrowsedMessage {
  partition: number;
  offset: string;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(
        () => reject(new ClusterDownError(`${what} got no answer within ${ms / 1000} s`)),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

async function pool<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  }));
  return out;
}

function headerText(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    const one = Array.isArray(v) ? v[v.length - 1] : v;
    out[k] = one === undefined ? "" : Buffer.isBuffer(one) ? one.toString("utf8") : String(one);
  }
  return out;
}

const DOWN =
  /ECONNREFUSED|not answering|Connection error|connect|timeout|timed out|not reachable|unreachable|closed|ENOTFOUND|There is no leader/i;

/** Offsets `from` (inclusive) to `to` (exclusive) of one partition. */
interface OffsetRange {
  partition: number;
  from: bigint;
  to: bigint;
}

/**
 * Adds the messages of `batch` inside `r` to `got`; true when the batch reaches the range's end
 * (control records of transactions may end a range: the batch's last offset counts).
 */
function takeRange(batch: Batch, r: OffsetRange, got: BrowsedMessage[]): boolean {
  for (const m of batch.messages) {
    const off = BigInt(m.offset);
    if (off < r.from) continue;
    if (off >= r.to) break;
    got.push({
      partition: batch.partition,
      offset: m.offset,
      timestamp: Number(m.timestamp),
      key: m.key,
      value: m.value,
      headers: headerText(m.headers),
    });
  }
  return BigInt(batch.lastOffset()) >= r.to - 1n;
}

/** The console's connection to one cluster (see the module doc). */
export class ClusterClient {
  readonly kafka: Kafka;
  #admin?: Promise<Admin>;
  readonly timeoutMs: number;

  constructor(readonly cluster: ConsoleCluster, options: { timeoutMs?: number } = {}) {
    this.timeoutMs = options.timeoutMs ?? 8_000;
    this.kafka = createKafka({
      ...cluster.options,
      clientId: "console",
      logLevel: "NOTHING",
      retries: 2,
      connectionTimeout: 3_000,
    });
  }

  async #withAdmin<T>(
    what: string,
    fn: (admin: Admin) => Promise<T>,
    timeoutMs = this.timeoutMs,
  ): Promise<T> {
    try {
      this.#admin ??= (async () => {
        const admin = this.kafka.admin({ retry: { retries: 2 } });
        await admin.connect();
        return admin;
      })();
      const admin = await withTimeout(this.#admin, this.timeoutMs, `connecting to ${this.name}`);
      return await withTimeout(fn(admin), timeoutMs, what);
    } catch (err) {
      if (err instanceof ConsoleInputError) throw err;
      const text = errorText(err);
      if (err instanceof ClusterDownError || DOWN.test(text) || !(err instanceof Error)) {
        const old = this.#admin;
        this.#admin = undefined;
        old?.then((a) => a.disconnect()).catch(() => {});
        throw err instanceof ClusterDownError ? err : new ClusterDownError(text);
      }
      throw err;
    }
  }

  /**
   * Runs `fn` with the cluster's admin connection, time-limited; a cluster that does not answer
   * becomes a {@linkcode ClusterDownError} (and the connection is made again next time).
   * `timeoutMs` (default: the client's) limits `fn` for slower work.
   */
  withAdmin<T>(
    what: string,
    fn: (admin: Admin) => Promise<T>,
    timeoutMs = this.timeoutMs,
  ): Promise<T> {
    return this.#withAdmin(what, fn, timeoutMs);
  }

  /** The cluster's name. */
  get name(): string {
    return this.cluster.name;
  }

  /** Brokers with their leaders, replicas and out-of-sync replicas; the controller. */
  brokers(): Promise<{ clusterId: string; brokers: BrokerRow[] }> {
    return this.#withAdmin("describing the cluster", async (admin) => {
      const cluster = await admin.describeCluster();
      const md = await admin.fetchTopicMetadata();
      const rows = new Map<number, BrokerRow>();
      for (const b of cluster.brokers) {
        rows.set(b.nodeId, {
          id: b.nodeId,
          host: b.host,
          port: b.port,
          controller: b.nodeId === cluster.controller,
          up: true,
          leaderOf: 0,
          replicas: 0,
          outOfSync: 0,
        });
      }
      const row = (id: number) => {
        let r = rows.get(id);
        if (!r) {
          r = {
            id,
            host: "?",
            port: 0,
            controller: false,
            up: false,
            leaderOf: 0,
            replicas: 0,
            outOfSync: 0,
          };
          rows.set(id, r);
        }
        return r;
      };
      for (const t of md.topics) {
        for (const p of t.partitions) {
          if (p.leader >= 0) row(p.leader).leaderOf++;
          for (const r of p.replicas) {
            row(r).replicas++;
            if (!p.isr.includes(r)) row(r).outOfSync++;
          }
        }
      }
      return {
        clusterId: cluster.clusterId,
        brokers: [...rows.values()].sort((a, b) => a.id - b.id),
      };
    });
  }

  /** Topics (internal ones when `internal`), filtered by a substring, with message counts. */
  topics(filter = "", internal = false): Promise<TopicRow[]> {
    return this.#withAdmin("listing topics", async (admin) => {
      const md = await admin.fetchTopicMetadata();
      const topics = md.topics
        .filter((t) => (internal || !t.name.startsWith("__")) && t.name.includes(filter))
        .sort((a, b) => a.name.localeCompare(b.name))
        .slice(0, 300);
      const counts = await pool(topics, 8, async (t) => {
        try {
          const offsets = await admin.fetchTopicOffsets(t.name);
          return offsets.reduce((n, o) => n + Number(BigInt(o.high) - BigInt(o.low)), 0);
        } catch {
          return -1;
        }
      });
      return topics.map((t, i) => ({
        name: t.name,
        partitions: t.partitions.length,
        replicationFactor: t.partitions[0]?.replicas.length ?? 0,
        underReplicated: t.partitions.filter((p) => p.isr.length < p.replicas.length).length,
        messages: counts[i],
      }));
    });
  }

  /** Partitions of a topic with leaders, replicas, ISR and offsets; 404 when it does not exist. */
  partitions(topic: string): Promise<PartitionRow[]> {
    return this.#withAdmin(`describing ${topic}`, async (admin) => {
      const names = await admin.listTopics();
      if (!names.includes(topic)) {
        throw new ConsoleInputError(404, "topic", `no topic '${topic}' on cluster ${this.name}`);
      }
      const md = await admin.fetchTopicMetadata({ topics: [topic] });
      const offsets = await admin.fetchTopicOffsets(topic);
      const byP = new Map(offsets.map((o) => [o.partition, o]));
      return md.topics[0].partitions.map((p) => {
        const o = byP.get(p.partitionId);
        const low = o?.low ?? "0", high = o?.high ?? "0";
        return {
          partition: p.partitionId,
          leader: p.leader,
          replicas: p.replicas,
          isr: p.isr,
          offline: p.offlineReplicas ?? [],
          low,
          high,
          messages: Number(BigInt(high) - BigInt(low)),
        };
      }).sort((a, b) => a.partition - b.partition);
    });
  }

  /** The topic's configs that differ from the broker defaults (and `cleanup.policy`). */
  configs(topic: string): Promise<{ name: string; value: string; source: string }[]> {
    return this.#withAdmin(`reading configs of ${topic}`, async (admin) => {
      const res = await admin.describeConfigs({
        resources: [{ type: 2, name: topic }],
        includeSynonyms: false,
      });
      return (res.resources[0]?.configEntries ?? [])
        .filter((e) => !e.isDefault || e.configName === "cleanup.policy")
        .map((e) => ({
          name: e.configName,
          value: e.isSensitive ? "(hidden)" : String(e.configValue),
          source: e.isDefault ? "default" : "topic",
        }))
        .sort((a, b) => a.name.localeCompare(b.name));
    });
  }

  /** Consumer groups with members and lag per partition. */
  groups(): Promise<GroupRow[]> {
    return this.#withAdmin("listing consumer groups", async (admin) => {
      const listed = (await admin.listGroups()).groups
        .filter((g) => g.protocolType === "consumer" || g.protocolType === "")
        .filter((g) => !g.groupId.startsWith("console-browse-"))
        .slice(0, 200);
      if (listed.length === 0) return [];
      const described = await admin.describeGroups(listed.map((g) => g.groupId));
      const highs = new Map<string, Map<number, string>>();
      const highOf = async (topic: string) => {
        if (!highs.has(topic)) {
          const o = await admin.fetchTopicOffsets(topic).catch(() => []);
          highs.set(topic, new Map(o.map((x) => [x.partition, x.high])));
        }
        return highs.get(topic)!;
      };
      return await pool(described.groups, 4, async (g) => {
        const members = g.members.map((m) => {
          let assigned: string[] = [];
          try {
            const a = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
            assigned = Object.entries(a?.assignment ?? {}).flatMap(([t, ps]) =>
              (ps as number[]).map((p) => `${t}/${p}`)
            );
          } catch {
            assigned = [];
          }
          return { id: m.memberId, clientId: m.clientId, host: m.clientHost, assigned };
        });
        const committed = await admin.fetchOffsets({ groupId: g.groupId }).catch(() => []);
        const lag: GroupRow["lag"] = [];
        for (const t of committed) {
          const high = await highOf(t.topic);
          for (const p of t.partitions) {
            const h = high.get(p.partition) ?? "0";
            const c = p.offset;
            lag.push({
              topic: t.topic,
              partition: p.partition,
              committed: c,
              high: h,
              lag: c === "-1" ? Number(h) : Math.max(0, Number(BigInt(h) - BigInt(c))),
            });
          }
        }
        return {
          groupId: g.groupId,
          state: g.state,
          protocol: g.protocol,
          members,
          lag,
          totalLag: lag.reduce((n, l) => n + l.lag, 0),
        };
      });
    });
  }

  /**
   * Messages of `topic`, newest first: the `limit` newest of one partition or of all, or those at
   * or before an offset (one partition) or a time.
   */
  async browse(topic: string, input: BrowseInput, parts?: PartitionRow[]): Promise<{
    messages: BrowsedMessage[];
    partial: boolean;
  }> {
    parts ??= await this.partitions(topic);
    const scope = parts.filter((p) =>
      input.partition === undefined || p.partition === input.partition
    );
    const atTime = input.time === undefined ? undefined : await this.#withAdmin(
      `finding offsets at a time in ${topic}`,
      (admin) => admin.fetchTopicOffsetsByTimestamp(topic, input.time),
    );
    const ranges: OffsetRange[] = [];
    for (const p of scope) {
      const low = BigInt(p.low), high = BigInt(p.high);
      let to = high;
      if (input.offset !== undefined) {
        if (input.offset < low || input.offset >= high) {
          throw new ConsoleInputError(
            400,
            "offset",
            `offset ${input.offset} is out of range: partition ${p.partition} holds ${low} to ${
              high - 1n
            }` + (high === low ? " (it is empty)" : ""),
          );
        }
        to = input.offset + 1n;
      } else if (atTime) {
        const o = atTime.find((x) => x.partition === p.partition)?.offset;
        // The first offset at or after the time; -1: none, every record is older.
        if (o !== undefined && o !== "-1") to = BigInt(o);
      }
      const from = to - BigInt(input.limit) > low ? to - BigInt(input.limit) : low;
      if (from < to) ranges.push({ partition: p.partition, from, to });
    }
    if (ranges.length === 0) return { messages: [], partial: false };
    return await this.#read(topic, ranges, input.limit);
  }

  async #read(
    topic: string,
    ranges: OffsetRange[],
    limit: number,
  ): Promise<{ messages: BrowsedMessage[]; partial: boolean }> {
    const consumer = this.kafka.consumer({
      groupId: `console-browse-${crypto.randomUUID()}`,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      maxWaitTimeInMs: 200,
      retry: { retries: 1 },
    });
    const got: BrowsedMessage[] = [];
    const left = new Map(ranges.map((r) => [r.partition, r]));
    let partial = false;
    try {
      await withTimeout(consumer.connect(), this.timeoutMs, `connecting a reader to ${this.name}`);
      await consumer.subscribe({ topics: [topic] });
      let done: () => void = () => {};
      const finished = new Promise<void>((resolve) => done = resolve);
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: true,
        eachBatch: async ({ batch }) => {
          const r = left.get(batch.partition);
          if (!r) return;
          if (takeRange(batch, r, got)) {
            left.delete(batch.partition);
            consumer.pause([{ topic, partitions: [batch.partition] }]);
          }
          if (left.size === 0) done();
          await Promise.resolve();
        },
      });
      for (const r of ranges) {
        consumer.seek({ topic, partition: r.partition, offset: String(r.from) });
      }
      const timer = setTimeout(() => {
        partial = left.size > 0;
        done();
      }, this.timeoutMs);
      await finished;
      clearTimeout(timer);
    } catch (err) {
      if (err instanceof ClusterDownError) throw err;
      throw new ClusterDownError(errorText(err));
    } finally {
      await consumer.disconnect().catch(() => {});
    }
    got.sort((a, b) => b.timestamp - a.timestamp || (BigInt(b.offset) > BigInt(a.offset) ? 1 : -1));
    return { messages: got.slice(0, limit), partial };
  }

  /** Creates a topic; Kafka's refusal becomes a 400 (409 when it exists) naming the field. */
  createTopic(input: CreateTopicInput): Promise<void> {
    return this.#withAdmin(`creating ${input.topic}`, async (admin) => {
      const existing = await admin.listTopics();
      if (existing.includes(input.topic)) {
        throw new ConsoleInputError(409, "name", `topic '${input.topic}' already exists`);
      }
      try {
        await admin.createTopics({ topics: [input], waitForLeaders: true });
      } catch (err) {
        const text = errorText(err);
        if (DOWN.test(text)) throw err;
        const field = /replication/i.test(text)
          ? "replicationFactor"
          : /partition/i.test(text)
          ? "partitions"
          : /config/i.test(text)
          ? "configs"
          : "name";
        const details = (err as { errors?: { message?: string }[] }).errors?.map((e) => e.message)
          .join("; ");
        throw new ConsoleInputError(400, field, `Kafka refused the topic: ${details || text}`);
      }
    });
  }

  /** Produces one message (acks=all, idempotent); returns where it went. */
  produce(topic: string, input: ProduceInput): Promise<{ partition: number; offset: string }> {
    return this.#withAdmin(`producing to ${topic}`, async () => {
      const producer = this.kafka.producer({ idempotent: true, retry: { retries: 3 } });
      await producer.connect();
      try {
        const [meta] = await producer.send({
          topic,
          acks: -1,
          messages: [{
            partition: input.partition,
            key: input.key,
            value: input.value,
            headers: input.headers,
          }],
        });
        return { partition: meta.partition, offset: meta.baseOffset ?? "?" };
      } finally {
        await producer.disconnect().catch(() => {});
      }
    });
  }

  /** Closes the admin connection. */
  async close(): Promise<void> {
    const a = this.#admin;
    this.#admin = undefined;
    await a?.then((x) => x.disconnect()).catch(() => {});
  }
}
