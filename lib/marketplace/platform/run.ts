/**
 * {@linkcode runPlatform}: the platform as one job — the lock and the preflight checks, then
 * the stages of `./stages.ts` one after another, then the reconciliation of what they counted
 * (`./reconcile.ts`) into the summary.
 *
 * @example
 * ```ts
 * import { runPlatform } from "./run.ts";
 * const summary = await runPlatform({ stack, analytics: { run, readMart } });
 * console.log(summary.ok, summary.checks);
 * ```
 * @module
 */
import type { Stack } from "../../stack/mod.ts";
import { acquirePlatformLock, PlatformRefused, preflight } from "./preflight.ts";
import { platformServices } from "./services.ts";
import { reconcile } from "./reconcile.ts";
import { platformRun } from "./context.ts";
import {
  badProducts,
  filterOutcome,
  forbiddenList,
  lakeOnHdfs,
  mirrorToB,
  runAnalytics,
  runProducts,
  runStart,
  sendProducts,
  serveRecommendations,
  simulateUsers,
  sinkRows,
  stackUp,
  startServices,
  topologyAndConnectors,
} from "./stages.ts";
import type { PlatformOptions, PlatformSummary } from "./types.ts";

/**
 * Runs the platform end to end on `options.stack` and returns the reconciled summary. Throws
 * {@linkcode PlatformRefused} before anything starts when the machine cannot run it, and a
 * `StageError` naming the failing stage, what it waited for and saw, and where to look.
 */
export async function runPlatform(options: PlatformOptions): Promise<PlatformSummary> {
  const {
    stack,
    users = 12,
    firstUser = Math.floor(Date.now() / 1000) * 100 % 1e11,
    minFreeGiB = 4,
    stopServices = false,
  } = options;
  if (!Number.isInteger(users) || users < 1 || users > 1000) {
    throw new RangeError(`Cannot run as 'users' must be 1 to 1000: current value is ${users}`);
  }
  const { dir, portOffset } = stack.options;
  const release = await acquirePlatformLock(dir);
  try {
    const problems = await preflight(stack, minFreeGiB);
    if (problems.length) throw new PlatformRefused(problems);
    // Clients and the services find this stack through these.
    Deno.env.set("STACK_DIR", dir);
    Deno.env.set("STACK_PORT_OFFSET", String(portOffset));
    return await runStages({ ...options, users, firstUser });
  } finally {
    if (stopServices) {
      for (const s of platformServices(stack)) await s.stop().catch(() => {});
    }
    await release();
  }
}

/** The stages of a run, in order, and the summary of what they counted. */
async function runStages(
  options: PlatformOptions & { users: number; firstUser: number },
): Promise<PlatformSummary> {
  const { stack, analytics, productIdSuffix = "", users, firstUser, sessions } = options;
  const { durationS = 20, stageTimeoutMs = 180_000, out = console.log } = options;
  const run = platformRun(stack, { out, stageTimeoutMs });

  const clients = await stackUp(run);
  await topologyAndConnectors(run, clients);
  const start = await runStart(clients);
  const { products, demoForbidden } = runProducts(productIdSuffix);
  const productIds = new Set(products.map((p) => p.product_id));
  // The list as it stands: the run's two and any forbidden before (e.g. the seed's step 4).
  const forbidden = await forbiddenList(run, clients, [...productIds], demoForbidden);
  const forbiddenIds = forbidden.map((f) => f.product_id);
  await startServices(run);
  const bad = badProducts(productIdSuffix);
  const sent = await sendProducts(run, products, bad);
  const filtered = await filterOutcome(run, clients, start, productIds, sent.accepted);
  const allowed = [...productIds].filter((id) => !forbiddenIds.includes(id));
  const pg = await sinkRows(run, clients, allowed, forbiddenIds);
  const sim = await simulateUsers(run, { users, firstUser, durationS, sessions });
  const userIds = new Set(Array.from({ length: users }, (_, i) => `user-${firstUser + i}`));
  const ids = { productIds, userIds, requestIds: new Set(sim.requestIds) };
  const mirrored = await mirrorToB(run, clients, start, ids);
  await lakeOnHdfs(run, clients, start, ids, mirrored);
  const marts = await runAnalytics(run, clients, analytics);
  const recommendations = await serveRecommendations(run, clients, analytics, userIds);

  const counts = {
    sent: products.length + bad.length,
    accepted: sent.accepted,
    refused: sent.refusals.length,
    ...filtered,
    postgresRows: pg.rows,
    postgresForbiddenRows: pg.forbiddenRows,
    mirrored,
  };
  const forbiddenSent = products.filter((p) => forbiddenIds.includes(p.product_id)).length;
  const checks = reconcile({ ...counts, forbiddenSent, allowed: allowed.length });
  return {
    ok: checks.every((x) => x.ok),
    checks,
    productIds: [...productIds],
    forbiddenIds,
    forbidden,
    counts,
    refusals: sent.refusals,
    simulation: {
      users: sim.users,
      sessions: sim.sessions,
      requests: sim.requests,
      events: sim.events,
      failures: sim.failures,
    },
    users: { first: firstUser, count: users },
    marts,
    recommendations,
    urls: platformUrls(stack, run.svc("shop-api").port, run.svc("client-api").port),
    stages: run.stages.timings,
    seconds: run.stages.elapsed,
  };
}

/** Where to look once the run is done. */
function platformUrls(stack: Stack, shopPort: number, clientPort: number): Record<string, string> {
  const { dir, portOffset } = stack.options;
  return {
    "SHOP API": `http://127.0.0.1:${shopPort}/products`,
    "CLIENT API": `http://127.0.0.1:${clientPort}/products/search?q=часы`,
    Prometheus: stack.prometheus?.url() ?? "-",
    Alertmanager: stack.alertmanager?.url() ?? "-",
    "HDFS UI": `http://127.0.0.1:${stack.hdfs!.ports.http}/explorer.html#/lake`,
    Dashboard: `STACK_DIR=${dir} STACK_PORT_OFFSET=${portOffset} deno task final:dashboard`,
    Stop: `STACK_DIR=${dir} STACK_PORT_OFFSET=${portOffset} deno task stack down`,
  };
}
