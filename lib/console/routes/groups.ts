/**
 * A consumer group's page: `GET /c/<cluster>/g/<group>` (the frame around a live part) and
 * `GET …/g/<group>/lag` (that part: members and lag per partition).
 *
 * @example
 * ```ts
 * import { GROUP_ROUTES } from "./groups.ts";
 * const lag = GROUP_ROUTES.find((r) => r.pattern.test("g/orders-app/lag"));
 * ```
 * @module
 */
import type { ClusterCall, Route } from "../context.ts";
import { esc, groupDetail, layout, live, url } from "../pages.ts";
import { html } from "../respond.ts";
import { livePart } from "./live.ts";

/** The group page and its live lag. */
export const GROUP_ROUTES: Route<ClusterCall>[] = [
  {
    method: "GET",
    pattern: /^g\/([^/]+)$/,
    handle: (ctx, { client, session }, [groupId]) => {
      const clusterName = client.cluster.name;
      return html(layout(
        ctx.frame(groupId, session, clusterName),
        `<hgroup><h2>Consumer group ${esc(groupId)}</h2><p>on cluster <a href="${
          url.cluster(clusterName)
        }">${esc(clusterName)}</a></p></hgroup>${
          live("group", `${url.group(clusterName, groupId)}/lag`)
        }`,
      ));
    },
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
];
