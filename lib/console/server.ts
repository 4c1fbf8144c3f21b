/**
 * The console's HTTP server (`deno task console`): the seed's Kafka UI with a login form, for
 * every cluster the stack runs.
 *
 * Routes: `GET /login`, `POST /login`, `POST /logout`; `/c/<cluster>` (brokers, topics, consumer
 * groups — live), `/c/<cluster>/t/<topic>` (partitions live, configs, messages, produce form),
 * `/c/<cluster>/g/<group>` (lag per partition, live), `POST /c/<cluster>/topics` (create a topic),
 * `POST /c/<cluster>/t/<topic>/produce`; `/assets/*` (htmx, Pico CSS from npm), `/metrics`,
 * `/healthz`.
 *
 * Every page but the login form needs a session (else a redirect to `/login`); every POST needs
 * the session's CSRF token (form field `_csrf` or header `X-CSRF-Token`, else 403) and writes
 * need the `admin` role (else 403). Failed logins are limited per client address and user name
 * (429 with `Retry-After`); a wrong user or password gets one generic line. Every write, and
 * every refused one, is logged as a JSON line naming the user. Bad input answers 4xx with the
 * field named on the page; a cluster that does not answer is shown on the page (503) and the
 * live parts pick it up again when it is back. Nothing answers 500 on purpose: an unexpected
 * error is a 500 page with one line, never a stack trace.
 *
 * @example
 * ```ts
 * import { discoverClusters, ensureConsoleUsers, startConsole } from "./mod.ts";
 * const { users } = await ensureConsoleUsers();
 * const server = startConsole({ users, clusters: discoverClusters(), port: 8090 });
 * await server.close();
 * ```
 * @module
 */
import htmxJs from "htmx.org/dist/htmx.min.js" with { type: "text" };
import picoCss from "@picocss/pico/css/pico.min.css" with { type: "text" };
import { counter, registry } from "../monitoring/mod.ts";
import {
  type ConsoleUser,
  csrfMatches,
  DUMMY_HASH,
  LoginLimiter,
  type Session,
  sessionIdOf,
  SessionStore,
  verifyPassword,
} from "./auth.ts";
import {
  ClusterClient,
  type ClusterDownError,
  type ConsoleCluster,
  ConsoleInputError,
} from "./clusters.ts";
import { parseBrowse, parseCreateTopic, parseProduce } from "./forms.ts";
import { valueProblem } from "./decode.ts";
import {
  brokersTable,
  browseForm,
  configsTable,
  createTopicForm,
  downBox,
  errorBox,
  esc,
  type Frame,
  groupDetail,
  groupsTable,
  layout,
  live,
  loginPage,
  messagesList,
  partitionsTable,
  produceForm,
  resultBox,
  topicsTable,
  url,
} from "./pages.ts";

/** Options of {@linkcode startConsole}. */
export interface ConsoleOptions {
  /** Who may log in. */
  users: Map<string, ConsoleUser>;
  /** Clusters to show, the first is the home page. */
  clusters: ConsoleCluster[];
  /** TCP port; 0 picks a free one. @default 8090 */
  port?: number;
  /** Address to listen on. @default "127.0.0.1" */
  hostname?: string;
  /** Session lifetime in seconds. @default 3600 */
  sessionTtlSeconds?: number;
  /** Failed logins allowed per client and user name within the window. @default 5 */
  maxLoginAttempts?: number;
  /** The window of {@linkcode ConsoleOptions.maxLoginAttempts}, in seconds. @default 300 */
  loginWindowSeconds?: number;
  /** Mark the session cookie `Secure` (behind HTTPS). @default false */
  secureCookies?: boolean;
  /** Where audit lines go. @default console.log */
  audit?: (line: string) => void;
  /** Time limit of one call to a cluster, ms. @default 8000 */
  clusterTimeoutMs?: number;
}

/** A running console. */
export interface ConsoleServer {
  /** Where it listens. */
  port: number;
  url: string;
  /** Stops the server and closes the cluster connections. */
  close(): Promise<void>;
}

const requests = () =>
  counter("console_http_requests_total", "HTTP requests of the console", ["method", "status"]);
const logins = () => counter("console_logins_total", "Login attempts by outcome", ["outcome"]);
const writes = () =>
  counter("console_writes_total", "Write actions by action and outcome", ["action", "outcome"]);

const html = (body: string, status = 200, headers: Record<string, string> = {}) =>
  new Response(body, {
    status,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "x-frame-options": "DENY",
      "content-security-policy":
        "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'",
      ...headers,
    },
  });

const redirect = (to: string, headers: Record<string, string> = {}) =>
  new Response(null, { status: 303, headers: { location: to, ...headers } });

/** A local path to return to after login (never another site). */
function safeNext(next: string | null): string {
  return next && /^\/(?!\/)[^\s\\]*$/.test(next) ? next : "/";
}

/** Starts the console (see the module doc). */
export function startConsole(options: ConsoleOptions): ConsoleServer {
  const {
    users,
    clusters,
    port = 8090,
    hostname = "127.0.0.1",
    sessionTtlSeconds = 3600,
    maxLoginAttempts = 5,
    loginWindowSeconds = 300,
    secureCookies = false,
    audit = (line: string) => console.log(line),
    clusterTimeoutMs = 8_000,
  } = options;
  if (clusters.length === 0) throw new RangeError("Cannot start the console without clusters");
  if (users.size === 0) throw new RangeError("Cannot start the console without users");
  const sessions = new SessionStore(sessionTtlSeconds * 1000);
  const limiter = new LoginLimiter(maxLoginAttempts, loginWindowSeconds * 1000);
  const clients = new Map(
    clusters.map((c) => [c.name, new ClusterClient(c, { timeoutMs: clusterTimeoutMs })]),
  );
  const log = (session: Session | undefined, action: string, fields: Record<string, unknown>) =>
    audit(JSON.stringify({
      at: new Date().toISOString(),
      user: session?.user ?? null,
      role: session?.role ?? null,
      action,
      ...fields,
    }));

  const frame = (title: string, session: Session, current?: string): Frame => ({
    title,
    session,
    clusters,
    current,
  });

  /** Runs a cluster call; a cluster that does not answer becomes the page's down box. */
  async function attempt<T>(
    client: ClusterClient,
    fn: () => Promise<T>,
  ): Promise<{ ok: true; value: T } | { ok: false; status: number; box: string }> {
    try {
      return { ok: true, value: await fn() };
    } catch (err) {
      if (err instanceof ConsoleInputError) {
        return { ok: false, status: err.status, box: errorBox(err.message, err.field) };
      }
      if ((err as Error).name === "ClusterDownError") {
        return {
          ok: false,
          status: 503,
          box: downBox(client.cluster, (err as ClusterDownError).message),
        };
      }
      return {
        ok: false,
        status: 502,
        box: errorBox(`Kafka answered: ${(err as Error).message ?? String(err)}`),
      };
    }
  }

  function clusterPage(
    client: ClusterClient,
    session: Session,
    extra: { status?: number; box?: string; form?: URLSearchParams } = {},
  ): Response {
    const c = client.cluster;
    const base = url.cluster(c.name);
    const body = `<hgroup><h2>Cluster ${esc(c.name)}</h2><p>${esc(c.description)} · ${
      esc(c.options.brokers.join(", "))
    }</p></hgroup>${extra.box ?? ""}
<h3>Brokers</h3>${live("brokers", `${base}/brokers`)}
<h3>Topics</h3>
${session.role === "admin" ? createTopicForm(c.name, session, extra.form) : ""}
<input type="search" name="q" placeholder="Filter topics" hx-get="${base}/topics" hx-trigger="input changed delay:300ms" hx-target="#topics">
${live("topics", `${base}/topics`)}
<h3>Consumer groups</h3>${live("groups", `${base}/groups`)}`;
    return html(layout(frame(c.name, session, c.name), body), extra.status ?? 200);
  }

  async function topicPage(
    client: ClusterClient,
    topic: string,
    session: Session,
    q: URLSearchParams,
    extra: { status?: number; box?: string; form?: URLSearchParams } = {},
  ): Promise<Response> {
    const c = client.cluster;
    const f = frame(topic, session, c.name);
    const parts = await attempt(client, () => client.partitions(topic));
    const head = `<hgroup><h2>${esc(topic)}</h2><p>topic on cluster <a href="${
      url.cluster(c.name)
    }">${esc(c.name)}</a></p></hgroup>`;
    if (!parts.ok) {
      return html(layout(f, head + (extra.box ?? "") + parts.box), parts.status);
    }
    let status = extra.status ?? 200;
    let messages: string;
    const browse = parseBrowse(q, parts.value.length);
    if (!browse.ok) {
      status = 400;
      messages = errorBox(browse.error, browse.field);
    } else {
      const read = await attempt(client, () => client.browse(topic, browse.value, parts.value));
      if (read.ok) {
        messages = (read.value.partial
          ? '<p class="warn">Some partitions did not answer in time: showing what arrived.</p>'
          : "") + messagesList(c.name, topic, read.value.messages);
      } else {
        status = status === 200 ? read.status : status;
        messages = read.box;
      }
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
<div id="message-list">${messages}</div>`;
    return html(layout(f, body), status);
  }

  async function fragment(
    client: ClusterClient,
    what: "brokers" | "topics" | "groups" | "partitions" | "group",
    arg: string,
  ): Promise<Response> {
    const c = client.cluster;
    const r = await attempt<string>(client, async () => {
      switch (what) {
        case "brokers": {
          const b = await client.brokers();
          return brokersTable(b.clusterId, b.brokers);
        }
        case "topics":
          return topicsTable(c.name, await client.topics(arg));
        case "groups":
          return groupsTable(c.name, await client.groups());
        case "partitions":
          return partitionsTable(await client.partitions(arg));
        case "group":
          return groupDetail((await client.groups()).find((g) => g.groupId === arg), arg);
      }
    });
    // htmx swaps 200 only: a down cluster is content of the live part, not an error to drop.
    return html(r.ok ? r.value : r.box, 200);
  }

  async function login(req: Request, ip: string): Promise<Response> {
    const form = new URLSearchParams(await req.text());
    const name = (form.get("user") ?? "").trim();
    const password = form.get("password") ?? "";
    const next = safeNext(form.get("next"));
    const keys = [`${ip}|${name}`, ip];
    const wait = Math.max(
      limiter.retryAfter(keys[0]),
      limiter.retryAfter(ip, maxLoginAttempts * 4),
    );
    if (wait > 0) {
      logins().inc({ outcome: "limited" });
      log(undefined, "login-limited", { attempted: name.slice(0, 64), ip });
      return html(
        loginPage({
          error: `Too many failed logins: try again in ${wait} s.`,
          next,
        }),
        429,
        { "retry-after": String(wait) },
      );
    }
    const user = users.get(name);
    const ok = await verifyPassword(password, user?.hash ?? DUMMY_HASH) && user !== undefined;
    if (!ok) {
      for (const k of keys) limiter.fail(k);
      logins().inc({ outcome: "refused" });
      log(undefined, "login-refused", { attempted: name.slice(0, 64), ip });
      return html(loginPage({ error: "Wrong user name or password.", next, user: name }), 401);
    }
    limiter.reset(keys[0]);
    const session = sessions.open(user);
    logins().inc({ outcome: "ok" });
    log(session, "login", { ip });
    return redirect(next, { "set-cookie": sessions.cookie(session, secureCookies) });
  }

  async function handle(req: Request, ip: string): Promise<Response> {
    const u = new URL(req.url);
    const path = u.pathname;
    const method = req.method;
    if (method === "GET" && path === "/assets/htmx.min.js") {
      return new Response(htmxJs, {
        headers: {
          "content-type": "text/javascript; charset=utf-8",
          "cache-control": "max-age=3600",
        },
      });
    }
    if (method === "GET" && path === "/assets/pico.min.css") {
      return new Response(picoCss, {
        headers: { "content-type": "text/css; charset=utf-8", "cache-control": "max-age=3600" },
      });
    }
    if (path === "/metrics") {
      return new Response(await registry.metrics(), {
        headers: { "content-type": registry.contentType },
      });
    }
    if (path === "/healthz") return new Response("ok\n");
    if (path === "/login") {
      if (method === "POST") return await login(req, ip);
      return html(loginPage({ next: safeNext(u.searchParams.get("next")) }));
    }
    const session = sessions.get(sessionIdOf(req.headers.get("cookie")));
    if (!session) {
      if (req.headers.get("hx-request")) {
        return new Response("session expired", {
          status: 401,
          headers: { "hx-redirect": "/login" },
        });
      }
      const next = method === "GET" ? `${path}${u.search}` : "/";
      return redirect(`/login?next=${encodeURIComponent(next)}`);
    }
    let form = new URLSearchParams();
    if (method === "POST") {
      const length = Number(req.headers.get("content-length") ?? "0");
      if (length > 2_000_000) {
        return html(layout(frame("Too large", session), errorBox("over 2 MB", "body")), 413);
      }
      form = new URLSearchParams(await req.text());
      const token = form.get("_csrf") ?? req.headers.get("x-csrf-token");
      if (!csrfMatches(session, token)) {
        writes().inc({ action: path, outcome: "csrf" });
        log(session, "refused-csrf", { path });
        return html(
          layout(
            frame("Forbidden", session),
            errorBox(
              "the form has no valid CSRF token: reload the page and send it again",
              "_csrf",
            ),
          ),
          403,
        );
      }
      if (path === "/logout") {
        sessions.close(session.id);
        log(session, "logout", {});
        return redirect("/login", { "set-cookie": sessions.cookie(undefined, secureCookies) });
      }
      if (session.role !== "admin") {
        writes().inc({ action: path, outcome: "forbidden" });
        log(session, "refused-role", { path });
        return html(
          layout(
            frame("Forbidden", session),
            errorBox(
              `user ${session.user} is a ${session.role}: writes need the admin role`,
              "role",
            ),
          ),
          403,
        );
      }
    } else if (method !== "GET" && method !== "HEAD") {
      return new Response("method not allowed\n", { status: 405 });
    }
    if (path === "/" && method === "GET") return redirect(url.cluster(clusters[0].name));
    const m = path.match(/^\/c\/([^/]+)(?:\/(.*))?$/);
    if (!m) {
      return html(layout(frame("Not found", session), errorBox(`no page ${path}`, "path")), 404);
    }
    const clusterName = decodeURIComponent(m[1]);
    const client = clients.get(clusterName);
    if (!client) {
      return html(
        layout(
          frame("Not found", session),
          errorBox(
            `no cluster '${clusterName}': this console knows ${
              clusters.map((c) => c.name).join(", ")
            }`,
            "cluster",
          ),
        ),
        404,
      );
    }
    const rest = m[2] ?? "";
    if (method === "GET") {
      if (rest === "") return clusterPage(client, session);
      if (rest === "brokers" || rest === "groups") return await fragment(client, rest, "");
      if (rest === "topics") return await fragment(client, "topics", u.searchParams.get("q") ?? "");
      const t = rest.match(/^t\/([^/]+)(\/partitions)?$/);
      if (t) {
        const topic = decodeURIComponent(t[1]);
        if (t[2]) return await fragment(client, "partitions", topic);
        return await topicPage(client, topic, session, u.searchParams);
      }
      const g = rest.match(/^g\/([^/]+)(\/lag)?$/);
      if (g) {
        const groupId = decodeURIComponent(g[1]);
        if (g[2]) return await fragment(client, "group", groupId);
        return html(layout(
          frame(groupId, session, clusterName),
          `<hgroup><h2>Consumer group ${esc(groupId)}</h2><p>on cluster <a href="${
            url.cluster(clusterName)
          }">${esc(clusterName)}</a></p></hgroup>${
            live("group", `${url.group(clusterName, groupId)}/lag`)
          }`,
        ));
      }
    }
    if (method === "POST" && rest === "topics") {
      const brokers = await attempt(client, () => client.brokers());
      if (!brokers.ok) return clusterPage(client, session, { ...brokers, form });
      const parsed = parseCreateTopic(form, brokers.value.brokers.filter((b) => b.up).length);
      if (!parsed.ok) {
        writes().inc({ action: "create-topic", outcome: "invalid" });
        return clusterPage(client, session, {
          status: 400,
          box: errorBox(parsed.error, parsed.field),
          form,
        });
      }
      const r = await attempt(client, () => client.createTopic(parsed.value));
      log(session, "create-topic", {
        cluster: clusterName,
        topic: parsed.value.topic,
        partitions: parsed.value.numPartitions,
        replicationFactor: parsed.value.replicationFactor,
        configs: Object.fromEntries(parsed.value.configEntries.map((e) => [e.name, e.value])),
        outcome: r.ok ? "created" : `refused ${r.status}`,
      });
      writes().inc({ action: "create-topic", outcome: r.ok ? "ok" : String(r.status) });
      if (!r.ok) return clusterPage(client, session, { ...r, form });
      return await topicPage(client, parsed.value.topic, session, new URLSearchParams(), {
        status: 201,
        box: resultBox(
          `Created topic ${parsed.value.topic}: ${parsed.value.numPartitions} partitions, RF ${parsed.value.replicationFactor}.`,
        ),
      });
    }
    const p = rest.match(/^t\/([^/]+)\/produce$/);
    if (method === "POST" && p) {
      const topic = decodeURIComponent(p[1]);
      const parts = await attempt(client, () => client.partitions(topic));
      if (!parts.ok) {
        return await topicPage(client, topic, session, new URLSearchParams(), { ...parts, form });
      }
      const parsed = parseProduce(form, parts.value.length);
      const problem = parsed.ok ? valueProblem(topic, parsed.value.value) : undefined;
      if (!parsed.ok || problem) {
        writes().inc({ action: "produce", outcome: "invalid" });
        const box = parsed.ok ? errorBox(problem!, "value") : errorBox(parsed.error, parsed.field);
        return await topicPage(client, topic, session, new URLSearchParams(), {
          status: 400,
          box,
          form,
        });
      }
      const r = await attempt(client, () => client.produce(topic, parsed.value));
      log(session, "produce", {
        cluster: clusterName,
        topic,
        partition: r.ok ? r.value.partition : parsed.value.partition ?? null,
        offset: r.ok ? r.value.offset : null,
        key: parsed.value.key,
        bytes: new TextEncoder().encode(parsed.value.value).length,
        outcome: r.ok ? "produced" : `refused ${r.status}`,
      });
      writes().inc({ action: "produce", outcome: r.ok ? "ok" : String(r.status) });
      if (!r.ok) {
        return await topicPage(client, topic, session, new URLSearchParams(), { ...r, form });
      }
      return await topicPage(client, topic, session, new URLSearchParams(), {
        box: resultBox(
          `Produced to ${topic} partition ${r.value.partition} at offset ${r.value.offset}.`,
        ),
      });
    }
    return html(layout(frame("Not found", session), errorBox(`no page ${path}`, "path")), 404);
  }

  const server = Deno.serve({ hostname, port, onListen: () => {} }, async (req, info) => {
    let res: Response;
    try {
      res = await handle(req, info.remoteAddr.hostname);
    } catch (err) {
      console.error(`console: ${req.method} ${new URL(req.url).pathname}: ${(err as Error).stack}`);
      res = html(loginPage({ error: "Something went wrong; the console logged it." }), 500);
    }
    requests().inc({ method: req.method, status: String(res.status) });
    return res;
  });
  const addr = server.addr as Deno.NetAddr;
  return {
    port: addr.port,
    url: `http://${hostname === "0.0.0.0" ? "127.0.0.1" : hostname}:${addr.port}`,
    close: async () => {
      await server.shutdown();
      await Promise.all([...clients.values()].map((c) => c.close()));
    },
  };
}
