/**
 * The platform soak's pure parts: the seeded kill schedule and the reconciliation, which must
 * fail on a planted loss and a planted duplicate.
 */
import assert from "node:assert/strict";
import {
  allOk,
  lastVersions,
  SOAK_COMPONENTS,
  soakSchedule,
  stageRow,
  versionId,
} from "../../lib/marketplace/soak/mod.ts";

Deno.test("soak schedule: seeded, each component once at least, in time, restarts before the next kill", () => {
  const a = soakSchedule({ seed: 7, seconds: 120 });
  assert.deepEqual(a, soakSchedule({ seed: 7, seconds: 120 }), "same seed, same schedule");
  assert.notDeepEqual(a, soakSchedule({ seed: 8, seconds: 120 }), "another seed, another one");
  assert.deepEqual(new Set(a.map((k) => k.component)), new Set(SOAK_COMPONENTS));
  for (let i = 0; i < a.length; i++) {
    assert.ok(a[i].atS >= 10 && a[i].atS + a[i].restartAfterS <= 110, JSON.stringify(a[i]));
    if (i > 0) assert.ok(a[i - 1].atS + a[i - 1].restartAfterS <= a[i].atS, `kill ${i} overlaps`);
  }
  const long = soakSchedule({ seed: 7, seconds: 600, components: ["lake-sink", "shop-api"] });
  assert.equal(long.length, 19, "one kill per 30 s slot");
});

Deno.test("soak schedule: bad input names the field", () => {
  assert.throws(() => soakSchedule({ seed: 1.5, seconds: 120 }), /'seed'/);
  assert.throws(() => soakSchedule({ seed: 1, seconds: 30 }), /'seconds'/);
  assert.throws(() => soakSchedule({ seed: 1, seconds: 120, components: [] }), /'components'/);
});

Deno.test("soak reconcile: all there once is OK; maybe ids may appear once", () => {
  const row = stageRow(
    "products",
    ["a@v1", "a@v2", "b@v1"],
    ["a@v1", "b@v1", "a@v2", "c@v1"],
    new Set(["c@v1"]),
  );
  assert.equal(row.ok, true, JSON.stringify(row));
  assert.deepEqual([row.expected, row.seen, row.lost, row.duplicated, row.extra], [3, 4, 0, 0, 0]);
  assert.equal(allOk([row]), true);
});

Deno.test("soak reconcile: a planted loss and a planted duplicate fail", () => {
  const lost = stageRow("products", ["a@v1", "a@v2", "b@v1"], ["a@v1", "b@v1"]);
  assert.equal(lost.ok, false);
  assert.equal(lost.lost, 1);
  assert.deepEqual(lost.examples, ["lost a@v2"]);
  const dup = stageRow("B = lake products", ["0:1", "0:2"], ["0:1", "0:2", "0:2"]);
  assert.equal(dup.ok, false);
  assert.equal(dup.duplicated, 1);
  const maybeTwice = stageRow("products", ["a@v1"], ["a@v1", "c@v1", "c@v1"], new Set(["c@v1"]));
  assert.equal(maybeTwice.duplicated, 1, "an unacknowledged send twice is a duplicate");
  const stranger = stageRow("PostgreSQL", ["a@v2"], ["a@v2", "f@v1"]);
  assert.equal(stranger.extra, 1);
  assert.equal(stageRow("empty", [], []).ok, false, "nothing expected is not a pass");
  assert.equal(allOk([lost, dup]), false);
});

Deno.test("soak reconcile: last versions from acknowledgements and the topic", () => {
  const last = lastVersions([["a", 1], ["a", 3], ["b", 1]], [["a", 4], ["b", 1]]);
  assert.deepEqual([...last], [["a", 4], ["b", 1]]);
  assert.equal(versionId("a", 4), "a@v4");
});
