/**
 * The platform soak (`deno task soak:platform`): products and simulated users flowing while
 * the platform's components are killed with SIGKILL on a seeded schedule and restarted, then
 * every hop reconciled with independent readers. One module per job: `schedule.ts` (the seeded
 * kills, pure), `load.ts` (the load, recording what was acknowledged), `kill.ts` (kill -9 and
 * restart per component), `readers.ts` (what landed, by the project's clients and by
 * independent ones), `reconcile.ts` (the checks, pure), `check.ts` (the table of a run) and
 * `run.ts` ({@linkcode runSoak}).
 * @module
 */
export * from "./schedule.ts";
export * from "./reconcile.ts";
export * from "./load.ts";
export * from "./kill.ts";
export * from "./readers.ts";
export * from "./check.ts";
export * from "./run.ts";
