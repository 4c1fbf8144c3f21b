/**
 * The platform run's pure helpers around the forbidden list and failing stages
 * (lib/marketplace/platform/forbidden_state.ts, look.ts): the state the compacted
 * `forbidden-products` topic leaves per product id, its difference from the list in
 * PostgreSQL as a person reads it, and where to look when a stage fails — a log's tail, or
 * that the log is missing or empty, naming the service.
 */
import assert from "node:assert/strict";
import {
  describeConnector,
  describeDifference,
  describeLog,
  forbiddenInTopic,
  idList,
  listDifference,
} from "../../lib/marketplace/mod.ts";

const rec = (key: string | null, value: string | null, offset: number, partition = 0) => ({
  topic: "forbidden-products",
  partition,
  offset,
  key,
  value,
});

Deno.test("forbidden state: the latest record per product id decides, a JSON null or tombstone lifts the ban", () => {
  const state = forbiddenInTopic([
    // Out of offset order on purpose: the reader may hand them over in any order.
    rec("78490", "null", 5),
    rec("78490", '{"product_id":"78490","reason":"why not"}', 2),
    rec("56741", '{"product_id":"56741","reason":"recalled"}', 3, 1),
    rec("20001", '{"product_id":"20001"}', 1, 2),
    rec("20001", null, 4, 2),
    rec("20005", '{"product_id":"20005"}', 6),
    rec(null, '{"product_id":"x"}', 7),
  ]);
  assert.deepEqual([...state].sort(), ["20005", "56741"]);
});

Deno.test("forbidden state: the list and the topic agree, or differ by what is missing and extra", () => {
  const listed = new Set(["78490", "56741", "20001", "20005"]);
  assert.deepEqual(listDifference(listed, new Set(["20005", "20001", "56741", "78490"])), {
    agree: true,
    missing: [],
    extra: [],
  });
  const d = listDifference(listed, new Set(["20001", "20005", "20009"]));
  assert.deepEqual(d, { agree: false, missing: ["78490", "56741"], extra: ["20009"] });
  assert.equal(
    describeDifference(listed, d),
    "2 of 4 listed ids forbidden there; not yet: 78490, 56741; " +
      "still forbidden there though no longer listed: 20009",
  );
  assert.equal(
    describeDifference(new Set(), listDifference(new Set(), new Set())),
    "0 of 0 listed ids forbidden there",
  );
});

Deno.test("idList: the first ten ids, then how many more", () => {
  const ids = Array.from({ length: 13 }, (_, i) => `p${i}`);
  assert.equal(idList(ids.slice(0, 2)), "p0, p1");
  assert.equal(idList(ids), "p0, p1, p2, p3, p4, p5, p6, p7, p8, p9 and 3 more");
  assert.equal(idList(ids, 1), "p0 and 12 more");
});

const ref = {
  service: "connect-main",
  path: "/s/connect-main/connect.log",
  stackCmd: "STACK_DIR=/s STACK_PORT_OFFSET=0 deno task stack",
};

Deno.test("where to look: a log's last lines, with its path, service and the command", () => {
  const text = Array.from({ length: 40 }, (_, i) => `line ${i}`).join("\n") + "\n";
  const look = describeLog(ref, text, 3);
  assert.equal(
    look,
    "where to look: /s/connect-main/connect.log (connect-main; " +
      "`STACK_DIR=/s STACK_PORT_OFFSET=0 deno task stack logs connect-main`), its last 3 lines:\n" +
      "  line 37\n  line 38\n  line 39",
  );
});

Deno.test("where to look: an empty log is said to be empty, naming the service — never a blank tail", () => {
  for (const text of ["", "\n\n  \n"]) {
    const look = describeLog(ref, text);
    assert.match(look, /the log of connect-main, \/s\/connect-main\/connect\.log, is empty/);
    assert.match(look, /deno task stack status` shows whether it runs/);
  }
  assert.match(describeLog(ref, undefined), /connect-main has no log at \/s\/connect-main/);
});

Deno.test("where to look: a connector's state and each task's, with the first line of an error", () => {
  assert.equal(
    describeConnector("final-products-jdbc", {
      name: "final-products-jdbc",
      connector: { state: "RUNNING", worker_id: "w" },
      tasks: [
        { id: 0, state: "FAILED", worker_id: "w", trace: "org.x.DataException: bad row\n\tat a.b" },
        { id: 1, state: "RUNNING", worker_id: "w" },
      ],
    }),
    "connector final-products-jdbc: RUNNING\n" +
      "  task 0: FAILED — org.x.DataException: bad row\n" +
      "  task 1: RUNNING",
  );
});
