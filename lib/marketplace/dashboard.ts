/**
 * The platform's key panels without Grafana: the Grafana dashboards of
 * `compose/grafana/dashboards/final-*.json` are read as they are, each panel's PromQL is run
 * against the live Prometheus (`/api/v1/query_range`), and one HTML page draws them as charts
 * with uPlot (from its npm package, inlined into the page: no CDN, works offline).
 *
 * The page spans the window: as many columns of panels as fit (at least 520 px each), every
 * chart as wide as its panel, redrawn when the window is resized. A panel without a series says
 * "no data"; the error-ratio panel's queries draw 0 for an API whose Prometheus target is up and
 * that answered no 5xx, and no line for one whose target is down or absent.
 *
 * {@linkcode serveDashboard} serves the page (`/`), the panels' data (`/api/panels`, refreshed
 * by the page every 15 s) and lib/monitoring's `/metrics` and `/healthz`;
 * {@linkcode renderDashboardHtml} with `data` gives a self-contained snapshot file.
 *
 * @example
 * ```ts
 * import { serveDashboard } from "./dashboard.ts";
 * const server = serveDashboard({ prometheusUrl: "http://127.0.0.1:9090", port: 8680 });
 * // open http://127.0.0.1:8680/
 * await server.shutdown();
 * ```
 * @module
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import "uplot"; // keeps the package in the module graph (its files are inlined below)
import { PROJECT_ROOT } from "../env/mod.ts";
import { monitoringRoute } from "../monitoring/mod.ts";

/** Folder of the Grafana dashboards. */
export const DASHBOARDS_DIR: string = join(PROJECT_ROOT, "compose/grafana/dashboards");

/** The platform's dashboards, in page order. */
export const FINAL_DASHBOARDS: string[] = [
  "final-overview.json",
  "final-pipeline.json",
  "final-analytics.json",
];

/** A Grafana panel as the page draws it. */
export interface DashboardPanel {
  dashboard: string;
  id: number;
  title: string;
  type: string;
  unit: string;
  targets: { expr: string; legend: string }[];
}

/** One drawn series of a panel (at least one point). */
export interface PanelSeries {
  label: string;
  /** `[unix seconds, value]` pairs (NaN/Inf dropped). */
  points: [number, number][];
}

/** A panel with its data. */
export interface PanelData extends DashboardPanel {
  series: PanelSeries[];
  /** Errors of the panel's queries (Prometheus refused or failed them). */
  errors: string[];
}

/** Reads the panels of the platform's dashboards. */
export async function loadDashboardPanels(
  dir: string = DASHBOARDS_DIR,
  files: string[] = FINAL_DASHBOARDS,
): Promise<DashboardPanel[]> {
  const out: DashboardPanel[] = [];
  for (const file of files) {
    const dash = JSON.parse(await Deno.readTextFile(join(dir, file)));
    for (const p of dash.panels ?? []) {
      out.push({
        dashboard: dash.title ?? file,
        id: p.id,
        title: p.title,
        type: p.type,
        unit: p.fieldConfig?.defaults?.unit ?? "none",
        targets: (p.targets ?? []).map((t: { expr: string; legendFormat?: string }) => ({
          expr: t.expr,
          legend: t.legendFormat ?? "",
        })),
      });
    }
  }
  return out;
}

/** Grafana's variables replaced for a plain Prometheus query. */
export function expandExpr(expr: string, rangeSec: number, stepSec: number): string {
  const rate = `${Math.max(4 * stepSec, 60)}s`;
  return expr.replaceAll("$__rate_interval", rate).replaceAll("$__range", `${rangeSec}s`);
}

/** A legend format (`{{topic}} on {{cluster}}`) filled from a series' labels. */
export function formatLegend(format: string, labels: Record<string, string>): string {
  const text = format.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_, k) => labels[k] ?? "")
    .replace(/\s+/g, " ").trim();
  if (text) return text;
  const { __name__: name, ...rest } = labels;
  return `${name ?? ""}{${Object.entries(rest).map(([k, v]) => `${k}="${v}"`).join(",")}}`;
}

/** Options of {@linkcode queryPanels}. */
export interface QueryPanelsOptions {
  /** Base URL of Prometheus. */
  prometheusUrl: string;
  /** Time range, ending now. @default 1800 */
  rangeSec?: number;
  /** Resolution. @default 15 */
  stepSec?: number;
  /** End of the range (unix seconds). @default now */
  end?: number;
}

/** Runs every panel's queries over the range (query_range) and returns the panels with data. */
export async function queryPanels(
  panels: DashboardPanel[],
  options: QueryPanelsOptions,
): Promise<PanelData[]> {
  const { prometheusUrl, rangeSec = 1800, stepSec = 15, end = Date.now() / 1000 } = options;
  if (!Number.isInteger(rangeSec) || rangeSec < 60) {
    throw new RangeError(
      `Cannot query panels as 'rangeSec' must be an integer ≥ 60: current value is ${rangeSec}`,
    );
  }
  const start = end - rangeSec;
  return await Promise.all(panels.map(async (panel) => {
    const series: PanelSeries[] = [];
    const errors: string[] = [];
    for (const t of panel.targets) {
      const params = new URLSearchParams({
        query: expandExpr(t.expr, rangeSec, stepSec),
        start: String(start),
        end: String(end),
        step: String(stepSec),
      });
      try {
        const res = await fetch(`${prometheusUrl}/api/v1/query_range?${params}`, {
          signal: AbortSignal.timeout(10_000),
        });
        const body = await res.json();
        if (body.status !== "success") {
          errors.push(`${t.expr}: ${body.error ?? res.status}`);
          continue;
        }
        for (
          const r of body.data.result as {
            metric: Record<string, string>;
            values: [number, string][];
          }[]
        ) {
          const points = r.values.map(([ts, v]) => [ts, Number(v)] as [number, number])
            .filter(([, v]) => Number.isFinite(v));
          // A series with no finite value (e.g. a quantile of no traffic: NaN) has nothing to
          // draw; it is left out, so a panel counts only the series it draws.
          if (points.length > 0) series.push({ label: formatLegend(t.legend, r.metric), points });
        }
      } catch (err) {
        errors.push(`${t.expr}: ${(err as Error).message}`);
      }
    }
    return { ...panel, series, errors };
  }));
}

function packageFile(path: string): string {
  const require = createRequire(import.meta.url);
  return Deno.readTextFileSync(require.resolve(path));
}

/** Options of {@linkcode renderDashboardHtml}. */
export interface RenderOptions {
  /** Page title. @default "Marketplace platform" */
  title?: string;
  /** Where the page fetches data from (served mode). @default "/api/panels" */
  dataUrl?: string;
  /** Data embedded in the page (snapshot mode: no fetching). */
  data?: PanelData[];
  /** Prometheus the data comes from (shown on the page). */
  prometheusUrl?: string;
}

/** The page's own style (uPlot's comes before it). */
const PAGE_STYLE = `body{font-family:system-ui,sans-serif;margin:16px;background:#fafafa;color:#222}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:20px 0 8px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,520px),1fr));gap:12px}
.panel{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px;min-width:0}
.panel h3{font-size:14px;margin:0 0 4px} .stat{font-size:22px;font-weight:600}
.nodata{color:#888;font-size:13px;padding:24px 0} .err{color:#b00;font-size:12px}
`;

/** The page's chart code: `fmt` (a value in a panel's unit) and `draw` (every panel's chart). */
const DRAW_SCRIPT = `function fmt(v, unit) {
  if (unit === "percentunit") return (v * 100).toFixed(1) + "%";
  if (unit === "s") return v < 1 ? (v * 1000).toFixed(0) + " ms" : v.toFixed(2) + " s";
  return Math.abs(v) >= 1000 ? v.toFixed(0) : String(Math.round(v * 100) / 100);
}
function draw(panels) {
  for (const c of charts.splice(0)) c.destroy();
  const root = document.getElementById("root");
  root.textContent = "";
  let board = null, grid = null;
  for (const p of panels) {
    if (p.dashboard !== board) {
      board = p.dashboard;
      const h = document.createElement("h2"); h.textContent = board; root.appendChild(h);
      grid = document.createElement("div"); grid.className = "grid"; root.appendChild(grid);
    }
    const el = document.createElement("div");
    el.className = "panel"; el.dataset.title = p.title; el.dataset.series = String(p.series.length);
    const h = document.createElement("h3"); h.textContent = p.title; el.appendChild(h);
    grid.appendChild(el);
    for (const e of p.errors) {
      const d = document.createElement("div"); d.className = "err"; d.textContent = e; el.appendChild(d);
    }
    const series = p.series;
    if (series.length === 0) {
      const d = document.createElement("div"); d.className = "nodata";
      d.textContent = "no data: Prometheus has no series for this panel (its service is not " +
        "running or not scraped, or has not counted anything yet)"; el.appendChild(d);
      continue;
    }
    if (p.type === "stat") {
      const d = document.createElement("div"); d.className = "stat";
      d.textContent = series.map((s) => (series.length > 1 ? s.label + ": " : "") +
        fmt(s.points[s.points.length - 1][1], p.unit)).join("  ·  ");
      el.appendChild(d);
    }
    const xs = [...new Set(series.flatMap((s) => s.points.map((pt) => pt[0])))].sort((a, b) => a - b);
    const cols = series.map((s) => {
      const m = new Map(s.points); return xs.map((x) => (m.has(x) ? m.get(x) : null));
    });
    const opts = {
      width: Math.max(200, el.clientWidth - 16), height: p.type === "stat" ? 90 : 220,
      series: [{}, ...series.map((s, i) => ({
        label: s.label, stroke: PALETTE[i % PALETTE.length], width: 2, spanGaps: true,
        points: { show: true, size: 5, fill: PALETTE[i % PALETTE.length] },
        value: (u, v) => (v == null ? "–" : fmt(v, p.unit)),
      }))],
      axes: [{}, { values: (u, vals) => vals.map((v) => fmt(v, p.unit)), size: 60 }],
      legend: { show: p.type !== "stat" },
    };
    charts.push(new uPlot(opts, [xs, ...cols], el));
  }
  document.body.dataset.panels = String(panels.length);
  document.body.dataset.ready = "true";
}
// The charts follow the window's width: a resize redraws them at their panels' new width.
let lastPanels = null, resizing = 0;
addEventListener("resize", () => {
  cancelAnimationFrame(resizing);
  resizing = requestAnimationFrame(() => lastPanels && draw(lastPanels));
});
`;

/** HTML-escapes `s` for the page's text and attributes. */
function esc(s: string): string {
  return s.replace(
    /[&<>"]/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!,
  );
}

/** `v` as JSON that is safe inside a `<script>`. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, "\\u003c");
}

/** The page's script: the data embedded (snapshot) or fetched from `dataUrl` every 15 s. */
function pageScript(data: PanelData[] | undefined, dataUrl: string): string {
  return `const PALETTE = ["#1f77b4","#d62728","#2ca02c","#ff7f0e","#9467bd","#8c564b","#e377c2","#17becf"];
const EMBEDDED = ${data ? scriptJson(data) : "null"};
const charts = [];
${DRAW_SCRIPT}async function refresh() {
  try {
    const panels = EMBEDDED ?? await (await fetch(${scriptJson(dataUrl)})).json();
    lastPanels = panels;
    draw(panels);
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (err) {
    document.getElementById("updated").textContent = "failed: " + err.message;
  }
}
refresh();
if (!EMBEDDED) setInterval(refresh, 15000);
`;
}

/** The dashboard page: uPlot's script and style inlined, one chart per panel. */
export function renderDashboardHtml(options: RenderOptions = {}): string {
  const {
    title = "Marketplace platform",
    dataUrl = "/api/panels",
    data,
    prometheusUrl = "",
  } = options;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>${packageFile("uplot/dist/uPlot.min.css")}</style>
<style>
${PAGE_STYLE}</style></head><body>
<h1>${esc(title)}</h1>
<div id="meta">Prometheus: ${esc(prometheusUrl)} · <span id="updated">loading…</span></div>
<div id="root"></div>
<script>${packageFile("uplot/dist/uPlot.iife.min.js")}</script>
<script>
${pageScript(data, dataUrl)}</script></body></html>
`;
}

/** Options of {@linkcode serveDashboard}. */
export interface ServeDashboardOptions extends Omit<QueryPanelsOptions, "end"> {
  /** TCP port; 0 picks a free one. @default 0 */
  port?: number;
  /** Address to listen on. @default "127.0.0.1" */
  hostname?: string;
  /** Panels to draw. @default the platform's dashboards */
  panels?: DashboardPanel[];
}

/**
 * Serves the page on `/`, the panels' data on `/api/panels`, and lib/monitoring's `/metrics`
 * and `/healthz`.
 */
export async function serveDashboard(
  options: ServeDashboardOptions,
): Promise<Deno.HttpServer<Deno.NetAddr>> {
  const { port = 0, hostname = "127.0.0.1", panels, ...query } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(
      `Cannot serve the dashboard as 'port' must be 0..65535: current value is ${port}`,
    );
  }
  const list = panels ?? await loadDashboardPanels();
  const page = renderDashboardHtml({ prometheusUrl: query.prometheusUrl });
  return Deno.serve({ hostname, port, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/") {
      return new Response(page, { headers: { "content-type": "text/html; charset=utf-8" } });
    }
    if (path === "/api/panels") {
      return Response.json(await queryPanels(list, query));
    }
    const monitored = monitoringRoute(path);
    if (monitored) return await monitored;
    return new Response("not found\n", { status: 404 });
  });
}
