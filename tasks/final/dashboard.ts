/**
 * `deno task final:dashboard [--port P] [--minutes 30] [--out page.html]` — the platform's key
 * panels (compose/grafana/dashboards/final-*.json) drawn from the live Prometheus as one HTML
 * page with charts, for users without Grafana. Serves the page (refreshing every 15 s, with
 * `/metrics` and `/healthz` beside it) until Ctrl-C; with `--out`, writes a self-contained
 * snapshot file and exits.
 *
 * Env: PROMETHEUS_URL (default: the stack's Prometheus), STACK_DIR, STACK_PORT_OFFSET.
 */
import {
  ConfigError,
  defineTask,
  envString,
  localEndpoints,
  parseIntValue,
  runMain,
  SERVICE_ENV,
} from "../../lib/env/mod.ts";
import {
  loadDashboardPanels,
  queryPanels,
  renderDashboardHtml,
  serveDashboard,
  servicePort,
} from "../../lib/marketplace/mod.ts";
import { applyPlatformConfig } from "../../lib/marketplace/mod.ts";

const SPEC = defineTask({
  task: "final:dashboard",
  summary:
    "The platform's key Grafana panels drawn from the live Prometheus as one HTML page with charts (served until Ctrl-C, or written once with --out).",
  flags: {
    port: {
      type: "string",
      default: String(servicePort("dashboard")),
      valueName: "PORT",
      description: "HTTP port of the page (0 = any free port)",
    },
    minutes: {
      type: "string",
      default: "30",
      valueName: "N",
      description: "time range of the charts, in minutes (1–1440)",
    },
    out: {
      type: "string",
      valueName: "FILE",
      description: "write a self-contained snapshot page to FILE and exit",
    },
  },
  env: {
    PROMETHEUS_URL: {
      description: "Prometheus to query",
      default: "the running local stack's (deno task stack up --monitoring)",
    },
    ...SERVICE_ENV.stack,
  },
  examples: [
    "deno task final:dashboard",
    "deno task final:dashboard --minutes 60 --out dashboard.html",
  ],
});

await runMain(async (flags) => {
  applyPlatformConfig("tool");
  const port = parseIntValue("--port", flags.values.port ?? String(servicePort("dashboard")), {
    min: 0,
    max: 65535,
  });
  const minutes = parseIntValue("--minutes", flags.values.minutes ?? "30", { min: 1, max: 1440 });
  const prometheusUrl = envString("PROMETHEUS_URL", String(localEndpoints().prometheusUrl ?? ""));
  if (!prometheusUrl) {
    throw new ConfigError(
      "No Prometheus: start it with `deno task stack up --monitoring` or set PROMETHEUS_URL",
    );
  }
  const ready = await fetch(`${prometheusUrl}/-/ready`, { signal: AbortSignal.timeout(5000) })
    .then((r) => (r.body?.cancel(), r.ok), () => false);
  if (!ready) {
    throw new ConfigError(
      `Prometheus at ${prometheusUrl} does not answer: start it with \`deno task stack up --monitoring\``,
    );
  }
  const rangeSec = minutes * 60;
  const stepSec = Math.max(5, Math.round(rangeSec / 240));
  const panels = await loadDashboardPanels();
  if (flags.values.out) {
    const data = await queryPanels(panels, { prometheusUrl, rangeSec, stepSec });
    await Deno.writeTextFile(flags.values.out, renderDashboardHtml({ data, prometheusUrl }));
    const drawn = data.filter((p) => p.series.some((s) => s.points.length > 0)).length;
    console.log(`${flags.values.out}: ${data.length} panels, ${drawn} with data`);
    return;
  }
  const server = await serveDashboard({ prometheusUrl, port, rangeSec, stepSec, panels });
  console.log(
    `dashboard: ${panels.length} panels from ${prometheusUrl} on http://127.0.0.1:${server.addr.port}/ (Ctrl-C stops)`,
  );
  await server.finished;
}, SPEC);
