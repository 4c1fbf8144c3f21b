/**
 * A cluster's ACLs: `GET /c/<cluster>/acls` — every ACL the cluster holds, as the console's
 * principal may describe them (on the secure cluster: `admin`), one row per principal ×
 * resource (type, name, pattern) × operation × permission, filtered by `?q=` (a substring of
 * any column). A cluster without an authorizer is said so (it holds no ACLs).
 *
 * @example
 * ```ts
 * import { ACL_ROUTES } from "./acls.ts";
 * const page = ACL_ROUTES.find((r) => r.pattern.test("acls"));
 * ```
 * @module
 */
import { type AclEntry, errorText, listAcls } from "../../kafka/mod.ts";
import { attempt, type ClusterCall, type ConsoleContext, type Route } from "../context.ts";
import { esc, layout, url } from "../pages.ts";
import { aclsTable } from "../pages_operate.ts";
import { html } from "../respond.ts";

/** What `listAcls` answers on a cluster without an authorizer. */
const NO_AUTHORIZER = /SECURITY_DISABLED|Security features are disabled|no authorizer/i;

/** The ACLs, or `undefined` when the cluster has no authorizer. */
async function aclsOf(call: ClusterCall): Promise<AclEntry[] | undefined> {
  try {
    return await call.client.withAdmin("describing ACLs", listAcls);
  } catch (err) {
    if (NO_AUTHORIZER.test(errorText(err))) return undefined;
    throw err;
  }
}

async function aclsPage(ctx: ConsoleContext, call: ClusterCall): Promise<Response> {
  const c = call.client.cluster;
  const q = (call.url.searchParams.get("q") ?? "").trim();
  const head = `<hgroup><h2>ACLs of cluster ${esc(c.name)}</h2><p>${
    esc(c.description)
  } · <a href="${url.cluster(c.name)}">cluster page</a></p></hgroup>
<form class="inline" method="get" action="${url.acls(c.name)}" id="acl-filter">
<label>Filter <input name="q" value="${esc(q)}" placeholder="User:producer, topic-1, READ…"></label>
<button type="submit">Show</button></form>`;
  const r = await attempt(call.client, () => aclsOf(call));
  const frame = ctx.frame(`ACLs of ${c.name}`, call.session, c.name);
  if (!r.ok) return html(layout(frame, head + r.box), r.status);
  if (r.value === undefined) {
    return html(layout(
      frame,
      `${head}<p id="no-authorizer">Cluster ${
        esc(c.name)
      } has no authorizer: it holds no ACLs and lets every client do everything.</p>`,
    ));
  }
  const shown = r.value.filter((a) =>
    Object.values(a).some((v) => v.toLowerCase().includes(q.toLowerCase()))
  );
  return html(layout(frame, head + aclsTable(shown)));
}

/** The ACL page. */
export const ACL_ROUTES: Route<ClusterCall>[] = [
  { method: "GET", pattern: /^acls$/, handle: aclsPage },
];
