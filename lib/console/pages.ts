/**
 * The console's pages, rendered on the server as HTML strings: Pico CSS for the look and htmx
 * for the live parts (brokers, topics, partitions and groups reload every few seconds without a
 * page reload), both served from their npm packages by the console itself — no CDN. Every value
 * from Kafka or the user goes through {@linkcode esc}.
 *
 * @example
 * ```ts
 * import { loginPage } from "./pages.ts";
 * const html = loginPage({ error: "Wrong user name or password" });
 * ```
 * @module
 */
import type { Session } from "./auth.ts";
import type {
  BrokerRow,
  BrowsedMessage,
  ConsoleCluster,
  GroupRow,
  PartitionRow,
  TopicRow,
} from "./clusters.ts";
import { decodeRecord, schemaOf } from "./decode.ts";

/** HTML-escapes a value. */
export function esc(value: unknown): string {
  return String(value ?? "").replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

/** URL of a cluster page (`/c/main`), a topic (`/c/main/t/orders`), a group… */
export const url = {
  cluster: (c: string) => `/c/${encodeURIComponent(c)}`,
  topic: (c: string, t: string) => `/c/${encodeURIComponent(c)}/t/${encodeURIComponent(t)}`,
  group: (c: string, g: string) => `/c/${encodeURIComponent(c)}/g/${encodeURIComponent(g)}`,
  connect: (c: string, name: string) =>
    `/c/${encodeURIComponent(c)}/connect/${encodeURIComponent(name)}`,
  schemas: (c: string) => `/c/${encodeURIComponent(c)}/schemas`,
  subject: (c: string, s: string) => `/c/${encodeURIComponent(c)}/schemas/${encodeURIComponent(s)}`,
  acls: (c: string) => `/c/${encodeURIComponent(c)}/acls`,
};

/** How often the live parts reload (seconds). */
export const REFRESH_SECONDS = 3;

/** What every page around its content needs. */
export interface Frame {
  title: string;
  session?: Session;
  clusters?: ConsoleCluster[];
  current?: string;
}

/** The page around `body`: header with clusters and user, htmx sending the CSRF token. */
export function layout(frame: Frame, body: string): string {
  const { title, session, clusters = [], current } = frame;
  const nav = session
    ? `<nav><ul><li><strong>Kafka console</strong></li>${
      clusters.map((c) =>
        `<li><a href="${url.cluster(c.name)}"${c.name === current ? ' aria-current="page"' : ""}>${
          esc(c.name)
        }</a></li>`
      ).join("")
    }</ul><ul><li><small>${esc(session.user)} (${esc(session.role)})</small></li>
<li><form method="post" action="/logout" style="margin:0"><input type="hidden" name="_csrf" value="${
      esc(session.csrf)
    }"><button class="secondary outline" style="padding:2px 10px" id="logout">Log out</button></form></li></ul></nav>`
    : `<nav><ul><li><strong>Kafka console</strong></li></ul></nav>`;
  const csrf = session ? ` hx-headers='{"X-CSRF-Token": "${esc(session.csrf)}"}'` : "";
  return `<!doctype html><html lang="en" data-theme="light"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · Kafka console</title>
<link rel="stylesheet" href="/assets/pico.min.css">
<style>
body{font-size:15px} main.container{max-width:1400px} table{font-size:14px}
td,th{padding:4px 8px} .down{color:#c62828;font-weight:600} .ok{color:#2e7d32}
.warn{color:#e65100} pre{margin:0;padding:6px;font-size:13px;max-height:320px;overflow:auto}
.err{border-left:4px solid #c62828;padding:8px 12px;background:#fdecea;margin:8px 0}
.msg{border-left:4px solid #2e7d32;padding:8px 12px;background:#e8f5e9;margin:8px 0}
.dlq{border-left:4px solid #e65100;padding:6px 10px;background:#fff3e0}
form.inline{display:flex;gap:8px;align-items:end;flex-wrap:wrap} form.inline label{margin:0}
form.inline input,form.inline select{margin:0;padding:4px 8px;height:auto}
</style>
<script src="/assets/htmx.min.js"></script></head>
<body${csrf}><header class="container">${nav}</header>
<main class="container">${body}</main></body></html>`;
}

/** The login form; `error` is always the same generic line (no user enumeration). */
export function loginPage(options: { error?: string; next?: string; user?: string } = {}) {
  return layout(
    { title: "Log in" },
    `<article style="max-width:420px;margin:40px auto"><h2>Log in</h2>
${options.error ? `<p class="err" id="login-error">${esc(options.error)}</p>` : ""}
<form method="post" action="/login">
<input type="hidden" name="next" value="${esc(options.next ?? "/")}">
<label>User <input name="user" autocomplete="username" required value="${
      esc(options.user ?? "")
    }"></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit" id="login">Log in</button></form></article>`,
  );
}

/** A failure box (`id="error"`), naming the field when there is one. */
export function errorBox(error: string, field?: string): string {
  return `<div class="err" id="error"${field ? ` data-field="${esc(field)}"` : ""}>${
    field ? `<strong>${esc(field)}</strong>: ` : ""
  }${esc(error)}</div>`;
}

/** A success box (`id="result"`). */
export function resultBox(text: string): string {
  return `<div class="msg" id="result">${esc(text)}</div>`;
}

/** A cluster that did not answer, as the live parts show it. */
export function downBox(cluster: ConsoleCluster, error: string): string {
  return `<p class="err cluster-down" id="cluster-down"><strong>Cluster ${
    esc(cluster.name)
  } is unreachable</strong> (${esc(cluster.options.brokers.join(","))}): ${
    esc(error)
  }. This page retries every ${REFRESH_SECONDS} s.</p>`;
}

/** A part of a page that htmx reloads every {@linkcode REFRESH_SECONDS} seconds. */
export function live(id: string, src: string, inner = '<p aria-busy="true">Loading…</p>') {
  return `<div id="${esc(id)}" hx-get="${
    esc(src)
  }" hx-trigger="load, every ${REFRESH_SECONDS}s" hx-swap="innerHTML">${inner}</div>`;
}

/** The brokers table. */
export function brokersTable(clusterId: string, brokers: BrokerRow[]): string {
  const rows = brokers.map((b) =>
    `<tr data-broker="${b.id}" data-up="${b.up}"><td>${b.id}</td><td>${esc(b.host)}:${b.port}</td>
<td>${b.up ? '<span class="ok">up</span>' : '<span class="down">DOWN</span>'}</td>
<td>${b.controller ? "controller" : ""}</td><td>${b.leaderOf}</td><td>${b.replicas}</td>
<td${b.outOfSync ? ' class="warn"' : ""}>${b.outOfSync}</td></tr>`
  ).join("");
  return `<small>cluster id ${esc(clusterId)} · ${
    brokers.filter((b) => b.up).length
  } brokers up · updated ${new Date().toISOString().slice(11, 19)}</small>
<table class="striped" id="brokers-table"><thead><tr><th>id</th><th>address</th><th>state</th><th>role</th>
<th>partitions led</th><th>replicas</th><th>replicas out of ISR</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** The topics table. */
export function topicsTable(cluster: string, topics: TopicRow[]): string {
  const rows = topics.map((t) =>
    `<tr data-topic="${esc(t.name)}"><td><a href="${url.topic(cluster, t.name)}">${
      esc(t.name)
    }</a>${t.name.endsWith(".dlq") ? " <mark>DLQ</mark>" : ""}</td><td>${t.partitions}</td>
<td>${t.replicationFactor}</td><td${
      t.underReplicated ? ' class="warn"' : ""
    }>${t.underReplicated}</td>
<td class="count">${t.messages < 0 ? "?" : t.messages}</td><td>${
      esc(schemaOf(t.name)?.name ?? "")
    }</td></tr>`
  ).join("");
  return `<table class="striped" id="topics-table"><thead><tr><th>topic</th><th>partitions</th><th>RF</th>
<th>under-replicated</th><th>messages</th><th>schema</th></tr></thead><tbody>${rows}</tbody></table>
${topics.length === 0 ? "<p>No topics.</p>" : ""}`;
}

/** The consumer groups table with their total lag. */
export function groupsTable(cluster: string, groups: GroupRow[]): string {
  if (groups.length === 0) return "<p>No consumer groups.</p>";
  const rows = groups.map((g) =>
    `<tr data-group="${esc(g.groupId)}"><td><a href="${url.group(cluster, g.groupId)}">${
      esc(g.groupId)
    }</a></td><td>${esc(g.state)}</td><td>${g.members.length}</td><td>${
      new Set(g.lag.map((l) => l.topic)).size
    }</td><td class="lag">${g.totalLag}</td></tr>`
  ).join("");
  return `<table class="striped" id="groups-table"><thead><tr><th>group</th><th>state</th><th>members</th>
<th>topics</th><th>total lag</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** One group: members and lag per partition. */
export function groupDetail(g: GroupRow | undefined, groupId: string): string {
  if (!g) return errorBox(`no consumer group '${groupId}'`, "group");
  const members = g.members.map((m) =>
    `<tr><td>${esc(m.clientId)}</td><td>${esc(m.host)}</td><td>${
      esc(m.assigned.join(", "))
    }</td></tr>`
  ).join("");
  const lag = g.lag.map((l) =>
    `<tr data-partition="${esc(l.topic)}/${l.partition}"><td>${
      esc(l.topic)
    }</td><td>${l.partition}</td>
<td>${esc(l.committed)}</td><td>${esc(l.high)}</td><td class="lag">${l.lag}</td></tr>`
  ).join("");
  return `<p>state <strong>${
    esc(g.state)
  }</strong> · ${g.members.length} members · total lag <strong>${g.totalLag}</strong></p>
<h4>Members</h4><table class="striped"><thead><tr><th>client</th><th>host</th><th>partitions</th></tr></thead>
<tbody>${members}</tbody></table>
<h4>Lag per partition</h4><table class="striped" id="lag-table"><thead><tr><th>topic</th><th>partition</th>
<th>committed</th><th>end offset</th><th>lag</th></tr></thead><tbody>${lag}</tbody></table>`;
}

/** The partitions table of a topic. */
export function partitionsTable(parts: PartitionRow[]): string {
  const rows = parts.map((p) => {
    const shrunk = p.isr.length < p.replicas.length;
    return `<tr data-partition="${p.partition}"><td>${p.partition}</td><td>${
      p.leader < 0 ? '<span class="down">none</span>' : p.leader
    }</td><td>${p.replicas.join(", ")}</td><td class="isr${shrunk ? " warn" : ""}">${
      p.isr.join(", ")
    }</td><td>${p.offline.join(", ")}</td><td>${esc(p.low)}</td><td>${
      esc(p.high)
    }</td><td>${p.messages}</td></tr>`;
  }).join("");
  return `<table class="striped" id="partitions-table"><thead><tr><th>partition</th><th>leader</th><th>replicas</th>
<th>ISR</th><th>offline</th><th>first offset</th><th>end offset</th><th>messages</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** The configs table of a topic. */
export function configsTable(configs: { name: string; value: string; source: string }[]): string {
  return `<table class="striped" id="configs-table"><thead><tr><th>config</th><th>value</th></tr></thead><tbody>${
    configs.map((c) => `<tr><td>${esc(c.name)}</td><td>${esc(c.value)}</td></tr>`).join("")
  }</tbody></table>`;
}

function shown(label: string, s: { kind: string; text: string; bytes: number }): string {
  return `<div><small>${label} · ${s.kind}${s.bytes ? `, ${s.bytes} B` : ""}</small><pre>${
    esc(s.text)
  }</pre></div>`;
}

/** Messages, newest first, decoded (schema check, DLQ reason with a link to the source). */
export function messagesList(cluster: string, topic: string, messages: BrowsedMessage[]): string {
  if (messages.length === 0) return '<p id="no-messages">No messages in this range.</p>';
  return messages.map((m) => {
    const v = decodeRecord(topic, m.key, m.value, m.headers);
    const dl = v.deadLetter;
    const source = dl?.sourceTopic !== undefined && dl.sourcePartition !== undefined &&
        dl.sourceOffset !== undefined
      ? `<a class="dlq-source" href="${
        url.topic(cluster, dl.sourceTopic)
      }?partition=${dl.sourcePartition}&offset=${encodeURIComponent(dl.sourceOffset)}#messages">${
        esc(dl.sourceTopic)
      } / ${dl.sourcePartition} @ ${esc(dl.sourceOffset)}</a>`
      : "";
    const headers = Object.entries(m.headers);
    return `<article class="message" data-partition="${m.partition}" data-offset="${esc(m.offset)}">
<header><strong>partition ${m.partition} · offset ${esc(m.offset)}</strong> · ${
      esc(new Date(m.timestamp).toISOString())
    }${
      v.schema
        ? v.schema.ok
          ? ` · <span class="ok">✓ ${esc(v.schema.name)} schema</span>`
          : ` · <span class="warn">✗ ${esc(v.schema.name)} schema: ${esc(v.schema.error)}</span>`
        : ""
    }</header>
${
      dl
        ? `<div class="dlq dlq-reason"><strong>Dead letter</strong> — reason: <span class="reason">${
          esc(dl.error)
        }</span>${dl.stage ? ` · stage ${esc(dl.stage)}` : ""}${
          source ? ` · source ${source}` : ""
        }</div>`
        : ""
    }
<div class="grid">${shown("key", v.key)}${shown("value", v.value)}</div>
${
      headers.length
        ? `<details><summary>headers (${headers.length})</summary><table>${
          headers.map(([k, h]) => `<tr><td>${esc(k)}</td><td>${esc(h)}</td></tr>`).join("")
        }</table></details>`
        : ""
    }</article>`;
  }).join("\n");
}

/** The browse form of a topic page. */
export function browseForm(
  cluster: string,
  topic: string,
  partitions: number,
  q: URLSearchParams,
): string {
  const opt = (v: string, label: string) =>
    `<option value="${v}"${
      (q.get("partition") ?? "all") === v ? " selected" : ""
    }>${label}</option>`;
  return `<form class="inline" method="get" action="${
    url.topic(cluster, topic)
  }#messages" id="browse">
<label>Partition <select name="partition">${opt("all", "all")}${
    Array.from({ length: partitions }, (_, i) => opt(String(i), String(i))).join("")
  }</select></label>
<label>Offset (newest shown) <input name="offset" value="${
    esc(q.get("offset") ?? "")
  }" size="10"></label>
<label>or time <input name="time" value="${
    esc(q.get("time") ?? "")
  }" placeholder="2024-05-01T12:00Z" size="18"></label>
<label>Limit <input name="limit" value="${esc(q.get("limit") ?? "20")}" size="4"></label>
<button type="submit">Show</button></form>`;
}

/** The produce form (admins only). */
export function produceForm(
  cluster: string,
  topic: string,
  session: Session,
  values: URLSearchParams = new URLSearchParams(),
): string {
  const schema = schemaOf(topic);
  return `<details id="produce-box"${
    values.size ? " open" : ""
  }><summary>Produce a test message</summary>
<form method="post" action="${url.topic(cluster, topic)}/produce" id="produce">
<input type="hidden" name="_csrf" value="${esc(session.csrf)}">
<div class="grid"><label>Partition (empty: by key) <input name="partition" value="${
    esc(values.get("partition") ?? "")
  }"></label><label>Key <input name="key" value="${esc(values.get("key") ?? "")}"></label></div>
<label>Value${schema ? ` (validated against the ${esc(schema.name)} schema)` : ""}
<textarea name="value" rows="5">${esc(values.get("value") ?? "")}</textarea></label>
<label>Headers (JSON object) <input name="headers" value="${
    esc(values.get("headers") ?? "")
  }" placeholder='{"source": "console"}'></label>
<button type="submit">Produce</button></form></details>`;
}

/** The create-topic form (admins only). */
export function createTopicForm(
  cluster: string,
  session: Session,
  values: URLSearchParams = new URLSearchParams(),
): string {
  return `<details id="create-box"${values.size ? " open" : ""}><summary>Create a topic</summary>
<form method="post" action="${url.cluster(cluster)}/topics" id="create-topic">
<input type="hidden" name="_csrf" value="${esc(session.csrf)}">
<div class="grid"><label>Name <input name="name" required value="${
    esc(values.get("name") ?? "")
  }"></label>
<label>Partitions <input name="partitions" value="${esc(values.get("partitions") ?? "3")}"></label>
<label>Replication factor <input name="replicationFactor" value="${
    esc(values.get("replicationFactor") ?? "")
  }" placeholder="3 (or the brokers up)"></label></div>
<label>Configs (key=value per line) <textarea name="configs" rows="2" placeholder="min.insync.replicas=2">${
    esc(values.get("configs") ?? "")
  }</textarea></label>
<button type="submit">Create</button></form></details>`;
}
