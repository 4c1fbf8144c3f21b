/**
 * `bench:platform`: the running platform under open-loop load at stepped rates, latency per
 * route and per hop read by readers that are not the services. One module per job: `load.ts`
 * (SHOP API and CLIENT API load), `hops.ts` (the readers), `step.ts` (one step), `run.ts` (the
 * steps on a stack), `report.ts` (targets, tables, what held), `chart.ts` (the SVG).
 *
 * @example
 * ```ts
 * import { platformChart, platformReport, runPlatformBench } from "./mod.ts";
 * const steps = await runPlatformBench(stack, { shopRates: [100], clientRates: [50], seconds: 5 });
 * ```
 * @module
 */
export * from "./load.ts";
export * from "./hops.ts";
export * from "./step.ts";
export * from "./run.ts";
export * from "./report.ts";
export * from "./chart.ts";
