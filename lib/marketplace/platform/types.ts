/**
 * The platform run's types: the analytics engine the caller brings, the options of
 * `runPlatform`, the counts it sees and the reconciled summary it returns.
 * @module
 */
import type { Stack } from "../../stack/mod.ts";
import type { WebHdfs } from "../../lake/mod.ts";
import type { SimulationReport } from "../users_sim.ts";

/** The analytics engine the caller brings (jobs/ lives above lib: e.g. DuckDB). */
export interface PlatformAnalytics {
  /** Runs every job over the lake and commits the marts; returns each mart's row count. */
  run: (hdfs: WebHdfs) => Promise<{ marts: { name: string; rows: number }[] }>;
  /** Reads a committed mart as rows. */
  readMart: (hdfs: WebHdfs, mart: string) => Promise<Record<string, unknown>[]>;
  /** Name shown in the summary and in the recommendations' `model`. @default "duckdb" */
  engine?: string;
}

/** Options of `runPlatform`. */
export interface PlatformOptions {
  /** The stack to run on (its options are extended with `PLATFORM_STACK_OPTIONS`). */
  stack: Stack;
  /** The analytics engine. */
  analytics: PlatformAnalytics;
  /** Appended to every sample product id (tests on a shared stack). @default "" */
  productIdSuffix?: string;
  /** Simulated users. @default 12 */
  users?: number;
  /** Seconds of simulated activity (ignored with `sessions`). @default 20 */
  durationS?: number;
  /** Sessions per user instead of a duration. */
  sessions?: number;
  /** Number of the first simulated user (`user-<n>`). @default from the clock, new each run */
  firstUser?: number;
  /** Free disk needed under the stack folder, in GiB. @default 4 */
  minFreeGiB?: number;
  /** Longest wait of any stage, in ms. @default 180000 */
  stageTimeoutMs?: number;
  /** Progress lines. @default console.log */
  out?: (line: string) => void;
  /**
   * Stop the platform's Deno services when the run ends (a test on a shared stack, where a
   * second product filter would pass other tests' products too). @default false
   */
  stopServices?: boolean;
}

/** A product of the run on the forbidden list as it stood when the run began. */
export interface ForbiddenOfRun {
  product_id: string;
  reason: string;
  /** Forbidden by this run (the demo's two), not before it. */
  byThisRun: boolean;
}

/** One reconciliation line: what must equal what, OK or MISMATCH. */
export interface Check {
  what: string;
  left: number;
  right: number;
  ok: boolean;
  detail: string;
}

/** Records per stage, for this run. */
export interface PlatformCounts {
  sent: number;
  accepted: number;
  refused: number;
  input: number;
  products: number;
  forbidden: number;
  dlq: number;
  postgresRows: number;
  postgresForbiddenRows: number;
  /** Per mirrored topic: records of this run on A, on B, in the lake. */
  mirrored: Record<string, { a: number; b: number; lake: number }>;
}

/** What `runPlatform` returns: counts per stage, reconciliation, marts, URLs. */
export interface PlatformSummary {
  /** Every check OK. */
  ok: boolean;
  checks: Check[];
  /** Products of this run (sample + suffix). */
  productIds: string[];
  /** Those of them on the forbidden list (the run's two and any forbidden before). */
  forbiddenIds: string[];
  /** The same with reasons. */
  forbidden: ForbiddenOfRun[];
  /** Records per stage, for this run. */
  counts: PlatformCounts;
  /** Why each bad product was refused. */
  refusals: { product: string; status: number; reason: string }[];
  simulation: Pick<SimulationReport, "users" | "sessions" | "requests" | "events" | "failures">;
  users: { first: number; count: number };
  marts: { name: string; rows: number; top: Record<string, unknown>[] }[];
  recommendations: { users: number; user: string; served: string[] };
  urls: Record<string, string>;
  stages: { stage: string; seconds: number }[];
  seconds: number;
}
