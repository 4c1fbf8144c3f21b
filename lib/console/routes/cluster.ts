/**
 * A cluster's pages: `GET /c/<cluster>` (links to its Connect clusters, schema registry and
 * ACLs; brokers, topics with a filter, consumer groups — each a live part — and the
 * create-topic form for admins), the live parts `…/brokers`,
 * `…/topics?q=` and `…/groups`, and `POST …/topics` (creates a topic: the form checked against
 * the brokers up, the write audited; the new topic's page, or this page with the field at
 * fault).
 *
 * @example
 * ```ts
 * import { CLUSTER_ROUTES } from "./cluster.ts";
 * const home = CLUSTER_ROUTES.find((r) => r.pattern.test(""));
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
import { parseCreateTopic } from "../forms.ts";
import {
  brokersTable,
  createTopicForm,
  errorBox,
  esc,
  groupsTable,
  layout,
  live,
  resultBox,
  topicsTable,
  url,
} from "../pages.ts";
import { operateLinks } from "../pages_operate.ts";
import { html } from "../respond.ts";
import { livePart } from "./live.ts";
import { type PageExtra, topicPage } from "./topics.ts";

/** A cluster's page (see the module doc); `extra` comes from a write. */
export function clusterPage(
  ctx: ConsoleContext,
  client: ClusterClient,
  session: Session,
  extra: PageExtra = {},
): Response {
  const c = client.cluster;
  const base = url.cluster(c.name);
  const body = `<hgroup><h2>Cluster ${esc(c.name)}</h2><p>${esc(c.description)} · ${
    esc(c.options.brokers.join(", "))
  }</p></hgroup>${operateLinks(c)}${extra.box ?? ""}
<h3>Brokers</h3>${live("brokers", `${base}/brokers`)}
<h3>Topics</h3>
${session.role === "admin" ? createTopicForm(c.name, session, extra.form) : ""}
<input type="search" name="q" placeholder="Filter topics" hx-get="${base}/topics" hx-trigger="input changed delay:300ms" hx-target="#topics">
${live("topics", `${base}/topics`)}
<h3>Consumer groups</h3>${live("groups", `${base}/groups`)}`;
  return html(layout(ctx.frame(c.name, session, c.name), body), extra.status ?? 200);
}

/** `POST …/topics`: checks the form against the brokers up, creates the topic, audits. */
async function createTopic(
  ctx: ConsoleContext,
  { client, session, form }: ClusterCall,
): Promise<Response> {
  const brokers = await attempt(client, () => client.brokers());
  if (!brokers.ok) return clusterPage(ctx, client, session, { ...brokers, form });
  const parsed = parseCreateTopic(form, brokers.value.brokers.filter((b) => b.up).length);
  if (!parsed.ok) {
    consoleMetrics.writes().inc({ action: "create-topic", outcome: "invalid" });
    return clusterPage(ctx, client, session, {
      status: 400,
      box: errorBox(parsed.error, parsed.field),
      form,
    });
  }
  const topic = parsed.value;
  const r = await attempt(client, () => client.createTopic(topic));
  ctx.log(session, "create-topic", {
    cluster: client.cluster.name,
    topic: topic.topic,
    partitions: topic.numPartitions,
    replicationFactor: topic.replicationFactor,
    configs: Object.fromEntries(topic.configEntries.map((e) => [e.name, e.value])),
    outcome: r.ok ? "created" : `refused ${r.status}`,
  });
  consoleMetrics.writes().inc({ action: "create-topic", outcome: r.ok ? "ok" : String(r.status) });
  if (!r.ok) return clusterPage(ctx, client, session, { ...r, form });
  return await topicPage(ctx, client, topic.topic, session, new URLSearchParams(), {
    status: 201,
    box: resultBox(
      `Created topic ${topic.topic}: ${topic.numPartitions} partitions, RF ${topic.replicationFactor}.`,
    ),
  });
}

/** The cluster page, its live parts and the create-topic form's target. */
export const CLUSTER_ROUTES: Route<ClusterCall>[] = [
  { method: "GET", pattern: /^$/, handle: (ctx, c) => clusterPage(ctx, c.client, c.session) },
  {
    method: "GET",
    pattern: /^brokers$/,
    handle: (_ctx, { client }) =>
      livePart(client, async () => {
        const b = await client.brokers();
        return brokersTable(b.clusterId, b.brokers);
      }),
  },
  {
    method: "GET",
    pattern: /^topics$/,
    handle: (_ctx, call) =>
      livePart(call.client, async () =>
        topicsTable(
          call.client.cluster.name,
          await call.client.topics(call.url.searchParams.get("q") ?? ""),
        )),
  },
  {
    method: "GET",
    pattern: /^groups$/,
    handle: (_ctx, { client }) =>
      livePart(client, async () => groupsTable(client.cluster.name, await client.groups())),
  },
  { method: "POST", pattern: /^topics$/, handle: createTopic },
];
