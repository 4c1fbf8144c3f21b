/**
 * The console's answers: an HTML page with the console's security headers (no caching, no
 * framing, scripts and styles from the console itself), a redirect, and the one check of where
 * a login may send the user on ({@linkcode safeNext}: a local path, never another site).
 *
 * @example
 * ```ts
 * import { html, redirect, safeNext } from "./respond.ts";
 * const page = html("<p>hi</p>", 200);
 * const back = redirect(safeNext("//evil.example")); // to "/"
 * ```
 * @module
 */

/** An HTML answer with the console's headers (`headers` added to them). */
export function html(body: string, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(body, {
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
}

/** A 303 redirect to `to`. */
export function redirect(to: string, headers: Record<string, string> = {}): Response {
  return new Response(null, { status: 303, headers: { location: to, ...headers } });
}

/** A local path to return to after login (never another site). */
export function safeNext(next: string | null): string {
  return next && /^\/(?!\/)[^\s\\]*$/.test(next) ? next : "/";
}
