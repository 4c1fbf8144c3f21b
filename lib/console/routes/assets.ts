/**
 * The console's static files, from their npm packages (no CDN): `GET /assets/htmx.min.js` and
 * `GET /assets/pico.min.css`, cached for an hour.
 *
 * @example
 * ```ts
 * import { ASSET_ROUTES } from "./assets.ts";
 * const js = ASSET_ROUTES[0].pattern.test("/assets/htmx.min.js"); // true
 * ```
 * @module
 */
import htmxJs from "htmx.org/dist/htmx.min.js" with { type: "text" };
import picoCss from "@picocss/pico/css/pico.min.css" with { type: "text" };
import type { Call, Route } from "../context.ts";

const asset = (body: string, contentType: string) => () =>
  new Response(body, {
    headers: { "content-type": contentType, "cache-control": "max-age=3600" },
  });

/** htmx and Pico CSS. */
export const ASSET_ROUTES: Route<Call>[] = [
  {
    method: "GET",
    pattern: /^\/assets\/htmx\.min\.js$/,
    handle: asset(htmxJs, "text/javascript; charset=utf-8"),
  },
  {
    method: "GET",
    pattern: /^\/assets\/pico\.min\.css$/,
    handle: asset(picoCss, "text/css; charset=utf-8"),
  },
];
