/**
 * The table overlay of a batch: table writes of the records processed so far, not yet
 * committed. A record reads its own and earlier records' writes; when its function throws,
 * its writes are rolled back out of the overlay; after processing, its writes become
 * changelog records in the batch's transaction.
 * @module
 */
import type { Message } from "kafkajs";
import type { TableSet } from "./table.ts";
import type { WritableTable } from "./options.ts";

/** A deletion pending in the overlay. */
export const TOMBSTONE: unique symbol = Symbol("tombstone");
/** "This key had no pending write before this record" (for rollback). */
export const NOT_PENDING: unique symbol = Symbol("not pending");

/** Pending values per table, per key (a batch's overlay). */
export type Overlay = Map<string, Map<string, unknown>>;
/** Per table, per key: the overlay value before this record wrote it (for rollback). */
export type RecordWrites = Map<string, Map<string, unknown>>;

/** The table `name` as a record's function sees it: committed state under the batch overlay. */
export function writableTable<V>(
  tables: TableSet,
  name: string,
  pending: Overlay,
  writes: RecordWrites,
): WritableTable<V> {
  const committed = tables.get<V>(name);
  let overlay = pending.get(name);
  if (!overlay) pending.set(name, overlay = new Map());
  const o = overlay;
  const remember = (key: string) => {
    let w = writes.get(name);
    if (!w) writes.set(name, w = new Map());
    if (!w.has(key)) w.set(key, o.has(key) ? o.get(key) : NOT_PENDING);
  };
  return {
    committed,
    get: (key) => {
      if (o.has(key)) {
        const v = o.get(key);
        return v === TOMBSTONE ? undefined : v as V;
      }
      return committed.get(key);
    },
    has: (key) => (o.has(key) ? o.get(key) !== TOMBSTONE : committed.has(key)),
    set: (key, value) => {
      if (value === null || value === undefined) {
        throw new TypeError(`Cannot set '${key}' in table '${name}' to ${value}: use delete()`);
      }
      remember(key);
      o.set(key, value);
    },
    delete: (key) => {
      remember(key);
      o.set(key, TOMBSTONE);
    },
  };
}

/** Rolls one record's table writes back out of the batch overlay. */
export function rollback(pending: Overlay, writes: RecordWrites): void {
  for (const [name, keys] of writes) {
    const overlay = pending.get(name)!;
    for (const [k, prev] of keys) {
      if (prev === NOT_PENDING) overlay.delete(k);
      else overlay.set(k, prev);
    }
  }
}

/** The changelog records of one record's table writes (latest value per key, or a tombstone). */
export function changelogMessages(
  tables: TableSet,
  pending: Overlay,
  writes: RecordWrites,
): { topic: string; message: Message }[] {
  const out: { topic: string; message: Message }[] = [];
  for (const [name, keys] of writes) {
    const table = tables.get(name);
    const overlay = pending.get(name)!;
    for (const k of keys.keys()) {
      const v = overlay.get(k);
      out.push({
        topic: table.changelog,
        message: { key: k, value: v === TOMBSTONE ? null : JSON.stringify(v) },
      });
    }
  }
  return out;
}
