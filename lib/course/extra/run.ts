/**
 * Runs one configuration of the extra task's experiment against a live Connect worker: a
 * fresh connector (own slot, own topic) snapshots `customers.users`; Connect's
 * `source-record-write-rate` and `source-record-write-total` are sampled from the worker's JMX
 * exporter until every row is written or the time is up; then everything is removed again.
 *
 * @example
 * ```ts
 * import { runExperiment } from "./run.ts";
 * import { SEED_MATRIX } from "./experiments.ts";
 * const result = await runExperiment({ config: SEED_MATRIX[0], rows: 1000, seconds: 60, … });
 * ```
 * @module
 */
import type { Admin } from "kafkajs";
import { type ConnectClient, sourceTaskMetrics } from "../../connect/mod.ts";
import { dropSlotWhenIdle, withClient } from "../../connect/mod.ts";
import { ensureTopic } from "../../kafka/mod.ts";
import { extraSourceConfig } from "./connector.ts";
import { type ExperimentConfig, type ExperimentResult, median } from "./experiments.ts";
import { sleep } from "../../env/mod.ts";

/** Options of {@linkcode runExperiment}. */
export interface RunExperimentOptions {
  config: ExperimentConfig;
  /** Index used in names. */
  index: number;
  /** Rows in the table (the run ends when that many are written). */
  rows: number;
  /** Longest measured run in seconds. */
  seconds: number;
  /** Seconds of warm-up whose rate samples are left out (Connect's rate window is 2 × 30 s, so early readings include the idle start). @default 45 */
  warmupSec?: number;
  /** URL of the `customers` database. */
  url: string;
  connect: ConnectClient;
  /** The worker's JMX exporter URL. */
  metricsUrl: string;
  admin: Admin;
  /** Replication factor of the experiment topic. */
  replicationFactor: number;
  /** Called with each sample. */
  onSample?: (s: { elapsed: number; written: number; rate: number }) => void;
}

/** Runs one configuration; see the module doc. */
export async function runExperiment(options: RunExperimentOptions): Promise<ExperimentResult> {
  const { config, index, rows, seconds, warmupSec = 45, url, connect, metricsUrl, admin } = options;
  const stamp = Date.now().toString(36);
  const name = `extra-experiment-${index}-${stamp}`;
  const slot = `exp_${index}_${stamp}`;
  const topic = `postgresql-jdbc-bulk-users-exp${index}-${stamp}`;
  await ensureTopic(admin, { topic, partitions: 1, replicationFactor: options.replicationFactor });
  const samples: number[] = [];
  let written = 0;
  let started = 0;
  let elapsed = 0;
  try {
    await connect.putConfig(
      name,
      extraSourceConfig({ url, topic, slot, dropSlotOnStop: true, ...config }),
    );
    await connect.waitRunning(name);
    // The clock starts at the first record written (snapshot set-up time is not throughput).
    const waitDeadline = Date.now() + 120_000;
    while (Date.now() < waitDeadline) {
      const m = await sourceTaskMetrics(metricsUrl, name).catch(() => undefined);
      if (m && m.writeTotal > 0) break;
      await sleep(250);
    }
    started = performance.now();
    const first = (await sourceTaskMetrics(metricsUrl, name)).writeTotal;
    while (true) {
      await sleep(2000);
      const m = await sourceTaskMetrics(metricsUrl, name);
      elapsed = (performance.now() - started) / 1000;
      written = m.writeTotal;
      if (elapsed >= warmupSec) samples.push(m.writeRate);
      options.onSample?.({ elapsed, written, rate: m.writeRate });
      if (written >= rows || elapsed >= seconds) {
        const rate = (written - first) / elapsed;
        // A run shorter than the warm-up still reports Connect's own last reading.
        if (samples.length === 0) samples.push(m.writeRate);
        return {
          ...config,
          kops: median(samples) / 1000,
          avgKops: rate / 1000,
          written,
          seconds: elapsed,
        };
      }
    }
  } finally {
    await connect.delete(name);
    // A task stuck behind a slow producer (the seed's first row) outlives Connect's graceful
    // stop with its snapshot transaction open, and an open transaction blocks the next
    // connector's CREATE_REPLICATION_SLOT: end every other session of the experiment database.
    await withClient(url, (c) =>
      c.query(
        "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()",
      )).catch(() => {});
    await dropSlotWhenIdle(url, slot).catch(() => {});
    await withClient(url, (c) => c.query(`DROP PUBLICATION IF EXISTS ${slot}_pub`)).catch(() => {});
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  }
}
