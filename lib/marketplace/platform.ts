/**
 * The platform as one job (`deno task demo`): brings up the final profile of the local stack,
 * runs the marketplace end to end in named stages and returns a summary that reconciles every
 * hop — so the task prints it and a test asserts the same code path.
 *
 * The run, stage by stage ({@linkcode Stages}; a failing stage stops the run, naming itself,
 * what it waited for and what it saw last, and where to look — the tail of its service's log,
 * or that the log is empty and which service it is):
 *
 * 1. the stack: the user's saved shape plus what the platform needs (secure cluster A,
 *    PostgreSQL, Connect, HDFS, Prometheus + Alertmanager, cluster B + MirrorMaker 2);
 * 2. topics, ACLs and store keys (`final:setup`), the two connectors (Debezium CDC of the
 *    forbidden list, JDBC sink of products);
 * 3. two sample products forbidden in PostgreSQL; then the forbidden list as it stands —
 *    every product of this run on it, also those forbidden before (`final:forbid`, the seed's
 *    step 4) — waited for until the compacted `forbidden-products` (the filter's table) agrees
 *    with it; the run expects exactly those blocked and all others in PostgreSQL;
 * 4. the services as detached stack services ({@linkcode DenoService}: SHOP API, product
 *    filter, CLIENT API, lake sink, platform exporter) — they keep running after the job;
 *    `deno task stack down` stops them with the stack;
 * 5. the sample products through the SHOP API, plus a few bad ones (refused with reasons);
 * 6. the filter's outcome (products / products.blocked / DLQ, read_committed) and the JDBC
 *    sink's rows in PostgreSQL;
 * 7. simulated users through the CLIENT API;
 * 8. MirrorMaker 2 (A = B per mirrored topic), the lake on HDFS (B = lake per topic);
 * 9. the analytics (an engine given by the caller, e.g. DuckDB), recommendations published and
 *    served by the CLIENT API for one user.
 *
 * Everything is counted for THIS run only: Kafka records from the offsets the run started at
 * (and with this run's product ids, user ids and request ids), lake rows by the cluster-B
 * offsets they carry — so a second run, or other writers on the same stack, still reconcile.
 *
 * Before anything starts, `preflight` refuses a machine without Java 17+, with a
 * port of a stopped service taken, with too little free disk under the stack folder, or a
 * second run on the same stack (the lock file `<stack>/demo.lock` names the pid holding it).
 *
 * The parts, one job each, under `platform/`: `services.ts` (what runs on the stack),
 * `preflight.ts` (the checks and the lock), `records.ts` (counting this run's records),
 * `forbidden_state.ts` (the forbidden list against the filter's table, pure), `context.ts`
 * (what the stages share, the wait that says what it saw), `look.ts` (where to look when a
 * stage fails), `stages.ts` (one function per stage), `reconcile.ts` (the equations, pure),
 * `summary.ts` (the lines printed) and `run.ts` ({@linkcode runPlatform}, the stages in
 * order).
 *
 * @example
 * ```ts
 * import { formatPlatformSummary, runPlatform } from "./platform.ts";
 * const summary = await runPlatform({ stack, analytics: { run, readMart } });
 * console.log(formatPlatformSummary(summary));
 * ```
 * @module
 */
export type {
  Check,
  ForbiddenOfRun,
  PlatformAnalytics,
  PlatformCounts,
  PlatformOptions,
  PlatformSummary,
} from "./platform/types.ts";
export { PLATFORM_STACK_OPTIONS, platformServices } from "./platform/services.ts";
export {
  acquirePlatformLock,
  PLATFORM_LOCK,
  PlatformRefused,
  preflight,
} from "./platform/preflight.ts";
export { reconcile, type ReconcileInput } from "./platform/reconcile.ts";
export {
  describeDifference,
  forbiddenInTopic,
  idList,
  type ListDifference,
  listDifference,
} from "./platform/forbidden_state.ts";
export { describeConnector, describeLog, type LogRef } from "./platform/look.ts";
export { formatPlatformSummary } from "./platform/summary.ts";
export { runPlatform } from "./platform/run.ts";
