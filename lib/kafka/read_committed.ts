/**
 * A fix for kafkajs 2.2.4's read_committed filtering, which lets records of aborted
 * transactions through when several transactional producers write one partition.
 *
 * kafkajs (`src/consumer/filterAbortedMessages.js`) walks a fetch's records and, at each
 * record, moves at most ONE aborted transaction from the broker's list into its "aborted
 * producers" set. When two aborted transactions of different producers both start before a
 * record — the normal case for a dead-letter topic written by one producer per source
 * partition, or for MirrorMaker 2's exactly-once output — the second producer's aborted records
 * are returned as if committed. Seen here: after kill -9 drills of the product filter, a
 * kafkajs read_committed consumer saw 23 dead letters where Kafka's own console consumer
 * (`--isolation-level read_committed`) saw the 20 that were committed.
 *
 * {@linkcode installReadCommittedFix} re-decides each transactional record of a fetch by the
 * marker that ends its transaction — the next control record of the same producer in the
 * fetch: ABORT drops it, COMMIT keeps it. When the marker is not in the fetch, kafkajs'
 * verdict stands. It applies only to fetches where kafkajs itself dropped aborted records
 * (so the broker listed aborted transactions, i.e. the consumer reads committed); a
 * read_uncommitted consumer is left alone. {@linkcode createKafka} installs it.
 *
 * @example
 * ```ts
 * import { installReadCommittedFix } from "./read_committed.ts";
 * installReadCommittedFix(); // idempotent
 * ```
 * @module
 */
// The same CommonJS module instance kafkajs itself loads (one npm package, one module cache).
import Batch from "kafkajs/src/consumer/batch.js";

/** The parts of a kafkajs fetched record this fix reads. */
export interface FetchedRecord {
  offset: string;
  key: Uint8Array | null;
  isControlRecord?: boolean;
  batchContext: { producerId: string | number | { toString(): string }; inTransaction: boolean };
}

const ABORT = [0, 0, 0, 0];

function isAbortMarker(r: FetchedRecord): boolean {
  return r.key !== null && r.key.length === 4 && ABORT.every((b, i) => r.key![i] === b);
}

/**
 * The records of a fetch that a read_committed consumer may see: `within` is every record of
 * the fetch at or after the fetched offset (control records included), `kept` what kafkajs
 * decided to return. See the module doc.
 */
export function committedRecords<T extends FetchedRecord>(within: T[], kept: T[]): T[] {
  const data = within.filter((r) => !r.isControlRecord);
  if (kept.length === data.length) return kept; // kafkajs dropped nothing: nothing to re-decide
  const keptSet = new Set(kept);
  const verdict = new Map<T, boolean>();
  const nextMarker = new Map<string, "abort" | "commit">();
  for (let i = within.length - 1; i >= 0; i--) {
    const r = within[i];
    const producer = String(r.batchContext.producerId);
    if (r.isControlRecord) {
      nextMarker.set(producer, isAbortMarker(r) ? "abort" : "commit");
    } else if (r.batchContext.inTransaction) {
      const marker = nextMarker.get(producer);
      verdict.set(r, marker === undefined ? keptSet.has(r) : marker === "commit");
    } else {
      verdict.set(r, keptSet.has(r));
    }
  }
  return data.filter((r) => verdict.get(r));
}

let installed = false;

/** Makes every kafkajs consumer batch filter aborted records correctly (idempotent). */
export function installReadCommittedFix(): void {
  if (installed) return;
  installed = true;
  const proto = (Batch as unknown as { prototype: object }).prototype;
  const store = new WeakMap<object, unknown[]>();
  // Batch's constructor assigns `this.messagesWithinOffset`, then `this.messages`: an accessor
  // on the prototype sees the assignment and re-decides it.
  Object.defineProperty(proto, "messages", {
    configurable: true,
    get(this: object) {
      return store.get(this);
    },
    set(this: { messagesWithinOffset?: FetchedRecord[] }, kept: FetchedRecord[]) {
      store.set(this, committedRecords(this.messagesWithinOffset ?? kept, kept));
    },
  });
}
