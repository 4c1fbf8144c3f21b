/**
 * Tables: key → value state backed by a compacted changelog topic (the semantics of a Kafka
 * Streams global store / a Faust global table). Every instance holds the whole table in
 * memory; {@linkcode TableSet.restore} reads each changelog at `read_committed` up to its last
 * stable offset before processing starts, and the set keeps following the changelog while
 * the processor runs. Processors write a table only through their transaction (the write is
 * a changelog record committed atomically with the outputs and the consumed offsets), so
 * the table state is exactly the committed changelog — never memory or a local file.
 *
 * @example
 * ```ts
 * import { TableSet } from "./table.ts";
 * const tables = new TableSet(kafka, "practice3", [{ name: "forbidden_words" }]);
 * await tables.restore();           // blocks until the changelog is read to its end
 * tables.get("forbidden_words").get("плохоеслово");
 * await tables.close();
 * ```
 * @module
 */
import type { Admin, Consumer, Kafka } from "kafkajs";
import { streamMetrics } from "./metrics.ts";

/** A table of a stream processor. */
export interface TableSpec {
  /** Table name, used in the changelog name and in metrics. */
  name: string;
  /** Changelog topic. @default `<appId>-<name>-changelog` */
  changelog?: string;
}

/** A read-only view of a table's committed state. */
export interface TableView<V = unknown> {
  get(key: string): V | undefined;
  has(key: string): boolean;
  readonly size: number;
  entries(): IterableIterator<[string, V]>;
  /** Bumped on every change; lets callers cache derived values (e.g. a compiled regex). */
  readonly version: number;
}

/** A table's in-memory state. */
export class Table<V = unknown> implements TableView<V> {
  readonly #map = new Map<string, V>();
  #version = 0;
  constructor(readonly name: string, readonly changelog: string) {}
  get(key: string): V | undefined {
    return this.#map.get(key);
  }
  has(key: string): boolean {
    return this.#map.has(key);
  }
  get size(): number {
    return this.#map.size;
  }
  get version(): number {
    return this.#version;
  }
  entries(): IterableIterator<[string, V]> {
    return this.#map.entries();
  }
  /** Applies one changelog record: a value sets the key, null (tombstone) deletes it. */
  apply(key: string, value: V | null): void {
    if (value === null) this.#map.delete(key);
    else this.#map.set(key, value);
    this.#version++;
  }
}

/** Changelog topic of a table. */
export function changelogTopic(appId: string, spec: TableSpec): string {
  return spec.changelog ?? `${appId}-${spec.name}-changelog`;
}

/** Options of {@linkcode TableSet.restore}. */
export interface RestoreOptions {
  /** Longest wait for the changelogs to be read to their end, ms. @default 120000 */
  timeoutMs?: number;
  /** Progress lines. @default no output */
  log?: (line: string) => void;
}

/** The tables of one processor and the consumer that feeds them from their changelogs. */
export class TableSet {
  readonly tables: Map<string, Table>;
  readonly #kafka: Kafka;
  readonly #appId: string;
  #consumer: Consumer | undefined;
  /** Next offset to apply, by `topic:partition`. */
  readonly #position = new Map<string, bigint>();
  #waiters: (() => void)[] = [];
  #failed: Error | undefined;

  constructor(kafka: Kafka, appId: string, specs: TableSpec[]) {
    this.#kafka = kafka;
    this.#appId = appId;
    this.tables = new Map(
      specs.map((s) => [s.name, new Table(s.name, changelogTopic(appId, s))]),
    );
  }

  /** A table by name; throws naming the known tables when it does not exist. */
  get<V = unknown>(name: string): Table<V> {
    const t = this.tables.get(name);
    if (!t) {
      throw new RangeError(
        `Unknown table '${name}': this processor has ${
          [...this.tables.keys()].map((n) => `'${n}'`).join(", ") || "no tables"
        }`,
      );
    }
    return t as Table<V>;
  }

  /** The changelog position (next offset to apply) of each partition, for tests and logs. */
  positions(): Record<string, string> {
    return Object.fromEntries([...this.#position].map(([k, v]) => [k, String(v)]));
  }

  /**
   * Starts following the changelogs from the beginning and resolves once every partition
   * has been applied up to its last stable offset as of the call (read_committed end).
   */
  async restore(admin: Admin, options: RestoreOptions = {}): Promise<void> {
    const { timeoutMs = 120_000, log = () => {} } = options;
    if (this.tables.size === 0) return;
    const started = Date.now();
    const byTopic = new Map([...this.tables.values()].map((t) => [t.changelog, t]));
    const targets = new Map<string, bigint>();
    for (const topic of byTopic.keys()) {
      for (const p of await admin.fetchTopicOffsets(topic)) {
        targets.set(`${topic}:${p.partition}`, BigInt(p.offset));
      }
    }
    const consumer = this.#kafka.consumer({
      // A group of its own per instance: every instance reads the whole changelog and never
      // commits offsets, so the group disappears when the instance leaves.
      groupId: `${this.#appId}-tables-${crypto.randomUUID()}`,
      readUncommitted: false,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      maxWaitTimeInMs: 100,
      allowAutoTopicCreation: false,
    });
    this.#consumer = consumer;
    const advance = (topic: string, partition: number, next: bigint) => {
      const key = `${topic}:${partition}`;
      if ((this.#position.get(key) ?? 0n) < next) this.#position.set(key, next);
      for (const w of this.#waiters.splice(0)) w();
    };
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
      const { topic, partition, lastOffset } = e.payload;
      advance(topic, partition, BigInt(lastOffset) + 1n);
    });
    consumer.on(consumer.events.CRASH, (e) => {
      this.#failed = e.payload.error;
      for (const w of this.#waiters.splice(0)) w();
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [...byTopic.keys()], fromBeginning: true });
    const metrics = streamMetrics();
    await consumer.run({
      autoCommit: false,
      eachBatch: ({ batch }) => {
        const table = byTopic.get(batch.topic)!;
        for (const m of batch.messages) {
          if (m.key === null) continue;
          const value = m.value === null ? null : JSON.parse(m.value.toString("utf8"));
          table.apply(m.key.toString("utf8"), value);
        }
        metrics.tableEntries.set({ app: this.#appId, table: table.name }, table.size);
        if (batch.messages.length > 0) {
          advance(
            batch.topic,
            batch.partition,
            BigInt(batch.messages[batch.messages.length - 1].offset) + 1n,
          );
        }
        return Promise.resolve();
      },
    });
    for (const t of this.tables.values()) {
      metrics.tableEntries.set({ app: this.#appId, table: t.name }, t.size);
    }
    const caughtUp = () =>
      [...targets].every(([k, target]) => target === 0n || (this.#position.get(k) ?? 0n) >= target);
    const deadline = started + timeoutMs;
    while (!caughtUp()) {
      if (this.#failed) throw new Error(`Table restore failed: ${this.#failed.message}`);
      if (Date.now() > deadline) {
        throw new Error(
          `Table restore did not reach the end of the changelogs within ${timeoutMs} ms: ` +
            `at ${JSON.stringify(this.positions())}, end ${
              JSON.stringify(Object.fromEntries([...targets].map(([k, v]) => [k, String(v)])))
            }`,
        );
      }
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setTimeout(r, 200);
      });
    }
    const sizes = [...this.tables.values()].map((t) => `${t.name}=${t.size}`).join(", ");
    log(`tables restored from changelogs in ${Date.now() - started} ms: ${sizes}`);
  }

  /** Whether the changelog follower is healthy. */
  get healthy(): boolean {
    return this.#failed === undefined;
  }

  /** Stops following the changelogs. */
  async close(): Promise<void> {
    await this.#consumer?.disconnect().catch(() => {});
    this.#consumer = undefined;
  }
}
