/**
 * The console's route table and the way a request goes through it: public routes first
 * (assets, `/metrics`, `/healthz`, login), then the session gate (no session: a redirect to
 * `/login`, or 401 for htmx; a POST needs its session's CSRF token and is at most 2 MB; other
 * methods than GET, HEAD and POST: 405), then the session's routes (`/`, logout), the role gate
 * (a POST elsewhere needs the `admin` role) and last the routes of a cluster under
 * `/c/<cluster>/…`. What matches nothing is a 404 page naming the path.
 *
 * @example
 * ```ts
 * import { createConsoleContext } from "./context.ts";
 * import { routeRequest } from "./router.ts";
 * const ctx = createConsoleContext({ users, clusters });
 * Deno.serve((req, info) => routeRequest(ctx, req, info.remoteAddr.hostname));
 * ```
 * @module
 */
import { csrfMatches, sessionIdOf } from "./auth.ts";
import {
  type Call,
  type ClusterCall,
  type ConsoleContext,
  consoleMetrics,
  type Route,
  type SessionCall,
} from "./context.ts";
import { errorBox, layout, url } from "./pages.ts";
import { html, redirect } from "./respond.ts";
import { ACL_ROUTES } from "./routes/acls.ts";
import { ASSET_ROUTES } from "./routes/assets.ts";
import { CLUSTER_ROUTES } from "./routes/cluster.ts";
import { CONNECT_ROUTES } from "./routes/connect.ts";
import { GROUP_ROUTES } from "./routes/groups.ts";
import { LOGIN_ROUTES, LOGOUT_ROUTE } from "./routes/login.ts";
import { OPS_ROUTES } from "./routes/ops.ts";
import { REGISTRY_ROUTES } from "./routes/registry.ts";
import { TOPIC_ROUTES } from "./routes/topics.ts";

/** Routes answered without a session. */
export const PUBLIC_ROUTES: Route<Call>[] = [...ASSET_ROUTES, ...OPS_ROUTES, ...LOGIN_ROUTES];

/** Routes of a logged-in user outside a cluster. */
export const SESSION_ROUTES: Route<SessionCall>[] = [
  LOGOUT_ROUTE,
  {
    method: "GET",
    pattern: /^\/$/,
    handle: (ctx) => redirect(url.cluster(ctx.clusters[0].name)),
  },
];

/** Routes under `/c/<cluster>/`, matched against the rest of the path. */
export const CLUSTER_SCOPED_ROUTES: Route<ClusterCall>[] = [
  ...CLUSTER_ROUTES,
  ...TOPIC_ROUTES,
  ...GROUP_ROUTES,
  ...CONNECT_ROUTES,
  ...REGISTRY_ROUTES,
  ...ACL_ROUTES,
];

/** The first route of `routes` answering `method` on `path`, with its params decoded. */
function find<C extends Call>(
  routes: Route<C>[],
  method: string,
  path: string,
): { route: Route<C>; params: string[] } | undefined {
  for (const route of routes) {
    if (route.method !== undefined && route.method !== method) continue;
    const m = path.match(route.pattern);
    if (m) return { route, params: m.slice(1).map((p) => decodeURIComponent(p ?? "")) };
  }
  return undefined;
}

/** A page of the console with one error box. */
function errorPage(
  ctx: ConsoleContext,
  call: SessionCall,
  title: string,
  status: number,
  box: string,
): Response {
  return html(layout(ctx.frame(title, call.session), box), status);
}

/** The session of `call`, its POST form read and CSRF-checked; or the answer refusing it. */
async function signIn(ctx: ConsoleContext, call: Call): Promise<SessionCall | Response> {
  const { req, path, method } = call;
  const session = ctx.sessions.get(sessionIdOf(req.headers.get("cookie")));
  if (!session) {
    if (req.headers.get("hx-request")) {
      return new Response("session expired", {
        status: 401,
        headers: { "hx-redirect": "/login" },
      });
    }
    const next = method === "GET" ? `${path}${call.url.search}` : "/";
    return redirect(`/login?next=${encodeURIComponent(next)}`);
  }
  const signedIn: SessionCall = { ...call, session, form: new URLSearchParams() };
  if (method !== "POST") {
    if (method !== "GET" && method !== "HEAD") {
      return new Response("method not allowed\n", { status: 405 });
    }
    return signedIn;
  }
  if (Number(req.headers.get("content-length") ?? "0") > 2_000_000) {
    return errorPage(ctx, signedIn, "Too large", 413, errorBox("over 2 MB", "body"));
  }
  signedIn.form = new URLSearchParams(await req.text());
  if (!csrfMatches(session, signedIn.form.get("_csrf") ?? req.headers.get("x-csrf-token"))) {
    consoleMetrics.writes().inc({ action: path, outcome: "csrf" });
    ctx.log(session, "refused-csrf", { path });
    const why = "the form has no valid CSRF token: reload the page and send it again";
    return errorPage(ctx, signedIn, "Forbidden", 403, errorBox(why, "_csrf"));
  }
  return signedIn;
}

/** 403 for a POST of a user without the admin role, else undefined. */
function refuseRole(ctx: ConsoleContext, call: SessionCall): Response | undefined {
  const { session, path } = call;
  if (session.role === "admin") return undefined;
  consoleMetrics.writes().inc({ action: path, outcome: "forbidden" });
  ctx.log(session, "refused-role", { path });
  const why = `user ${session.user} is a ${session.role}: writes need the admin role`;
  return errorPage(ctx, call, "Forbidden", 403, errorBox(why, "role"));
}

/** The routes of the cluster `/c/<cluster>/…` names (404 for a cluster the console lacks). */
async function routeCluster(ctx: ConsoleContext, call: SessionCall): Promise<Response> {
  const notFound = () =>
    errorPage(ctx, call, "Not found", 404, errorBox(`no page ${call.path}`, "path"));
  const m = call.path.match(/^\/c\/([^/]+)(?:\/(.*))?$/);
  if (!m) return notFound();
  const clusterName = decodeURIComponent(m[1]);
  const client = ctx.clients.get(clusterName);
  if (!client) {
    const known = ctx.clusters.map((c) => c.name).join(", ");
    const why = `no cluster '${clusterName}': this console knows ${known}`;
    return errorPage(ctx, call, "Not found", 404, errorBox(why, "cluster"));
  }
  const found = find(CLUSTER_SCOPED_ROUTES, call.method, m[2] ?? "");
  if (!found) return notFound();
  return await found.route.handle(ctx, { ...call, client }, found.params);
}

/** The console's answer to `req` from the client at `ip` (see the module doc). */
export async function routeRequest(
  ctx: ConsoleContext,
  req: Request,
  ip: string,
): Promise<Response> {
  const u = new URL(req.url);
  const call: Call = { req, url: u, path: u.pathname, method: req.method, ip };
  const open = find(PUBLIC_ROUTES, call.method, call.path);
  if (open) return await open.route.handle(ctx, call, open.params);
  const signedIn = await signIn(ctx, call);
  if (signedIn instanceof Response) return signedIn;
  const found = find(SESSION_ROUTES, call.method, call.path);
  if (call.method === "POST" && !found?.route.anyRole) {
    const refused = refuseRole(ctx, signedIn);
    if (refused) return refused;
  }
  if (found) return await found.route.handle(ctx, signedIn, found.params);
  return await routeCluster(ctx, signedIn);
}
