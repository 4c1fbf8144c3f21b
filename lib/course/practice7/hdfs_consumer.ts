/**
 * Practice 7, task 2: read `{event, message}` events from `hadoop-topic`, store them in HDFS
 * and read back what is stored. Each fetched batch of a partition becomes one JSON Lines
 * file `<dir>/<topic>+<partition>+<first>+<last>.jsonl` written over WebHDFS; offsets are
 * committed after the file is written (at-least-once; a re-run overwrites the same file
 * name with the same records). Invalid events go to `hadoop-topic.dlq`.
 *
 * @example
 * ```ts
 * import { HdfsEventConsumer } from "./hdfs_consumer.ts";
 * const c = new HdfsEventConsumer(kafka, hdfs, { onStored: (f) => console.log(f.path, f.events) });
 * await c.runUntilIdle();
 * ```
 * @module
 */
import type { Kafka } from "kafkajs";
import { DeadLetters } from "../../kafka/mod.ts";
import { type HadoopEvent, hadoopEventCodec } from "../../schemas/mod.ts";
import type { WebHdfs } from "../../lake/mod.ts";
import { HADOOP_TOPIC, PRACTICE7_GROUPS } from "./topics.ts";

/** A file written to HDFS and what reading it back gave. */
export interface StoredFile {
  path: string;
  /** The events as read back from HDFS. */
  events: HadoopEvent[];
}

/** Options of an {@linkcode HdfsEventConsumer}. */
export interface HdfsEventConsumerOptions {
  /** Topic. @default "hadoop-topic" */
  topic?: string;
  /** HDFS folder. @default "/practice7/hadoop-topic" */
  dir?: string;
  /** Consumer group. @default "hadoop-consumer" */
  groupId?: string;
  /** Called with each file after it is read back. */
  onStored?: (file: StoredFile) => void;
  /** Called for each invalid record. @default logs it */
  onDeadLetter?: (reason: string, offset: string) => void;
}

/** See the module doc. */
export class HdfsEventConsumer {
  readonly topic: string;
  readonly dir: string;
  readonly stored: StoredFile[] = [];

  constructor(
    readonly kafka: Kafka,
    readonly hdfs: WebHdfs,
    readonly options: HdfsEventConsumerOptions = {},
  ) {
    this.topic = options.topic ?? HADOOP_TOPIC.topic;
    this.dir = (options.dir ?? `/practice7/${this.topic}`).replace(/\/$/, "");
    if (!this.dir.startsWith("/")) {
      throw new RangeError(
        `Cannot store events as 'dir' must be an absolute HDFS path: current value is '${this.dir}'`,
      );
    }
  }

  /**
   * Consumes until every partition is read to its end (as of the start), storing each batch;
   * returns the files stored.
   */
  async runUntilIdle(): Promise<StoredFile[]> {
    const groupId = this.options.groupId ?? PRACTICE7_GROUPS.hdfs;
    const admin = this.kafka.admin();
    await admin.connect();
    const ends = new Map(
      (await admin.fetchTopicOffsets(this.topic)).map((p) => [p.partition, BigInt(p.high)]),
    );
    const committed = await admin.fetchOffsets({ groupId, topics: [this.topic] });
    await admin.disconnect();
    const pending = new Set<number>();
    for (const [p, high] of ends) {
      const c = committed[0]?.partitions.find((x) => x.partition === p);
      const from = c && BigInt(c.offset) >= 0n ? BigInt(c.offset) : 0n;
      if (from < high) pending.add(p);
    }
    if (pending.size === 0) return [];
    const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const dlq = new DeadLetters(producer);
    const consumer = this.kafka.consumer({
      groupId,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
    });
    await consumer.connect();
    await consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await this.hdfs.mkdirs(this.dir);
    let done!: () => void;
    let failed!: (e: unknown) => void;
    const finished = new Promise<void>((res, rej) => {
      done = res;
      failed = rej;
    });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        try {
          const events: HadoopEvent[] = [];
          for (const m of batch.messages) {
            try {
              events.push(hadoopEventCodec.decode(m.value));
            } catch (err) {
              const reason = (err as Error).message;
              await dlq.publish(
                {
                  topic: batch.topic,
                  partition: batch.partition,
                  offset: m.offset,
                  key: m.key,
                  value: m.value,
                  headers: m.headers,
                },
                reason,
                "validate",
              );
              (this.options.onDeadLetter ??
                ((r, o) => console.error(`DLQ ${this.topic}@${o}: ${r}`)))(reason, m.offset);
            }
          }
          if (batch.messages.length === 0) return;
          const first = batch.firstOffset()!;
          const last = batch.lastOffset();
          const path = `${this.dir}/${this.topic}+${batch.partition}+${first}+${last}.jsonl`;
          const body = events.map((e) => JSON.stringify(e)).join("\n") +
            (events.length ? "\n" : "");
          await this.hdfs.write(path, new TextEncoder().encode(body), { overwrite: true });
          const back = new TextDecoder().decode(await this.hdfs.read(path));
          const file = {
            path,
            events: back.split("\n").filter(Boolean).map((l) => JSON.parse(l) as HadoopEvent),
          };
          this.stored.push(file);
          this.options.onStored?.(file);
          for (const m of batch.messages) resolveOffset(m.offset);
          await consumer.commitOffsets([
            { topic: batch.topic, partition: batch.partition, offset: String(BigInt(last) + 1n) },
          ]);
          await heartbeat();
          if (BigInt(last) + 1n >= (ends.get(batch.partition) ?? 0n)) {
            pending.delete(batch.partition);
            if (pending.size === 0) done();
          }
        } catch (err) {
          failed(err);
        }
      },
    });
    try {
      await finished;
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
    }
    return this.stored;
  }
}
