/**
 * `deno task extra:experiments [--rows 9000000] [--seconds 150] [--only 1,3]` — the extra
 * task's throughput experiment on the running stack (`deno task stack up --connect`): makes
 * sure customers.users holds `--rows` rows (loading the missing ones), runs the seed's three
 * configurations and further ones, each as a fresh connector, and writes
 * bench-results/extra/experiments.{json,md,svg}. Prints the best ÷ baseline ratio.
 */
import cliProgress from "cli-progress";
import process from "node:process";
import { join } from "node:path";
import { ConfigError, defineTask, parseIntValue, runMain, SERVICE_ENV } from "../../lib/env/mod.ts";
import { ConnectClient, connectMetricsUrlFromEnv } from "../../lib/connect/mod.ts";
import { postgresUrlFromEnv, withClient } from "../../lib/connect/mod.ts";
import { createKafka, KAFKA_ENV, kafkaConfigFromEnv } from "../../lib/kafka/mod.ts";
import {
  type ExperimentResult,
  markdownTable,
  MORE_MATRIX,
  SEED_MATRIX,
  svgChart,
} from "../../lib/course/extra/mod.ts";
import { runExperiment } from "../../lib/course/extra/mod.ts";
import { loadUsers, setupUsers } from "../../lib/course/extra/mod.ts";
import { PROJECT_ROOT } from "../../lib/env/mod.ts";

const SPEC = defineTask({
  task: "extra:experiments",
  summary:
    "The extra task's throughput experiment: loads customers.users to --rows, runs the seed's configurations and more, each as a fresh connector; writes bench-results/extra/.",
  flags: {
    rows: {
      type: "string",
      default: "9000000",
      valueName: "N",
      description: "rows the table must hold",
    },
    seconds: {
      type: "string",
      default: "150",
      valueName: "S",
      description: "longest run per configuration",
    },
    only: {
      type: "string",
      default: "all",
      valueName: "1,3",
      description: "run only these experiments (1-based, comma-separated)",
    },
    out: {
      type: "string",
      default: "bench-results/extra",
      valueName: "DIR",
      description: "output folder",
    },
  },
  env: {
    ...SERVICE_ENV.connect,
    ...SERVICE_ENV.postgres,
    ...KAFKA_ENV,
  },
  examples: ["deno task extra:experiments --rows 200000 --only 1,2"],
});

await runMain(async (cli) => {
  const flags = cli;
  if (flags.positional.length) {
    throw new ConfigError(`Unexpected argument '${flags.positional[0]}'`);
  }
  const rows = parseIntValue("--rows", flags.values.rows ?? "9000000", { min: 1 });
  const seconds = parseIntValue("--seconds", flags.values.seconds ?? "150", { min: 5 });
  const matrix = [...SEED_MATRIX, ...MORE_MATRIX];
  let picked = matrix.map((_, i) => i);
  if (flags.values.only) {
    picked = flags.values.only.split(",").map((s) =>
      parseIntValue("--only", s.trim(), { min: 1, max: matrix.length }) - 1
    );
  }
  const out = flags.values.out ?? join(PROJECT_ROOT, "bench-results", "extra");

  const url = await setupUsers({ url: postgresUrlFromEnv() });
  const have = await withClient(
    url,
    async (c) => Number((await c.query("select count(*) n from users")).rows[0].n),
  );
  if (have < rows) {
    const bar = new cliProgress.SingleBar({
      format: "Loading users [{bar}] {percentage}% | {value}/{total} rows | ETA {eta}s",
      stream: process.stderr,
      noTTYOutput: true,
      notTTYSchedule: 10_000,
    }, cliProgress.Presets.shades_classic);
    bar.start(rows - have, 0);
    await loadUsers({ url, rows: rows - have, onProgress: (n) => bar.update(n) });
    bar.stop();
  }
  const tableRows = Math.max(rows, have);
  console.log(`customers.users holds ${tableRows} rows; each configuration runs up to ${seconds}s`);

  const connect = new ConnectClient();
  const info = await connect.info();
  const kafka = createKafka(
    kafkaConfigFromEnv({ clientId: "extra-experiments", logLevel: "ERROR" }),
  );
  const admin = kafka.admin();
  await admin.connect();
  const brokers = (await admin.describeCluster()).brokers.length;
  const results: ExperimentResult[] = [];
  try {
    for (const i of picked) {
      const config = matrix[i];
      const bar = new cliProgress.SingleBar({
        format: `Experiment ${
          config.label.padEnd(24)
        } [{bar}] {value}s/{total}s | {written} records | {rate} rec/s`,
        stream: process.stderr,
        noTTYOutput: true,
        notTTYSchedule: 10_000,
      }, cliProgress.Presets.shades_classic);
      bar.start(seconds, 0, { written: 0, rate: 0 });
      const r = await runExperiment({
        config,
        index: i + 1,
        rows: tableRows,
        seconds,
        url,
        connect,
        metricsUrl: connectMetricsUrlFromEnv(),
        admin,
        replicationFactor: Math.min(3, brokers),
        onSample: (s) =>
          bar.update(Math.min(seconds, Math.round(s.elapsed)), {
            written: s.written,
            rate: Math.round(s.rate),
          }),
      });
      bar.stop();
      results.push(r);
      console.log(
        `  ${r.label}: Source Record Write Rate ${r.kops.toFixed(3)} kops/s ` +
          `(written ÷ time ${r.avgKops.toFixed(3)} kops/s, ${r.written} records in ${
            r.seconds.toFixed(0)
          }s)`,
      );
    }
  } finally {
    await admin.disconnect();
  }
  const best = results.reduce((a, b) => (b.kops > a.kops ? b : a), results[0]);
  const ratio = best.kops / results[0].kops;
  const md =
    `Kafka Connect ${info.version}, Debezium PostgresConnector snapshot of ${tableRows} rows, ` +
    `${brokers} brokers, ${new Date().toISOString()}\n\n${markdownTable(results)}\n\n` +
    `Best: ${best.label}, ${best.kops.toFixed(3)} kops/s = ${ratio.toFixed(1)}× experiment ${
      results[0].label
    }\n`;
  await Deno.mkdir(out, { recursive: true });
  await Deno.writeTextFile(join(out, "experiments.md"), md);
  await Deno.writeTextFile(
    join(out, "experiments.json"),
    JSON.stringify(
      {
        connect: info.version,
        rows: tableRows,
        brokers,
        seconds,
        results,
        best: best.label,
        ratio,
      },
      null,
      2,
    ) + "\n",
  );
  await Deno.writeTextFile(
    join(out, "experiments.svg"),
    svgChart(results, `Source Record Write Rate, kops/s (${tableRows} rows, ${brokers} brokers)`),
  );
  console.log(`\n${md}\nWrote ${out}/experiments.{md,json,svg}`);
}, SPEC);
