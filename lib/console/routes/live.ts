/**
 * The answer of a live part of a page (brokers, topics, groups, partitions, a group's lag),
 * which htmx reloads every few seconds: always 200, as htmx swaps only those — a cluster that
 * does not answer is the part's content (its down box), not an error to drop.
 *
 * @example
 * ```ts
 * import { livePart } from "./live.ts";
 * const res = await livePart(client, async () => groupsTable("main", await client.groups()));
 * ```
 * @module
 */
import type { ClusterClient } from "../clusters.ts";
import { attempt } from "../context.ts";
import { html } from "../respond.ts";

/** The HTML `render` gives, or the cluster's down box (or error box) when it fails. */
export async function livePart(
  client: ClusterClient,
  render: () => Promise<string>,
): Promise<Response> {
  const r = await attempt<string>(client, render);
  return html(r.ok ? r.value : r.box, 200);
}
