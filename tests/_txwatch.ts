/**
 * Kill drills that prove their kill hit an open transaction. {@linkcode transactionWatch}
 * follows a topic a transactional writer writes: a read_uncommitted consumer notes the last
 * offset it was handed per partition; a partition holds records of an open transaction while
 * that offset is at or past its last stable offset (what the admin's `fetchTopicOffsets`
 * answers: kafkajs lists offsets read_committed). {@linkcode killInOpenTransaction} freezes the
 * writer (SIGSTOP) when the watch sees a transaction open, and kills it (SIGKILL) only if the
 * transaction is still open with the writer frozen — otherwise it lets the writer go on
 * (SIGCONT) and tries again; it fails "did not test" after too many misses. Only for timing the
 * kills, never for counts: the drills count with Kafka's console consumer.
 *
 * @example
 * ```ts
 * import { killInOpenTransaction, transactionWatch } from "./_txwatch.ts";
 * const watch = await transactionWatch(kafka, "products");
 * const detail = await killInOpenTransaction(watch, pid, () => service.stop({ hard: true }));
 * console.log(`killed in an open transaction: ${detail}`);
 * ```
 * @module
 */
import type { Kafka } from "kafkajs";
import { pollUntil } from "../lib/env/mod.ts";
import { unique } from "./_stack.ts";

/** What the watch sees now. */
export interface TransactionState {
  /** A partition holds records past its last stable offset. */
  open: boolean;
  /** Each partition's stable offset and last record seen. */
  detail: string;
}

/** A running watch of one topic. */
export interface TransactionWatch {
  state(): Promise<TransactionState>;
  stop(): Promise<void>;
}

/** Starts watching `topic` (from its beginning) on the cluster of `kafka`. */
export async function transactionWatch(kafka: Kafka, topic: string): Promise<TransactionWatch> {
  const last = new Map<number, number>();
  const consumer = kafka.consumer({
    groupId: unique("tx-watch"),
    readUncommitted: true,
    maxWaitTimeInMs: 100,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: ({ batch }) => {
      const offset = Number(batch.messages.at(-1)?.offset ?? -1);
      last.set(batch.partition, Math.max(last.get(batch.partition) ?? -1, offset));
      return Promise.resolve();
    },
  });
  const admin = kafka.admin();
  await admin.connect();
  return {
    async state() {
      const stable = await admin.fetchTopicOffsets(topic);
      const open = stable.some((p) => (last.get(p.partition) ?? -1) >= Number(p.high));
      const detail = stable.map((p) =>
        `p${p.partition} stable ${p.high}, last written ${last.get(p.partition) ?? "none"}`
      ).join("; ");
      return { open, detail };
    },
    async stop() {
      await consumer.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
    },
  };
}

/** Options of {@linkcode killInOpenTransaction}. */
export interface KillOptions {
  /** Freezes that find the transaction closed before the drill did not test. @default 20 */
  misses?: number;
  /** Longest wait for the watch to see a transaction open, per try (ms). @default 120000 */
  openTimeoutMs?: number;
  /** What the writer is, for the messages. @default "the writer" */
  what?: string;
}

/**
 * Kills the process `pid` (through `kill`, which must end it with SIGKILL) while it has a
 * transaction open on the watched topic, proven with the process frozen; returns the watch's
 * detail at the kill. Throws "did not test" after `misses` freezes that found no transaction
 * open.
 */
export async function killInOpenTransaction(
  watch: TransactionWatch,
  pid: number,
  kill: () => Promise<unknown>,
  { misses = 20, openTimeoutMs = 120_000, what = "the writer" }: KillOptions = {},
): Promise<string> {
  let seen = "";
  for (let miss = 0; miss < misses; miss++) {
    await pollUntil(`a transaction of ${what} open`, async () => {
      const s = await watch.state();
      seen = s.detail;
      return s.open;
    }, { timeoutMs: openTimeoutMs, intervalMs: 20 }).catch((err) => {
      throw new Error(`did not test: ${(err as Error).message} (last: ${seen})`);
    });
    Deno.kill(pid, "SIGSTOP");
    // Frozen, the writer can neither commit nor write: what the watch sees now stays so until
    // the kill (the watch's fetches catch up within a few of their 100 ms waits).
    const frozen = await stillOpen(watch);
    if (frozen.open) {
      await kill();
      return frozen.detail;
    }
    seen = frozen.detail;
    Deno.kill(pid, "SIGCONT");
  }
  throw new Error(
    `did not test: ${misses} times ${what}, frozen, had no transaction open (last: ${seen})`,
  );
}

/**
 * The watch's view of a frozen writer, once two reads 300 ms apart agree (a commit whose
 * markers were on their way shows as closed by then).
 */
async function stillOpen(watch: TransactionWatch): Promise<TransactionState> {
  let before: string | undefined;
  return await pollUntil("the watch settled on the frozen writer", async () => {
    const now = await watch.state();
    const same = now.detail === before;
    before = now.detail;
    return same ? now : undefined;
  }, { timeoutMs: 10_000, intervalMs: 300 });
}
