/**
 * The platform run's summary as the lines a person reads at a glance: records per stage, the
 * reconciliation, refusals, marts, recommendations, where to look, stage timings.
 *
 * @example
 * ```ts
 * import { formatPlatformSummary } from "./summary.ts";
 * console.log(formatPlatformSummary(await runPlatform(options)));
 * ```
 * @module
 */
import type { PlatformSummary } from "./types.ts";

/** The summary as the lines a person reads at a glance. */
export function formatPlatformSummary(s: PlatformSummary): string {
  const lines: string[] = [];
  const pad = (t: string, n: number) => t.padEnd(n);
  lines.push("", "=== the platform, end to end (this run) ===", "");
  lines.push("records per stage");
  const c = s.counts;
  const rows: [string, string][] = [
    ["forbidden list (this run's ids)", forbiddenLine(s.forbidden)],
    ["sent to the SHOP API", `${c.sent} (${c.accepted} accepted, ${c.refused} refused)`],
    ["input-products", String(c.input)],
    ["products (allowed)", String(c.products)],
    ["products.blocked (forbidden)", String(c.forbidden)],
    ["input-products.dlq", String(c.dlq)],
    [
      "PostgreSQL analytics.products",
      `${c.postgresRows} rows (${c.postgresForbiddenRows} forbidden)`,
    ],
    [
      "simulated users",
      `${s.simulation.users} users, ${s.simulation.sessions} sessions, ${s.simulation.requests} requests, ` +
      `events ${Object.entries(s.simulation.events).map(([k, v]) => `${k} ${v}`).join(", ")}`,
    ],
    ...Object.entries(c.mirrored).map(([t, m]): [string, string] => [
      `${t}: A → B → lake`,
      `${m.a} → ${m.b} → ${m.lake}`,
    ]),
  ];
  for (const [k, v] of rows) lines.push(`  ${pad(k, 34)} ${v}`);
  lines.push("", "reconciliation");
  for (const x of s.checks) {
    lines.push(`  ${x.ok ? "OK      " : "MISMATCH"}  ${pad(x.what, 42)} ${x.detail}`);
  }
  if (s.refusals.length) {
    lines.push("", "refused by the SHOP API");
    for (const r of s.refusals) lines.push(`  ${r.status} ${r.product}: ${r.reason}`);
  }
  lines.push("", "marts (rows; top rows)");
  for (const m of s.marts) {
    lines.push(`  ${pad(m.name, 20)} ${m.rows} rows`);
    for (const r of m.top) lines.push(`      ${compactRow(r)}`);
  }
  lines.push(
    "",
    `recommendations: ${s.recommendations.users} users; ${s.recommendations.user} is served ` +
      s.recommendations.served.join(", "),
  );
  lines.push("", "look at");
  for (const [k, v] of Object.entries(s.urls)) lines.push(`  ${pad(k, 13)} ${v}`);
  lines.push("", "stages (s)");
  lines.push(
    `  ${
      s.stages.map((t) => `${t.stage.split(/[:(]/)[0].trim()} ${t.seconds.toFixed(1)}`).join(" · ")
    }`,
  );
  lines.push(
    "",
    `${s.ok ? "ALL OK" : "MISMATCH"} in ${s.seconds.toFixed(0)} s. The services keep running; ` +
      `\`${s.urls.Stop}\` stops them with the stack.`,
  );
  return lines.join("\n");
}

/** The run's products on the forbidden list: how many, which, and who forbade them. */
function forbiddenLine(forbidden: PlatformSummary["forbidden"]): string {
  const before = forbidden.filter((f) => !f.byThisRun).map((f) => f.product_id);
  const mine = forbidden.filter((f) => f.byThisRun).map((f) => f.product_id);
  return `${forbidden.length}: ` + [
    ...(mine.length ? [`${mine.join(", ")} by this run`] : []),
    ...(before.length ? [`${before.join(", ")} forbidden before`] : []),
  ].join("; ");
}

function compactRow(r: Record<string, unknown>): string {
  return Object.entries(r).slice(0, 6).map(([k, v]) =>
    `${k}=${typeof v === "number" && !Number.isInteger(v) ? v.toFixed(2) : String(v).slice(0, 40)}`
  ).join(" ");
}
