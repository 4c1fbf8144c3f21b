/**
 * `deno task extra:load [--rows 9000000] [--chunk 250000]` — inserts rows into
 * customers.users as the seed does (INSERT … SELECT generate_series), in chunks, with a
 * progress bar. Ids continue after the largest one, so loads append.
 */
import cliProgress from "cli-progress";
import process from "node:process";
import { ConfigError, defineTask, parseIntValue, runMain, SERVICE_ENV } from "../../lib/env/mod.ts";
import { postgresUrlFromEnv, withDatabase } from "../../lib/connect/mod.ts";
import { CUSTOMERS_DB, loadUsers } from "../../lib/course/extra/mod.ts";

const SPEC = defineTask({
  task: "extra:load",
  summary:
    "Inserts rows into customers.users as the seed does (INSERT … SELECT generate_series), in chunks, with a progress bar; loads append.",
  flags: {
    rows: { type: "string", default: "9000000", valueName: "N", description: "rows to insert" },
    chunk: { type: "string", default: "250000", valueName: "N", description: "rows per INSERT" },
  },
  env: {
    ...SERVICE_ENV.postgres,
  },
  examples: ["deno task extra:load --rows 100000"],
});

await runMain(async (cli) => {
  const flags = cli;
  if (flags.positional.length) {
    throw new ConfigError(`Unexpected argument '${flags.positional[0]}'`);
  }
  const rows = parseIntValue("--rows", flags.values.rows ?? "9000000", { min: 1 });
  const chunk = parseIntValue("--chunk", flags.values.chunk ?? "250000", { min: 1 });
  const url = withDatabase(postgresUrlFromEnv(), CUSTOMERS_DB);
  const bar = new cliProgress.SingleBar({
    format:
      "Loading users [{bar}] {percentage}% | {value}/{total} rows | {rate} rows/s | ETA {eta}s",
    stream: process.stderr,
    noTTYOutput: true,
    notTTYSchedule: 10_000,
  }, cliProgress.Presets.shades_classic);
  const started = performance.now();
  bar.start(rows, 0, { rate: 0 });
  const range = await loadUsers({
    url,
    rows,
    chunk,
    onProgress: (n) =>
      bar.update(n, { rate: Math.round(n / ((performance.now() - started) / 1000)) }),
  });
  bar.stop();
  const sec = (performance.now() - started) / 1000;
  console.log(
    `Inserted ${rows} users (ids ${range.first}..${range.last}) in ${sec.toFixed(1)}s ` +
      `(${Math.round(rows / sec)} rows/s)`,
  );
}, SPEC);
