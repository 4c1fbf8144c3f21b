/**
 * The watchdog of MirrorMaker 2: restarts it when one of its tasks has failed for good.
 *
 * A Connect task that throws an unrecoverable error — with exactly-once source support, any
 * fatal error of its transactional producer: fenced by a newer producer of the same
 * transactional id, `InvalidTxnStateException` at commit after a broker of either cluster went
 * away mid-transaction — is left FAILED "until manually restarted". A Connect cluster has a
 * REST call for that (`POST /connectors/…/tasks/0/restart`); MirrorMaker in dedicated mode has
 * none (its KIP-710 server only serves the nodes' internal calls), so the JVM keeps running,
 * copies nothing, and B and the lake fall behind for good. The watchdog reads the task status
 * that MirrorMaker's JMX exporter serves (`kafka_connect_connector_task_status`, the series the
 * alert rules read too) every few seconds; a task of MirrorMaker's connectors seen FAILED on
 * `confirmPolls` reads in a row makes it stop MirrorMaker (gracefully: its other tasks commit)
 * and start it again — the new task resumes from the source offsets committed on B, so nothing
 * is copied twice (KIP-618).
 *
 * It restarts only a MirrorMaker that runs: one that is stopped or was killed is somebody's
 * decision (`stack stop`, a crash drill) and stays as it is. The stack runs the watchdog as a
 * service of its own (`mirror-watchdog`, `tasks/stack_mirror_watchdog.ts`) beside every
 * MirrorMaker that has a JMX exporter; its restarts are counted on its `/metrics`.
 *
 * @example
 * ```ts
 * import { MirrorWatchdog } from "./mirror_watchdog.ts";
 * import { Stack } from "../stack.ts";
 * const stack = await Stack.load(".stack");
 * const watchdog = new MirrorWatchdog({ mirrorMaker: stack.mirrorMaker! });
 * console.log(await watchdog.check()); // { state: "ok" }
 * ```
 * @module
 */
import type { MirrorMaker } from "./mirror_maker.ts";

/** What one look at MirrorMaker found. */
export type WatchVerdict =
  /** Running, no task failed. */
  | { state: "ok" }
  /** Not running (stopped or killed): left alone. */
  | { state: "absent" }
  /** Running, its metrics unreadable (starting, or too busy to answer): looked at again. */
  | { state: "unreadable"; error: string }
  /** A task failed; restarted once it has been seen failed `confirmPolls` times in a row. */
  | { state: "failed"; tasks: string[]; seen: number }
  /** Restarted after its tasks failed; `error` when the start did not come up. */
  | { state: "restarted"; tasks: string[]; error?: string };

/** Options of a {@linkcode MirrorWatchdog}. */
export interface MirrorWatchdogOptions {
  /** The MirrorMaker to watch (it must have a JMX exporter). */
  mirrorMaker: MirrorMaker;
  /** Reads in a row that must see a task failed before the restart. @default 2 */
  confirmPolls?: number;
}

/** Looks at MirrorMaker and restarts it when its tasks have failed; see the module doc. */
export class MirrorWatchdog {
  /** Restarts done. */
  restarts = 0;
  readonly #mm: MirrorMaker;
  readonly #confirm: number;
  #seen = 0;

  constructor(options: MirrorWatchdogOptions) {
    const { mirrorMaker, confirmPolls = 2 } = options;
    if (!mirrorMaker.jmxPort) {
      throw new RangeError(
        "Cannot watch MirrorMaker 2 as it has no JMX exporter ('jmxPort' is 0): its task status is read there",
      );
    }
    if (!Number.isInteger(confirmPolls) || confirmPolls < 1) {
      throw new RangeError(
        `Cannot watch MirrorMaker 2 as 'confirmPolls' must be a positive integer: current value is ${confirmPolls}`,
      );
    }
    this.#mm = mirrorMaker;
    this.#confirm = confirmPolls;
  }

  /** One look: reads the task status and restarts MirrorMaker when that is due. */
  async check(): Promise<WatchVerdict> {
    if (this.#mm.pid() === undefined) {
      this.#seen = 0;
      return { state: "absent" };
    }
    let tasks: string[];
    try {
      tasks = await this.#mm.failedTasks();
    } catch (err) {
      return { state: "unreadable", error: (err as Error).message };
    }
    if (!tasks.length) {
      this.#seen = 0;
      return { state: "ok" };
    }
    if (++this.#seen < this.#confirm) return { state: "failed", tasks, seen: this.#seen };
    this.#seen = 0;
    this.restarts++;
    await this.#mm.stop();
    const error = await this.#mm.start().then(() => undefined, (err) => (err as Error).message);
    return { state: "restarted", tasks, ...(error ? { error } : {}) };
  }
}
