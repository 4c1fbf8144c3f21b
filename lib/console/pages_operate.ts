/**
 * The console's pages of what it operates beside a cluster, rendered as HTML strings like
 * lib/console/pages.ts: the links from a cluster's page, a Kafka Connect cluster's connectors
 * (state, each task's state and error trace, pause/resume/restart for admins), the schema
 * registry's subjects and a subject's versions (pretty JSON, compatibility), the cluster's
 * ACLs, and a consumer group's offset reset (the form, the dry run's preview with its apply
 * form, the committed offsets read back). Every value goes through {@linkcode esc}.
 *
 * @example
 * ```ts
 * import { aclsTable } from "./pages_operate.ts";
 * const html = aclsTable([]);
 * ```
 * @module
 */
import type { AclEntry } from "../kafka/mod.ts";
import type { ConnectorOverview } from "../connect/mod.ts";
import type { Compatibility, SchemaVersion } from "../registry/mod.ts";
import type { Session } from "./auth.ts";
import type { ConsoleCluster } from "./clusters.ts";
import type { OffsetMove } from "./offsets.ts";
import type { ConnectTarget } from "./services.ts";
import { esc, url } from "./pages.ts";

/** The links of a cluster's page to its Connect clusters, registry and ACLs. */
export function operateLinks(c: ConsoleCluster): string {
  const links = [
    ...(c.connect ?? []).map((t) =>
      `<a href="${url.connect(c.name, t.name)}" class="connect-link">Connect ${esc(t.name)}</a>`
    ),
    ...(c.registry
      ? [`<a href="${url.schemas(c.name)}" id="schemas-link">Schema registry</a>`]
      : []),
    `<a href="${url.acls(c.name)}" id="acls-link">ACLs</a>`,
  ];
  return `<p id="operate">${links.join(" · ")}</p>`;
}

/** A hidden CSRF field. */
const csrfField = (session: Session) =>
  `<input type="hidden" name="_csrf" value="${esc(session.csrf)}">`;

function stateText(state: string): string {
  const cls = state === "RUNNING" ? "ok" : state === "FAILED" ? "down" : "warn";
  return `<span class="${cls}">${esc(state)}</span>`;
}

function trace(label: string, text: string | undefined, attrs: string): string {
  if (!text) return "";
  return `<details class="trace" ${attrs}><summary>${esc(label)}: ${
    esc(text.split("\n")[0].slice(0, 160))
  }</summary><pre>${esc(text)}</pre></details>`;
}

function actionForms(cluster: string, target: string, name: string, session: Session): string {
  const action = (a: string, label: string) =>
    `<form method="post" class="connect-action" data-connector="${
      esc(name)
    }" data-action="${a}" action="${url.connect(cluster, target)}/${
      encodeURIComponent(name)
    }/${a}" style="display:inline;margin:0">${
      csrfField(session)
    }<button class="outline" style="padding:2px 10px;width:auto">${label}</button></form>`;
  return `${action("pause", "Pause")} ${action("resume", "Resume")} ${
    action("restart", "Restart with tasks")
  }`;
}

/** The connectors of a Connect cluster: state, tasks with their traces, admin actions. */
export function connectorsTable(
  cluster: string,
  target: ConnectTarget,
  connectors: Record<string, ConnectorOverview>,
  session: Session,
): string {
  const names = Object.keys(connectors).sort();
  if (names.length === 0) return '<p id="no-connectors">No connectors.</p>';
  const admin = session.role === "admin";
  const rows = names.map((name) => {
    const { status, config } = connectors[name];
    const tasks = status.tasks.map((t) =>
      `<div class="task" data-task="${t.id}" data-state="${esc(t.state)}">task ${t.id} ${
        stateText(t.state)
      } <small>${esc(t.worker_id)}</small>${
        trace(`task ${t.id} error`, t.trace, `data-task="${t.id}"`)
      }</div>`
    ).join("");
    return `<tr data-connector="${esc(name)}" data-state="${esc(status.connector.state)}">
<td><strong>${esc(name)}</strong><br><small>${esc(status.type ?? "")} · ${
      esc(config["connector.class"] ?? "")
    }</small></td><td>${stateText(status.connector.state)}${
      trace("connector error", status.connector.trace, 'data-task="connector"')
    }</td><td>${tasks || "<small>no tasks</small>"}</td>${
      admin ? `<td>${actionForms(cluster, target.name, name, session)}</td>` : ""
    }</tr>`;
  }).join("");
  return `<table class="striped" id="connectors-table"><thead><tr><th>connector</th><th>state</th>
<th>tasks</th>${admin ? "<th>actions</th>" : ""}</tr></thead><tbody>${rows}</tbody></table>`;
}

/** One subject as the registry page lists it. */
export interface SubjectRow {
  subject: string;
  versions: number[];
  compatibility: Compatibility;
}

/** The registry's subjects with their versions and compatibility levels. */
export function subjectsTable(cluster: string, rows: SubjectRow[], global: string): string {
  const body = rows.map((r) =>
    `<tr data-subject="${esc(r.subject)}"><td><a href="${url.subject(cluster, r.subject)}">${
      esc(r.subject)
    }</a></td><td class="versions">${r.versions.join(", ")}</td><td class="compatibility">${
      esc(r.compatibility.level)
    }${r.compatibility.source === "global" ? " <small>(global)</small>" : ""}</td></tr>`
  ).join("");
  return `<p>global compatibility <strong id="global-compatibility">${
    esc(global)
  }</strong> · ${rows.length} subjects</p>
<table class="striped" id="subjects-table"><thead><tr><th>subject</th><th>versions</th>
<th>compatibility</th></tr></thead><tbody>${body}</tbody></table>${
    rows.length === 0 ? '<p id="no-subjects">No subjects.</p>' : ""
  }`;
}

/** A schema as pretty JSON when it is JSON, else as registered. */
export function prettySchema(schema: string): string {
  try {
    return JSON.stringify(JSON.parse(schema), null, 2);
  } catch {
    return schema;
  }
}

/** A subject's versions, newest first and open, each with its schema. */
export function subjectDetail(versions: SchemaVersion[], compatibility: Compatibility): string {
  const items = [...versions].reverse().map((v, i) =>
    `<details class="schema-version" data-version="${v.version}"${i === 0 ? " open" : ""}>
<summary>version ${v.version} · id ${v.id} · ${esc(v.schemaType)}</summary><pre>${
      esc(prettySchema(v.schema))
    }</pre></details>`
  ).join("");
  return `<p>compatibility <strong id="subject-compatibility">${
    esc(compatibility.level)
  }</strong> (${
    compatibility.source === "subject" ? "set on this subject" : "the registry's global level"
  }) · versions <span id="subject-versions">${versions.map((v) => v.version).join(", ")}</span></p>
${items}`;
}

/** The ACLs table: principal × resource × operation × permission. */
export function aclsTable(acls: AclEntry[]): string {
  if (acls.length === 0) return '<p id="no-acls">No ACLs.</p>';
  const rows = acls.map((a) =>
    `<tr data-acl="${
      esc(
        [a.principal, a.resourceType, a.resourceName, a.pattern, a.operation, a.permission].join(
          "|",
        ),
      )
    }"><td>${esc(a.principal)}</td><td>${esc(a.resourceType)}</td><td>${esc(a.resourceName)}</td>
<td>${esc(a.pattern)}</td><td>${esc(a.operation)}</td><td class="${
      a.permission === "DENY" ? "down" : "ok"
    }">${esc(a.permission)}</td><td>${esc(a.host)}</td></tr>`
  ).join("");
  return `<p>${acls.length} ACLs</p><table class="striped" id="acls-table"><thead><tr><th>principal</th>
<th>resource type</th><th>resource name</th><th>pattern</th><th>operation</th><th>permission</th>
<th>host</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function resetFields(values: URLSearchParams): string {
  const v = (k: string) => esc(values.get(k) ?? "");
  const strategy = values.get("strategy") ?? "earliest";
  const opt = (s: string, label: string) =>
    `<option value="${s}"${strategy === s ? " selected" : ""}>${label}</option>`;
  return `<div class="grid"><label>Topic <input name="topic" required value="${v("topic")}"></label>
<label>Reset to <select name="strategy">${opt("earliest", "earliest (first offset)")}${
    opt("latest", "latest (end offset)")
  }${opt("timestamp", "time")}${opt("offset", "offset")}</select></label>
<label>Time (for time) <input name="time" value="${
    v("time")
  }" placeholder="2024-05-01T12:00Z"></label>
<label>Offset (for offset) <input name="offset" value="${v("offset")}"></label>
<label>Partition (empty: all) <input name="partition" value="${v("partition")}"></label></div>`;
}

/** The offset-reset form of a group page (admins only); it asks for the dry run first. */
export function resetForm(
  cluster: string,
  groupId: string,
  session: Session,
  values: URLSearchParams = new URLSearchParams(),
): string {
  return `<details id="reset-box"${values.size ? " open" : ""}><summary>Reset offsets</summary>
<form method="post" action="${url.group(cluster, groupId)}/reset/preview" id="reset-offsets">
${csrfField(session)}${resetFields(values)}
<button type="submit">Preview (dry run)</button></form></details>`;
}

function movesTable(id: string, moves: OffsetMove[], applied: boolean): string {
  const rows = moves.map((m) =>
    `<tr data-partition="${m.partition}"><td>${m.partition}</td><td class="current">${
      m.current === "-1" ? "none" : esc(m.current)
    }</td><td class="target">${esc(m.target)}</td>${
      applied ? `<td class="committed">${esc(m.committed ?? "")}</td>` : ""
    }<td>${esc(m.low)}</td><td>${esc(m.high)}</td><td>${esc(m.note ?? "")}</td></tr>`
  ).join("");
  return `<table class="striped" id="${id}"><thead><tr><th>partition</th><th>committed before</th>
<th>new offset</th>${
    applied ? "<th>committed now</th>" : ""
  }<th>first offset</th><th>end offset</th><th>note</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** The dry run: each partition's committed and new offset, and the form that applies it. */
export function resetPreview(
  cluster: string,
  groupId: string,
  session: Session,
  values: URLSearchParams,
  moves: OffsetMove[],
): string {
  const hidden = ["topic", "strategy", "time", "offset", "partition"].map((k) =>
    `<input type="hidden" name="${k}" value="${esc(values.get(k) ?? "")}">`
  ).join("");
  return `<section id="reset-preview"><h4>Dry run: nothing committed yet</h4>
${movesTable("reset-preview-table", moves, false)}
<form method="post" action="${url.group(cluster, groupId)}/reset/apply" id="reset-apply">
${csrfField(session)}${hidden}
<button type="submit">Apply: commit these offsets</button></form></section>`;
}

/** The committed offsets after an apply, read back from Kafka. */
export function resetResult(moves: OffsetMove[]): string {
  return `<section id="reset-done">${movesTable("reset-result-table", moves, true)}</section>`;
}
