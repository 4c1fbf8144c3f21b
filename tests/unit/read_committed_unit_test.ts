/**
 * lib/kafka/read_committed.ts: the records a read_committed consumer may see, decided by the
 * marker that ends each transaction — including the interleaved case kafkajs gets wrong.
 */
import assert from "node:assert/strict";
import { committedRecords, type FetchedRecord } from "../../lib/kafka/mod.ts";

const rec = (offset: number, producer: number, inTransaction = true): FetchedRecord => ({
  offset: String(offset),
  key: new Uint8Array([1]),
  batchContext: { producerId: String(producer), inTransaction },
});
const marker = (offset: number, producer: number, abort: boolean): FetchedRecord => ({
  offset: String(offset),
  key: new Uint8Array([0, 0, 0, abort ? 0 : 1]),
  isControlRecord: true,
  batchContext: { producerId: String(producer), inTransaction: true },
});

Deno.test("read_committed: two producers' aborted transactions interleaved are both dropped", () => {
  // P1 and P2 both open a transaction; both abort. P3 commits in between.
  const within = [
    rec(0, 1),
    rec(1, 2),
    rec(2, 3),
    marker(3, 3, false),
    rec(4, 2),
    marker(5, 1, true),
    marker(6, 2, true),
    rec(7, 4, false), // not transactional
  ];
  // What kafkajs 2.2.4 returns here: it drops P1's record but lets P2's aborted ones through.
  const kafkajs = [within[1], within[2], within[4], within[7]];
  const out = committedRecords(within, kafkajs);
  assert.deepEqual(out.map((r) => r.offset), ["2", "7"]);
});

Deno.test("read_committed: kafkajs' verdict stands where the fetch has no marker, and when it dropped nothing", () => {
  const within = [rec(0, 1), marker(1, 1, true), rec(2, 2)];
  // P2's marker lies beyond this fetch: keep what kafkajs kept.
  assert.deepEqual(committedRecords(within, [within[2]]).map((r) => r.offset), ["2"]);
  // Nothing dropped (a read_uncommitted consumer, or no aborted transaction): untouched.
  const all = [within[0], within[2]];
  assert.equal(committedRecords(within, all), all);
});
