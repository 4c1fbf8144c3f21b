/**
 * A topic's pages: `GET /c/<cluster>/t/<topic>` (partitions live, configs, messages newest
 * first with the browse form, the produce form for admins), `GET …/t/<topic>/partitions` (the
 * live part) and `POST …/t/<topic>/produce` (a test message, checked against the topic's schema,
 * audited; the page again with the result or the field at fault).
 *
 * @example
 * ```ts
 * import { topicPage } from "./topics.ts";
 * const res = await topicPage(ctx, client, "orders", session, new URLSearchParams());
 * ```
 * @module
 */
import type { Session } from "../auth.ts";
import type { ClusterClient, PartitionRow } from "../clusters.ts";
import {
  attempt,
  type ClusterCall,
  type ConsoleContext,
  consoleMetrics,
  type Route,
} from "../context.ts";
import { valueProblem } from "../decode.ts";
import { parseBrowse, parseProduce } from "../forms.ts";
import {
  browseForm,
  configsTable,
  errorBox,
  esc,
  layout,
  live,
  messagesList,
  partitionsTable,
  produceForm,
  resultBox,
  url,
} from "../pages.ts";
import { html } from "../respond.ts";
import { livePart } from "./live.ts";

/** What a page shows above its content after a write: status, a result or error box, the form. */
export interface PageExtra {
  status?: number;
  box?: string;
  form?: URLSearchParams;
}

/** The messages of a topic page as `q` asks for them, and the status they make the page. */
async function messagesPart(
  client: ClusterClient,
  topic: string,
  q: URLSearchParams,
  parts: PartitionRow[],
): Promise<{ html: string; status?: number; badQuery?: boolean }> {
  const browse = parseBrowse(q, parts.length);
  if (!browse.ok) {
    return { html: errorBox(browse.error, browse.field), status: 400, badQuery: true };
  }
  const read = await attempt(client, () => client.browse(topic, browse.value, parts));
  if (!read.ok) return { status: read.status, html: read.box };
  return {
    html:
      (read.value.partial
        ? '<p class="warn">Some partitions did not answer in time: showing what arrived.</p>'
        : "") + messagesList(client.cluster.name, topic, read.value.messages),
  };
}

/** A topic's page (see the module doc); `extra` comes from a write. */
export async function topicPage(
  ctx: ConsoleContext,
  client: ClusterClient,
  topic: string,
  session: Session,
  q: URLSearchParams,
  extra: PageExtra = {},
): Promise<Response> {
  const c = client.cluster;
  const f = ctx.frame(topic, session, c.name);
  const parts = await attempt(client, () => client.partitions(topic));
  const head = `<hgroup><h2>${esc(topic)}</h2><p>topic on cluster <a href="${
    url.cluster(c.name)
  }">${esc(c.name)}</a></p></hgroup>`;
  if (!parts.ok) {
    return html(layout(f, head + (extra.box ?? "") + parts.box), parts.status);
  }
  const messages = await messagesPart(client, topic, q, parts.value);
  // A browse mistake (400) wins over the write's status; a failed read only over a plain 200.
  let status = extra.status ?? 200;
  if (messages.status !== undefined && (messages.badQuery || status === 200)) {
    status = messages.status;
  }
  const configs = await attempt(client, () => client.configs(topic));
  const body = `${head}${extra.box ?? ""}
<h3>Partitions</h3>${
    live("partitions", `${url.topic(c.name, topic)}/partitions`, partitionsTable(parts.value))
  }
<details><summary>Configs</summary>${
    configs.ok ? configsTable(configs.value) : configs.box
  }</details>
${session.role === "admin" ? produceForm(c.name, topic, session, extra.form) : ""}
<h3 id="messages">Messages <small>(newest first)</small></h3>
${browseForm(c.name, topic, parts.value.length, q)}
<div id="message-list">${messages.html}</div>`;
  return html(layout(f, body), status);
}

/** `POST …/t/<topic>/produce`: checks the form and the value, produces, audits. */
async function produce(
  ctx: ConsoleContext,
  { client, session, form }: ClusterCall,
  [topic]: string[],
): Promise<Response> {
  const again = (extra: PageExtra) =>
    topicPage(ctx, client, topic, session, new URLSearchParams(), extra);
  const parts = await attempt(client, () => client.partitions(topic));
  if (!parts.ok) return await again({ ...parts, form });
  const parsed = parseProduce(form, parts.value.length);
  const problem = parsed.ok ? valueProblem(topic, parsed.value.value) : undefined;
  if (!parsed.ok || problem) {
    consoleMetrics.writes().inc({ action: "produce", outcome: "invalid" });
    const box = parsed.ok ? errorBox(problem!, "value") : errorBox(parsed.error, parsed.field);
    return await again({ status: 400, box, form });
  }
  const r = await attempt(client, () => client.produce(topic, parsed.value));
  ctx.log(session, "produce", {
    cluster: client.cluster.name,
    topic,
    partition: r.ok ? r.value.partition : parsed.value.partition ?? null,
    offset: r.ok ? r.value.offset : null,
    key: parsed.value.key,
    bytes: new TextEncoder().encode(parsed.value.value).length,
    outcome: r.ok ? "produced" : `refused ${r.status}`,
  });
  consoleMetrics.writes().inc({ action: "produce", outcome: r.ok ? "ok" : String(r.status) });
  if (!r.ok) return await again({ ...r, form });
  return await again({
    box: resultBox(
      `Produced to ${topic} partition ${r.value.partition} at offset ${r.value.offset}.`,
    ),
  });
}

/** The topic page, its live partitions and the produce form's target. */
export const TOPIC_ROUTES: Route<ClusterCall>[] = [
  {
    method: "GET",
    pattern: /^t\/([^/]+)$/,
    handle: (ctx, call, [topic]) =>
      topicPage(ctx, call.client, topic, call.session, call.url.searchParams),
  },
  {
    method: "GET",
    pattern: /^t\/([^/]+)\/partitions$/,
    handle: (_ctx, { client }, [topic]) =>
      livePart(client, async () => partitionsTable(await client.partitions(topic))),
  },
  { method: "POST", pattern: /^t\/([^/]+)\/produce$/, handle: produce },
];
