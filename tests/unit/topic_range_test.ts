/**
 * lib/kafka/topic_range.ts, the pure parts: end offsets from the admin's answer, the ranges a
 * read covers, the transaction-marker rule of "read to its end", and the timeout's message.
 */
import assert from "node:assert/strict";
import {
  type Coverage,
  describePending,
  partitionDone,
  type PartitionRange,
  pendingRanges,
  rangesToRead,
  topicEnds,
  TopicRangeTimeoutError,
} from "../../lib/kafka/mod.ts";

const range = (start: number, end: number, partition = 0): PartitionRange => ({
  topic: "t",
  partition,
  start,
  end,
});

Deno.test("topic range: topicEnds maps each partition to its high watermark", () => {
  assert.deepEqual(
    topicEnds([
      { partition: 1, high: "7", low: "2" },
      { partition: 0, high: "0", low: "0" },
    ]),
    { 0: 0, 1: 7 },
  );
  assert.deepEqual(topicEnds([]), {});
});

Deno.test("topic range: ranges start at the given offsets, else at each partition's first", () => {
  const now = {
    a: [{ partition: 1, high: "9", low: "3" }, { partition: 0, high: "5", low: "0" }],
    b: [{ partition: 0, high: "4" }],
  };
  assert.deepEqual(rangesToRead(now, { a: { 1: 6 } }), [
    { topic: "a", partition: 0, start: 0, end: 5 },
    { topic: "a", partition: 1, start: 6, end: 9 },
    { topic: "b", partition: 0, start: 0, end: 4 },
  ]);
  assert.deepEqual(rangesToRead({ gone: [] }, { gone: { 0: 3 } }), [], "a missing topic: none");
});

Deno.test("topic range: a transactional partition is read once its commit marker is covered", () => {
  // Records at 10..12, the commit marker at 13: the high watermark is 14.
  const r = range(10, 14);
  assert.equal(partitionDone(r, 12), false, "the last record handed over is not the end");
  assert.equal(partitionDone(r, 13), true, "the batch covered the marker: the end");
});

Deno.test("topic range: a partition without transactions is read at its last record", () => {
  const r = range(10, 14);
  assert.equal(partitionDone(r, 12), false, "end - 2 is one record short");
  assert.equal(partitionDone(r, 13), true);
  assert.equal(partitionDone(r, 20), true, "covered past the end (written since): done");
});

Deno.test("topic range: a partition not fetched yet is pending unless its range is empty", () => {
  assert.equal(partitionDone(range(10, 14), undefined), false);
  assert.equal(partitionDone(range(14, 14), undefined), true, "nothing written since the start");
  assert.equal(partitionDone(range(20, 14), undefined), true, "a start past the end (recreated)");
  // An aborted transaction ends the range: its records are never handed over, but covered.
  assert.equal(partitionDone(range(0, 3), 2), true);
});

Deno.test("topic range: pending ranges and the timeout say where each partition stands", () => {
  const ranges = [range(0, 5, 0), range(3, 8, 1), range(4, 4, 2)];
  const coverage: Coverage = new Map([["t/0", 4], ["t/1", 5]]);
  assert.deepEqual(pendingRanges(ranges, coverage), [range(3, 8, 1)]);
  assert.equal(
    describePending(ranges, coverage, 6),
    "1 of 3 partitions short of their end (t/1 at 6 of end 8); 6 records read",
  );
  assert.equal(
    describePending([range(3, 8, 1)], new Map(), 0),
    "1 of 1 partitions short of their end (t/1 at 3 (nothing fetched) of end 8); 0 records read",
  );
  const err = new TopicRangeTimeoutError(["t"], 500, "x");
  assert.equal(err.message, "Cannot read t to their end within 500 ms: x");
  assert.equal(err.name, "TopicRangeTimeoutError");
});
