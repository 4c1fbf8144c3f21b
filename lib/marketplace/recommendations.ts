/**
 * The CLIENT API's side of the `recommendations` topic: a table in memory, the latest
 * {@linkcode Recommendation} per `user_id` (the topic is compacted, key `user_id`; a tombstone
 * removes the user). Every instance reads the whole topic from the beginning under a consumer
 * group of its own (`client-api-recommendations-<random>`, within the `client-api` group ACL
 * prefix) and commits nothing, so each replica of the API holds the full table and a restart
 * restores it from the topic — no state besides Kafka.
 *
 * A record that fails the schema is skipped and counted (`skipped`), never served; the
 * analytics jobs that publish are the ones to fix. `caughtUp` turns true once every
 * partition was read up to where it ended when the table started.
 *
 * @example
 * ```ts
 * import { RecommendationsTable } from "./recommendations.ts";
 * const table = new RecommendationsTable(kafka);
 * await table.start();
 * await table.ready(30_000);
 * table.get("user-42"); // Recommendation | undefined
 * ```
 * @module
 */
import type { Admin, Consumer, Kafka } from "kafkajs";
import { type Recommendation, recommendationCodec } from "../schemas/mod.ts";
import { pollUntil } from "../env/mod.ts";
import { GROUPS, TOPICS } from "./topology.ts";

/** Options of a {@linkcode RecommendationsTable}. */
export interface RecommendationsTableOptions {
  /** Topic to read. @default TOPICS.recommendations */
  topic?: string;
  /** Prefix of the instance's own consumer group. @default `${GROUPS.clientApi}-recommendations` */
  groupPrefix?: string;
  /** Called for a record that is skipped (bad key or value). */
  onSkip?: (info: { partition: number; offset: string; error: string }) => void;
}

/** Latest recommendations per user, read from the compacted topic (see the module doc). */
export class RecommendationsTable {
  readonly topic: string;
  readonly groupId: string;
  readonly #kafka: Kafka;
  readonly #onSkip?: RecommendationsTableOptions["onSkip"];
  readonly #rows = new Map<string, Recommendation>();
  /** Next offset to read, per partition. */
  readonly #positions = new Map<number, bigint>();
  /** End offsets when the table started, per partition. */
  #targets?: Map<number, bigint>;
  #consumer?: Consumer;
  #running = false;
  #crashed?: string;
  /** Records applied (upserts and deletes). */
  applied = 0;
  /** Records skipped because they failed the schema or had no key. */
  skipped = 0;

  constructor(kafka: Kafka, options: RecommendationsTableOptions = {}) {
    const {
      topic = TOPICS.recommendations,
      groupPrefix = `${GROUPS.clientApi}-recommendations`,
      onSkip,
    } = options;
    this.#kafka = kafka;
    this.topic = topic;
    this.groupId = `${groupPrefix}-${crypto.randomUUID().slice(0, 8)}`;
    this.#onSkip = onSkip;
  }

  /** Users with recommendations. */
  get size(): number {
    return this.#rows.size;
  }

  /** The latest recommendations of a user, if the analytics published any. */
  get(userId: string): Recommendation | undefined {
    return this.#rows.get(userId);
  }

  /** Whether the consumer runs (false after a crash it could not recover from). */
  get running(): boolean {
    return this.#running && this.#crashed === undefined;
  }

  /** Why the consumer stopped, when it crashed. */
  get crashed(): string | undefined {
    return this.#crashed;
  }

  /** Whether every partition was read up to its end offset at start. */
  get caughtUp(): boolean {
    const targets = this.#targets;
    if (!targets) return false;
    for (const [p, end] of targets) if ((this.#positions.get(p) ?? 0n) < end) return false;
    return true;
  }

  /** Applies one record of the topic: an upsert, a delete (tombstone) or a skip. */
  apply(partition: number, offset: string, key: Buffer | null, value: Buffer | null): void {
    const next = BigInt(offset) + 1n;
    if (next > (this.#positions.get(partition) ?? 0n)) this.#positions.set(partition, next);
    const userId = key?.toString("utf8");
    if (!userId) {
      this.skipped++;
      this.#onSkip?.({ partition, offset, error: "record has no key (user_id)" });
      return;
    }
    if (value === null) {
      this.#rows.delete(userId);
      this.applied++;
      return;
    }
    try {
      const rec = recommendationCodec.decode(value);
      if (rec.user_id !== userId) {
        throw new Error(`key '${userId}' differs from value's user_id '${rec.user_id}'`);
      }
      this.#rows.set(userId, rec);
      this.applied++;
    } catch (err) {
      this.skipped++;
      this.#onSkip?.({ partition, offset, error: (err as Error).message });
    }
  }

  /** Starts reading the topic from its beginning; returns once the consumer runs. */
  async start(): Promise<void> {
    const admin: Admin = this.#kafka.admin();
    await admin.connect();
    try {
      const ends = await admin.fetchTopicOffsets(this.topic);
      this.#targets = new Map(ends.map((o) => [o.partition, BigInt(o.high)]));
      // Compaction or retention may have removed everything below `low`: start there.
      for (const o of ends) this.#positions.set(o.partition, BigInt(o.low));
    } finally {
      await admin.disconnect();
    }
    const consumer = this.#kafka.consumer({
      groupId: this.groupId,
      sessionTimeout: 30_000,
      retry: { retries: 10 },
    });
    this.#consumer = consumer;
    // The batch's last offset counts control records (transaction markers) too, so a table
    // published transactionally still reaches its end offset.
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
      const { partition, lastOffset } = e.payload as { partition: number; lastOffset: string };
      const next = BigInt(lastOffset) + 1n;
      if (next > (this.#positions.get(partition) ?? 0n)) this.#positions.set(partition, next);
    });
    consumer.on(consumer.events.CRASH, (e) => {
      const { error, restart } = e.payload as { error: Error; restart: boolean };
      if (!restart) this.#crashed = error.message;
    });
    await consumer.connect();
    await consumer.subscribe({ topic: this.topic, fromBeginning: true });
    this.#running = true;
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) this.apply(batch.partition, m.offset, m.key, m.value);
        await Promise.resolve();
      },
    });
  }

  /** Waits until the table has caught up with the topic (see `caughtUp`). */
  async ready(timeoutMs = 60_000): Promise<void> {
    await pollUntil(
      `the recommendations table to read '${this.topic}' to its end`,
      () => this.caughtUp,
      { timeoutMs, intervalMs: 100 },
    );
  }

  /** Stops the consumer (its group is left; nothing was committed). */
  async stop(): Promise<void> {
    this.#running = false;
    await this.#consumer?.disconnect();
  }
}
