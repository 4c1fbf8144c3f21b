/**
 * A consumer group's page: `GET /c/<cluster>/g/<group>` (the frame around a live part, and for
 * admins the offset-reset form), `GET …/g/<group>/lag` (that part: members and lag per
 * partition), and the offset reset in two steps, admin only:
 * `POST …/g/<group>/reset/preview` (the dry run: each partition's committed offset and its new
 * one, nothing committed, with the form that applies it) and `POST …/g/<group>/reset/apply`
 * (commits them while the group has no active member, else 409 naming the group's state and
 * member count; the committed offsets read back). Bad input is a 4xx naming the field.
 *
 * @example
 * ```ts
 * import { GROUP_ROUTES } from "./groups.ts";
 * const lag = GROUP_ROUTES.find((r) => r.pattern.test("g/orders-app/lag"));
 * ```
 * @module
 */
import type { Session } from "../auth.ts";
import type { ClusterClient } from "../clusters.ts";
import {
  attempt,
  type ClusterCall,
  type ConsoleContext,
  consoleMetrics,
  type Route,
} from "../context.ts";
import { parseOffsetReset } from "../forms.ts";
import { applyReset, planReset } from "../offsets.ts";
import { errorBox, esc, groupDetail, layout, live, resultBox, url } from "../pages.ts";
import { resetForm, resetPreview, resetResult } from "../pages_operate.ts";
import { html } from "../respond.ts";
import { livePart } from "./live.ts";
import type { PageExtra } from "./topics.ts";

/** The group page (see the module doc); `extra` comes from a reset. */
function groupPage(
  ctx: ConsoleContext,
  client: ClusterClient,
  groupId: string,
  session: Session,
  extra: PageExtra = {},
): Response {
  const clusterName = client.cluster.name;
  return html(
    layout(
      ctx.frame(groupId, session, clusterName),
      `<hgroup><h2>Consumer group ${esc(groupId)}</h2><p>on cluster <a href="${
        url.cluster(clusterName)
      }">${esc(clusterName)}</a></p></hgroup>${extra.box ?? ""}${
        session.role === "admin" ? resetForm(clusterName, groupId, session, extra.form) : ""
      }${live("group", `${url.group(clusterName, groupId)}/lag`)}`,
    ),
    extra.status ?? 200,
  );
}

/** `POST …/g/<group>/reset/<step>`: the dry run, or the apply; audited. */
async function reset(
  ctx: ConsoleContext,
  { client, session, form }: ClusterCall,
  [groupId, step]: string[],
): Promise<Response> {
  const again = (extra: PageExtra) => groupPage(ctx, client, groupId, session, { ...extra, form });
  const action = `reset-offsets-${step}`;
  const parsed = parseOffsetReset(form);
  if (!parsed.ok) {
    consoleMetrics.writes().inc({ action, outcome: "invalid" });
    return again({ status: 400, box: errorBox(parsed.error, parsed.field) });
  }
  const input = parsed.value;
  const apply = step === "apply";
  const r = await attempt(
    client,
    () => apply ? applyReset(client, groupId, input) : planReset(client, groupId, input),
  );
  ctx.log(session, action, {
    cluster: client.cluster.name,
    group: groupId,
    topic: input.topic,
    strategy: input.strategy,
    partition: input.partition ?? "all",
    offsets: r.ok ? Object.fromEntries(r.value.map((m) => [m.partition, m.target])) : null,
    outcome: r.ok ? (apply ? "committed" : "previewed") : `refused ${r.status}`,
  });
  consoleMetrics.writes().inc({ action, outcome: r.ok ? "ok" : String(r.status) });
  if (!r.ok) return again(r);
  if (!apply) {
    return again({ box: resetPreview(client.cluster.name, groupId, session, form, r.value) });
  }
  return again({
    box: resultBox(
      `Committed new offsets of group ${groupId} on ${input.topic} (${r.value.length} partitions).`,
    ) + resetResult(r.value),
  });
}

/** The group page, its live lag and the offset reset. */
export const GROUP_ROUTES: Route<ClusterCall>[] = [
  {
    method: "GET",
    pattern: /^g\/([^/]+)$/,
    handle: (ctx, { client, session }, [groupId]) => groupPage(ctx, client, groupId, session),
  },
  {
    method: "GET",
    pattern: /^g\/([^/]+)\/lag$/,
    handle: (_ctx, { client }, [groupId]) =>
      livePart(
        client,
        async () =>
          groupDetail((await client.groups()).find((g) => g.groupId === groupId), groupId),
      ),
  },
  { method: "POST", pattern: /^g\/([^/]+)\/reset\/(preview|apply)$/, handle: reset },
];
