/**
 * Logging in and out: `GET /login` (the form), `POST /login` (checks the password, limits
 * failed logins per client address and user name — 429 with `Retry-After` — and opens a
 * session), `POST /logout` (closes it; any role, CSRF token checked before). Every outcome is
 * counted and audited; a wrong user or password gets one generic line.
 *
 * @example
 * ```ts
 * import { LOGIN_ROUTES, LOGOUT_ROUTE } from "./login.ts";
 * const paths = LOGIN_ROUTES.map((r) => `${r.method ?? "*"} ${r.pattern.source}`);
 * ```
 * @module
 */
import { DUMMY_HASH, verifyPassword } from "../auth.ts";
import {
  type Call,
  type ConsoleContext,
  consoleMetrics,
  type Route,
  type SessionCall,
} from "../context.ts";
import { loginPage } from "../pages.ts";
import { html, redirect, safeNext } from "../respond.ts";

/** `POST /login`: a session and a redirect to `next`, or the form again with why not. */
async function login(ctx: ConsoleContext, call: Call): Promise<Response> {
  const { limiter, maxLoginAttempts } = ctx;
  const ip = call.ip;
  const form = new URLSearchParams(await call.req.text());
  const name = (form.get("user") ?? "").trim();
  const password = form.get("password") ?? "";
  const next = safeNext(form.get("next"));
  const keys = [`${ip}|${name}`, ip];
  const wait = Math.max(
    limiter.retryAfter(keys[0]),
    limiter.retryAfter(ip, maxLoginAttempts * 4),
  );
  if (wait > 0) {
    consoleMetrics.logins().inc({ outcome: "limited" });
    ctx.log(undefined, "login-limited", { attempted: name.slice(0, 64), ip });
    return html(
      loginPage({
        error: `Too many failed logins: try again in ${wait} s.`,
        next,
      }),
      429,
      { "retry-after": String(wait) },
    );
  }
  const user = ctx.users.get(name);
  const ok = await verifyPassword(password, user?.hash ?? DUMMY_HASH) && user !== undefined;
  if (!ok) {
    for (const k of keys) limiter.fail(k);
    consoleMetrics.logins().inc({ outcome: "refused" });
    ctx.log(undefined, "login-refused", { attempted: name.slice(0, 64), ip });
    return html(loginPage({ error: "Wrong user name or password.", next, user: name }), 401);
  }
  limiter.reset(keys[0]);
  const session = ctx.sessions.open(user);
  consoleMetrics.logins().inc({ outcome: "ok" });
  ctx.log(session, "login", { ip });
  return redirect(next, { "set-cookie": ctx.sessions.cookie(session, ctx.secureCookies) });
}

/** `POST /login` and, for every other method, the login form. */
export const LOGIN_ROUTES: Route<Call>[] = [
  { method: "POST", pattern: /^\/login$/, handle: login },
  {
    pattern: /^\/login$/,
    handle: (_ctx, call) => html(loginPage({ next: safeNext(call.url.searchParams.get("next")) })),
  },
];

/** `POST /logout`: closes the session, clears the cookie, back to the login form. */
export const LOGOUT_ROUTE: Route<SessionCall> = {
  method: "POST",
  pattern: /^\/logout$/,
  anyRole: true,
  handle: (ctx, { session }) => {
    ctx.sessions.close(session.id);
    ctx.log(session, "logout", {});
    return redirect("/login", { "set-cookie": ctx.sessions.cookie(undefined, ctx.secureCookies) });
  },
};
