/**
 * What every stage of a platform run shares ({@linkcode PlatformRun}): the stack, the stage
 * printer, the platform's services, where to look when a stage fails, and the one way a stage
 * waits — {@linkcode PlatformRun.wait}, which polls a condition that reports what it sees,
 * prints each new sight as a progress line, and on timeout says what it waited for and what
 * it saw last.
 *
 * @example
 * ```ts
 * import { platformRun } from "./context.ts";
 * const run = platformRun(stack, { out: console.log, stageTimeoutMs: 180_000 });
 * await run.wait("every row", async (saw) => (saw(`${n}/37 rows`), n >= 37));
 * ```
 * @module
 */
import { pollUntil, WaitTimeoutError } from "../../env/mod.ts";
import { ConnectClient } from "../../connect/mod.ts";
import type { DenoService, Stack } from "../../stack/mod.ts";
import { Stages } from "../stages.ts";
import { connectorLook, logLook } from "./look.ts";
import { platformServices } from "./services.ts";

/** Tells a wait what its condition sees now (printed when it changes; named on timeout). */
export type Saw = (what: string) => void;

/** What every stage of a run shares. */
export interface PlatformRun {
  stack: Stack;
  stages: Stages;
  out: (line: string) => void;
  /**
   * Polls `fn` until it returns a truthy value, for at most the stage timeout. `fn` reports
   * what it sees through `saw`; a timeout names `what` and the last thing seen.
   */
  wait: <T>(what: string, fn: (saw: Saw) => T | Promise<T>) => Promise<NonNullable<T>>;
  services: DenoService[];
  /** A platform service by name. */
  svc: (name: string) => DenoService;
  /** Where to look when a stage waiting on a platform service fails: its log. */
  look: (name: string) => () => Promise<string>;
  /** Where to look when a stage waiting on Kafka Connect fails: connectors' state, its log. */
  connectLook: (...connectors: string[]) => () => Promise<string>;
  /** Where to look at another stack service's log. */
  logOf: (service: string, path: string) => () => Promise<string>;
  /** This stack's `deno task stack` command (with its STACK_DIR and offset). */
  stackCmd: string;
}

/** The run's shared context on `stack`. */
export function platformRun(
  stack: Stack,
  o: { out: (line: string) => void; stageTimeoutMs: number },
): PlatformRun {
  const services = platformServices(stack);
  const svc = (name: string) => services.find((s) => s.name === name)!;
  const { dir, portOffset } = stack.options;
  const stackCmd = `STACK_DIR=${dir} STACK_PORT_OFFSET=${portOffset} deno task stack`;
  const logOf = (service: string, path: string) => () => logLook({ service, path, stackCmd });
  return {
    stack,
    stages: new Stages(o.out),
    out: o.out,
    wait: (what, fn) => waitSeeing(what, fn, o.stageTimeoutMs, o.out),
    services,
    svc,
    look: (name) => logOf(name, svc(name).log),
    connectLook: (...connectors) => async () => {
      const connect = new ConnectClient({ url: stack.connect!.url() });
      const states = await Promise.all(connectors.map((c) => connectorLook(connect, c)));
      const name = stack.connect!.name;
      return [...states, await logOf(name, stack.connect!.log)()].join("\n");
    },
    logOf,
    stackCmd,
  };
}

/** {@linkcode PlatformRun.wait}: polls once a second, printing each new sight. */
async function waitSeeing<T>(
  what: string,
  fn: (saw: Saw) => T | Promise<T>,
  timeoutMs: number,
  out: (line: string) => void,
): Promise<NonNullable<T>> {
  let last: string | undefined;
  const saw: Saw = (s) => {
    if (s !== last) out(`  … ${s}`);
    last = s;
  };
  try {
    return await pollUntil(what, () => fn(saw), { timeoutMs, intervalMs: 1_000 });
  } catch (err) {
    if (!(err instanceof WaitTimeoutError)) throw err;
    const error = err.last === undefined
      ? ""
      : `; the last check failed: ${err.last instanceof Error ? err.last.message : err.last}`;
    throw new Error(
      `waited ${(timeoutMs / 1000).toFixed(0)} s for ${what}; saw ${last ?? "nothing yet"}` +
        error,
    );
  }
}
