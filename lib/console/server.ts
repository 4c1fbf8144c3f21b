/**
 * The console's HTTP server (`deno task console`): the seed's Kafka UI with a login form, for
 * every cluster the stack runs. {@linkcode startConsole} makes the shared context
 * (lib/console/context.ts) and serves every request through the route table of
 * lib/console/router.ts; the routes themselves are in lib/console/routes/.
 *
 * Routes: `GET /login`, `POST /login`, `POST /logout`; `/c/<cluster>` (brokers, topics, consumer
 * groups — live), `/c/<cluster>/t/<topic>` (partitions live, configs, messages, produce form),
 * `/c/<cluster>/g/<group>` (lag per partition, live), `POST /c/<cluster>/topics` (create a topic),
 * `POST /c/<cluster>/t/<topic>/produce`; `/c/<cluster>/connect/<name>` (a Kafka Connect
 * cluster's connectors, tasks and traces) with `POST …/<connector>/pause|resume|restart`,
 * `/c/<cluster>/schemas[/<subject>]` (the schema registry), `/c/<cluster>/acls`,
 * `POST /c/<cluster>/g/<group>/reset/preview|apply` (offset reset: dry run, then apply);
 * `/assets/*` (htmx, Pico CSS from npm), `/metrics`, `/healthz`.
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
import { consoleMetrics, type ConsoleOptions, createConsoleContext } from "./context.ts";
import { loginPage } from "./pages.ts";
import { html } from "./respond.ts";
import { routeRequest } from "./router.ts";

export type { ConsoleOptions } from "./context.ts";

/** A running console. */
export interface ConsoleServer {
  /** Where it listens. */
  port: number;
  url: string;
  /** Stops the server and closes the cluster connections. */
  close(): Promise<void>;
}

/** Starts the console (see the module doc). */
export function startConsole(options: ConsoleOptions): ConsoleServer {
  const { port = 8090, hostname = "127.0.0.1" } = options;
  const ctx = createConsoleContext(options);
  const server = Deno.serve({ hostname, port, onListen: () => {} }, async (req, info) => {
    let res: Response;
    try {
      res = await routeRequest(ctx, req, info.remoteAddr.hostname);
    } catch (err) {
      console.error(`console: ${req.method} ${new URL(req.url).pathname}: ${(err as Error).stack}`);
      res = html(loginPage({ error: "Something went wrong; the console logged it." }), 500);
    }
    consoleMetrics.requests().inc({ method: req.method, status: String(res.status) });
    return res;
  });
  const addr = server.addr as Deno.NetAddr;
  return {
    port: addr.port,
    url: `http://${hostname === "0.0.0.0" ? "127.0.0.1" : hostname}:${addr.port}`,
    close: async () => {
      await server.shutdown();
      await ctx.close();
    },
  };
}
