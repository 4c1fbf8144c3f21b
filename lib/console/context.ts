/**
 * What every route of the console works with: the options of `startConsole` with
 * their defaults applied, the sessions, the login limiter, one {@linkcode ClusterClient} per
 * cluster, the audit log and the console's metrics ({@linkcode ConsoleContext}); and the
 * calls a route receives — the request as it arrived ({@linkcode Call}), once the user is known
 * ({@linkcode SessionCall}), and once the cluster is known ({@linkcode ClusterCall}).
 *
 * @example
 * ```ts
 * import { createConsoleContext } from "./context.ts";
 * const ctx = createConsoleContext({ users, clusters });
 * ctx.log(undefined, "login-refused", { ip: "127.0.0.1" });
 * await ctx.close();
 * ```
 * @module
 */
import { counter } from "../monitoring/mod.ts";
import { type ConsoleUser, LoginLimiter, type Session, SessionStore } from "./auth.ts";
import {
  ClusterClient,
  type ClusterDownError,
  type ConsoleCluster,
  ConsoleInputError,
} from "./clusters.ts";
import { downBox, errorBox, type Frame } from "./pages.ts";

/** Options of `startConsole` (lib/console/server.ts). */
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

/** The console's counters (registered once in lib/monitoring's registry). */
export const consoleMetrics = {
  /** HTTP requests by method and status. */
  requests: () =>
    counter("console_http_requests_total", "HTTP requests of the console", ["method", "status"]),
  /** Login attempts by outcome (`ok`, `refused`, `limited`). */
  logins: () => counter("console_logins_total", "Login attempts by outcome", ["outcome"]),
  /** Write actions by action and outcome. */
  writes: () =>
    counter("console_writes_total", "Write actions by action and outcome", ["action", "outcome"]),
};

/** What the routes share: one per running console. */
export interface ConsoleContext {
  /** Who may log in. */
  readonly users: Map<string, ConsoleUser>;
  /** The clusters, the first is the home page. */
  readonly clusters: ConsoleCluster[];
  /** One client per cluster, by cluster name. */
  readonly clients: Map<string, ClusterClient>;
  /** Open sessions. */
  readonly sessions: SessionStore;
  /** Failed logins per client and user name. */
  readonly limiter: LoginLimiter;
  /** Failed logins allowed per client and user name (a client alone gets four times more). */
  readonly maxLoginAttempts: number;
  /** Whether the session cookie is marked `Secure`. */
  readonly secureCookies: boolean;
  /** Writes one audit line (JSON) naming the session's user, the action and `fields`. */
  log(session: Session | undefined, action: string, fields: Record<string, unknown>): void;
  /** The frame of a page: title, user, clusters, the current cluster. */
  frame(title: string, session: Session, current?: string): Frame;
  /** Closes the cluster connections. */
  close(): Promise<void>;
}

/** A context from the options (see {@linkcode ConsoleOptions} for the defaults). */
export function createConsoleContext(options: ConsoleOptions): ConsoleContext {
  const {
    users,
    clusters,
    sessionTtlSeconds = 3600,
    maxLoginAttempts = 5,
    loginWindowSeconds = 300,
    secureCookies = false,
    audit = (line: string) => console.log(line),
    clusterTimeoutMs = 8_000,
  } = options;
  if (clusters.length === 0) throw new RangeError("Cannot start the console without clusters");
  if (users.size === 0) throw new RangeError("Cannot start the console without users");
  const clients = new Map(
    clusters.map((c) => [c.name, new ClusterClient(c, { timeoutMs: clusterTimeoutMs })]),
  );
  return {
    users,
    clusters,
    clients,
    sessions: new SessionStore(sessionTtlSeconds * 1000),
    limiter: new LoginLimiter(maxLoginAttempts, loginWindowSeconds * 1000),
    maxLoginAttempts,
    secureCookies,
    log: (session, action, fields) =>
      audit(JSON.stringify({
        at: new Date().toISOString(),
        user: session?.user ?? null,
        role: session?.role ?? null,
        action,
        ...fields,
      })),
    frame: (title, session, current) => ({ title, session, clusters, current }),
    close: async () => {
      await Promise.all([...clients.values()].map((c) => c.close()));
    },
  };
}

/** A request as a route receives it. */
export interface Call {
  req: Request;
  url: URL;
  /** `url.pathname`. */
  path: string;
  /** `req.method`. */
  method: string;
  /** The client's address. */
  ip: string;
}

/** A request of a logged-in user (a POST's CSRF token already checked). */
export interface SessionCall extends Call {
  session: Session;
  /** The form of a POST (empty for a GET). */
  form: URLSearchParams;
}

/** A request under `/c/<cluster>/…` of a cluster the console knows. */
export interface ClusterCall extends SessionCall {
  client: ClusterClient;
}

/** A route: the method and path it answers, and how. */
export interface Route<C extends Call> {
  /** HTTP method; undefined answers every method. */
  method?: string;
  /** The path (or, for a cluster route, the part after `/c/<cluster>/`); groups are params. */
  pattern: RegExp;
  /** A viewer may POST to it too (else POSTs need the admin role). */
  anyRole?: boolean;
  /** The answer; `params` are the pattern's groups, URI-decoded. */
  handle(ctx: ConsoleContext, call: C, params: string[]): Response | Promise<Response>;
}

/** What {@linkcode attempt} gives: the value, or the status and box to show instead. */
export type Attempt<T> = { ok: true; value: T } | { ok: false; status: number; box: string };

/** Runs a cluster call; a cluster that does not answer becomes the page's down box. */
export async function attempt<T>(client: ClusterClient, fn: () => Promise<T>): Promise<Attempt<T>> {
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
