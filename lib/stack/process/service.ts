/**
 * The contract every service of the local stack fulfils, so that a stack is a list of them.
 * @module
 */

/** One process of a service as `stack status` shows it. */
export interface ProcessStatus {
  /** Service and process name, e.g. `kafka-main-0`. */
  name: string;
  /** Pid when running. */
  pid?: number;
  /** `running`, `stopped` or `stale` (pid file left by a process that is gone). */
  state: "running" | "stopped" | "stale";
  /** Ports it listens on, by purpose. */
  ports: Record<string, number>;
  /** Result of a live health probe when running. */
  health?: string;
  /** Log file. */
  log: string;
}

/** A service of the stack: one or more processes started and stopped together. */
export interface Service {
  /** Short name, e.g. `kafka-main` or `postgres`. */
  readonly name: string;
  /** Starts what is not running and waits until it serves. A running service is left alone. */
  start(): Promise<void>;
  /** Stops every process of the service; leaves none behind. */
  stop(): Promise<void>;
  /** Status of each process, with a health probe for running ones. */
  status(): Promise<ProcessStatus[]>;
}

/** Raised when a service fails to start or become ready; carries the tail of its log. */
export class StackError extends Error {
  override name = "StackError";
}
