/**
 * A Kafka Connect cluster's page: `GET /c/<cluster>/connect/<name>` (every connector with its
 * state and config class, each task's state and error trace, collapsed) and, for admins,
 * `POST …/connect/<name>/<connector>/pause|resume|restart` (restart includes the tasks): the
 * action is sent to Connect's REST API and audited; the page again with what Connect answered.
 * A Connect cluster that does not answer is said so on the page (503).
 *
 * @example
 * ```ts
 * import { CONNECT_ROUTES } from "./connect.ts";
 * const page = CONNECT_ROUTES.find((r) => r.pattern.test("connect/connect"));
 * ```
 * @module
 */
import { ConnectClient, ConnectError } from "../../connect/mod.ts";
import type { Session } from "../auth.ts";
import type { ClusterClient } from "../clusters.ts";
import { type ClusterCall, type ConsoleContext, consoleMetrics, type Route } from "../context.ts";
import { errorBox, esc, layout, resultBox, url } from "../pages.ts";
import { connectorsTable } from "../pages_operate.ts";
import { html } from "../respond.ts";
import type { ConnectTarget } from "../services.ts";
import type { PageExtra } from "./topics.ts";

/** Connect's failure as the status and box a page shows. */
function failure(target: ConnectTarget, err: unknown): { status: number; box: string } {
  if (!(err instanceof ConnectError)) {
    return { status: 502, box: errorBox(`Kafka Connect answered: ${String(err)}`, "connect") };
  }
  if (err.status === 0) {
    return {
      status: 503,
      box: `<p class="err" id="error" data-field="connect"><strong>Kafka Connect ${
        esc(target.name)
      } is unreachable</strong> (${esc(target.url)}): ${esc(err.message)}</p>`,
    };
  }
  const field = err.status === 404 ? "connector" : "connect";
  return {
    status: err.status === 404 || err.status === 409 ? err.status : 502,
    box: errorBox(err.message, field),
  };
}

/** The Connect cluster `name` of the call's cluster, or the 404 page naming it. */
function targetOf(ctx: ConsoleContext, call: ClusterCall, name: string): ConnectTarget | Response {
  const c = call.client.cluster;
  const target = c.connect?.find((t) => t.name === name);
  if (target) return target;
  const known = (c.connect ?? []).map((t) => t.name).join(", ") || "none";
  const why = `no Connect cluster '${name}' on cluster ${c.name} (it has ${known}): ` +
    "start the stack's with `deno task stack up --connect` or set CONSOLE_CONNECT";
  return html(layout(ctx.frame("Not found", call.session, c.name), errorBox(why, "connect")), 404);
}

/** The Connect page (see the module doc); `extra` comes from an action. */
async function connectPage(
  ctx: ConsoleContext,
  client: ClusterClient,
  target: ConnectTarget,
  session: Session,
  extra: PageExtra = {},
): Promise<Response> {
  const c = client.cluster;
  const connect = new ConnectClient({ url: target.url, timeoutMs: client.timeoutMs });
  let body: string;
  let status = extra.status ?? 200;
  try {
    const [info, overview] = await Promise.all([connect.info(), connect.overview()]);
    body = `<p><small>Kafka Connect ${esc(info.version)} · Kafka cluster id ${
      esc(info.kafka_cluster_id)
    } · read ${new Date().toISOString().slice(11, 19)}</small></p>${
      connectorsTable(c.name, target, overview, session)
    }`;
  } catch (err) {
    const f = failure(target, err);
    body = f.box;
    if (status === 200) status = f.status;
  }
  const head = `<hgroup><h2>Kafka Connect ${esc(target.name)}</h2><p>${
    esc(target.url)
  } · beside cluster <a href="${url.cluster(c.name)}">${esc(c.name)}</a> · <a href="${
    url.connect(c.name, target.name)
  }">reload</a></p></hgroup>`;
  return html(
    layout(ctx.frame(`Connect ${target.name}`, session, c.name), head + (extra.box ?? "") + body),
    status,
  );
}

/** `POST …/connect/<name>/<connector>/<action>`: sends the action to Connect, audits. */
async function act(
  ctx: ConsoleContext,
  call: ClusterCall,
  [name, connector, action]: string[],
): Promise<Response> {
  const target = targetOf(ctx, call, name);
  if (target instanceof Response) return target;
  const connect = new ConnectClient({ url: target.url, timeoutMs: call.client.timeoutMs });
  let extra: PageExtra;
  try {
    await connect.status(connector);
    if (action === "pause") await connect.pause(connector);
    else if (action === "resume") await connect.resume(connector);
    else await connect.restart(connector, { includeTasks: true });
    extra = {
      box: resultBox(
        `Sent ${action} of connector ${connector} to Connect ${target.name}; Connect applies it ` +
          "in the background (reload to see the new state).",
      ),
    };
  } catch (err) {
    extra = failure(target, err);
  }
  ctx.log(call.session, `connect-${action}`, {
    cluster: call.client.cluster.name,
    connect: target.name,
    connector,
    outcome: extra.status ? `refused ${extra.status}` : "sent",
  });
  consoleMetrics.writes().inc({
    action: `connect-${action}`,
    outcome: extra.status ? String(extra.status) : "ok",
  });
  return await connectPage(ctx, call.client, target, call.session, extra);
}

/** The Connect page and its actions. */
export const CONNECT_ROUTES: Route<ClusterCall>[] = [
  {
    method: "GET",
    pattern: /^connect\/([^/]+)$/,
    handle: (ctx, call, [name]) => {
      const target = targetOf(ctx, call, name);
      return target instanceof Response
        ? target
        : connectPage(ctx, call.client, target, call.session);
    },
  },
  { method: "POST", pattern: /^connect\/([^/]+)\/([^/]+)\/(pause|resume|restart)$/, handle: act },
];
