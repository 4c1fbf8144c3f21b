/**
 * The platform run's reconciliation, as a pure function of the counts it saw: every hop must
 * account for every record — sent = products + forbidden + refused, accepted = input-products,
 * forbidden = the forbidden products sent (the list as it stood when the run began),
 * products = PostgreSQL rows, no forbidden product in PostgreSQL, and per mirrored topic
 * A = B and B = lake.
 *
 * @example
 * ```ts
 * import { reconcile } from "./reconcile.ts";
 * const checks = reconcile({ ...counts, forbiddenSent: 2, allowed: 8 });
 * console.log(checks.every((c) => c.ok));
 * ```
 * @module
 */
import type { Check, PlatformCounts } from "./types.ts";

/** What {@linkcode reconcile} checks: the counts seen, and what the run sent. */
export interface ReconcileInput extends PlatformCounts {
  /** Forbidden products among those sent (each must end in products.blocked). */
  forbiddenSent: number;
  /** Allowed product ids sent (each must be a row in PostgreSQL). */
  allowed: number;
}

/** The reconciliation lines of a run, in the order the summary shows them. */
export function reconcile(c: ReconcileInput): Check[] {
  const checks: Check[] = [];
  const check = (what: string, left: number, right: number, detail: string) =>
    checks.push({ what, left, right, ok: left === right, detail });
  check(
    "sent = products + forbidden + refused",
    c.sent,
    c.products + c.forbidden + c.dlq + c.refused,
    `${c.sent} = ${c.products} + ${c.forbidden} + ${c.refused}` +
      (c.dlq ? ` + ${c.dlq} DLQ` : ""),
  );
  check(
    "accepted = input-products",
    c.accepted,
    c.input,
    `${c.accepted} accepted, ${c.input} in input-products`,
  );
  check(
    "forbidden = the forbidden products sent",
    c.forbidden,
    c.forbiddenSent,
    `${c.forbidden} blocked`,
  );
  check(
    "products = PostgreSQL rows (allowed ids)",
    c.allowed,
    c.postgresRows,
    `${c.postgresRows} rows, ${c.postgresForbiddenRows} of forbidden ids`,
  );
  check(
    "no forbidden product in PostgreSQL",
    c.postgresForbiddenRows,
    0,
    `${c.postgresForbiddenRows} row${c.postgresForbiddenRows === 1 ? "" : "s"} of forbidden ids`,
  );
  const mirrored = Object.entries(c.mirrored);
  for (const [t, m] of mirrored) check(`A = B ${t}`, m.a, m.b, `${m.a} → ${m.b}`);
  for (const [t, m] of mirrored) check(`B = lake ${t}`, m.b, m.lake, `${m.b} → ${m.lake} rows`);
  return checks;
}
