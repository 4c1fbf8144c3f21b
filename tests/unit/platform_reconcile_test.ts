/**
 * lib/marketplace/platform/reconcile.ts: the platform run's equations — a run that adds up
 * passes every check, and each equation broken alone fails that check only, with its detail.
 */
import assert from "node:assert/strict";
import { reconcile, type ReconcileInput } from "../../lib/marketplace/mod.ts";

/** A run that adds up: 10 sent (8 allowed, 2 forbidden) + 3 bad, 2 topics mirrored. */
const good = (): ReconcileInput => ({
  sent: 13,
  accepted: 10,
  refused: 3,
  input: 10,
  products: 8,
  forbidden: 2,
  dlq: 0,
  postgresRows: 8,
  postgresForbiddenRows: 0,
  mirrored: {
    products: { a: 8, b: 8, lake: 8 },
    "user-events": { a: 40, b: 40, lake: 40 },
  },
  forbiddenSent: 2,
  allowed: 8,
});

/** The checks that failed, by name. */
const failing = (input: ReconcileInput) => reconcile(input).filter((c) => !c.ok).map((c) => c.what);

Deno.test("reconcile: a run that adds up passes every check, in the summary's order", () => {
  const checks = reconcile(good());
  assert.deepEqual(checks.map((c) => [c.what, c.ok]), [
    ["sent = products + forbidden + refused", true],
    ["accepted = input-products", true],
    ["forbidden = the forbidden products sent", true],
    ["products = PostgreSQL rows (allowed ids)", true],
    ["no forbidden product in PostgreSQL", true],
    ["A = B products", true],
    ["A = B user-events", true],
    ["B = lake products", true],
    ["B = lake user-events", true],
  ]);
  assert.deepEqual(checks[0], {
    what: "sent = products + forbidden + refused",
    left: 13,
    right: 13,
    ok: true,
    detail: "13 = 8 + 2 + 3",
  });
  assert.equal(checks[3].detail, "8 rows, 0 of forbidden ids");
  assert.equal(checks[4].detail, "0 rows of forbidden ids");
  assert.equal(checks[5].detail, "8 → 8");
  assert.equal(checks[7].detail, "8 → 8 rows");
});

Deno.test("reconcile: dead letters count toward what was sent, and are named", () => {
  const checks = reconcile({ ...good(), products: 7, dlq: 1 });
  assert.equal(checks[0].ok, true);
  assert.equal(checks[0].detail, "13 = 7 + 2 + 3 + 1 DLQ");
});

Deno.test("reconcile: a product lost by the filter fails 'sent = …' only", () => {
  const checks = reconcile({ ...good(), products: 7 });
  assert.deepEqual(failing({ ...good(), products: 7 }), ["sent = products + forbidden + refused"]);
  assert.deepEqual([checks[0].left, checks[0].right], [13, 12]);
});

Deno.test("reconcile: an accepted product missing from input-products fails 'accepted = …'", () => {
  assert.deepEqual(failing({ ...good(), input: 9 }), ["accepted = input-products"]);
  assert.equal(reconcile({ ...good(), input: 9 })[1].detail, "10 accepted, 9 in input-products");
});

Deno.test("reconcile: a forbidden product let through fails 'forbidden = …'", () => {
  // One forbidden product passed as allowed: sent still adds up, the blocked count does not.
  assert.deepEqual(failing({ ...good(), products: 9, forbidden: 1 }), [
    "forbidden = the forbidden products sent",
  ]);
});

Deno.test("reconcile: a row missing in PostgreSQL fails 'products = PostgreSQL rows'", () => {
  assert.deepEqual(failing({ ...good(), postgresRows: 7 }), [
    "products = PostgreSQL rows (allowed ids)",
  ]);
});

Deno.test("reconcile: a forbidden product's row left in PostgreSQL fails 'no forbidden product …' only", () => {
  // A row an earlier run wrote for a product forbidden since (the seed's step 4), not deleted.
  assert.deepEqual(failing({ ...good(), postgresForbiddenRows: 1 }), [
    "no forbidden product in PostgreSQL",
  ]);
  const check = reconcile({ ...good(), postgresForbiddenRows: 1 })[4];
  assert.deepEqual([check.left, check.right, check.detail], [1, 0, "1 row of forbidden ids"]);
});

Deno.test("reconcile: products forbidden before the run count as blocked like the run's own", () => {
  // 10 sent, 4 of them on the list (2 forbidden by the run, 2 before it): 6 allowed.
  const input = { ...good(), products: 6, forbidden: 4, postgresRows: 6, forbiddenSent: 4 };
  input.allowed = 6;
  input.mirrored.products = { a: 6, b: 6, lake: 6 };
  assert.deepEqual(failing(input), []);
  // The old expectation — only the run's own two forbidden — does not add up.
  assert.deepEqual(failing({ ...input, forbiddenSent: 2, allowed: 8 }), [
    "forbidden = the forbidden products sent",
    "products = PostgreSQL rows (allowed ids)",
  ]);
});

Deno.test("reconcile: a record not mirrored fails 'A = B' of its topic only", () => {
  const input = good();
  input.mirrored["user-events"] = { a: 40, b: 39, lake: 39 };
  assert.deepEqual(failing(input), ["A = B user-events"]);
});

Deno.test("reconcile: a record missing in the lake fails 'B = lake' of its topic only", () => {
  const input = good();
  input.mirrored.products = { a: 8, b: 8, lake: 7 };
  assert.deepEqual(failing(input), ["B = lake products"]);
  assert.equal(reconcile(input).find((c) => !c.ok)!.detail, "8 → 7 rows");
});
