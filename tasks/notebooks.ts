/**
 * `deno task notebooks [--execute] [--open] [--out DIR] [--port N] [--timeout S] [name…]` —
 * the analytics notebooks of `notebooks/` (Deno kernel) over the marts on HDFS.
 *
 * - `--execute` (the default): runs every notebook (or the named ones) headless with nbclient,
 *   writes the executed copies (with their charts) to `--out` and prints one line per notebook;
 *   exits 1 naming the cell of the first error.
 * - `--open`: starts JupyterLab (pinned, installed once into the cache) on `notebooks/`.
 *
 * The marts must be there first (`deno task final:analytics`); without them the task says so.
 * Env: WEBHDFS_URL (default: the stack's), MARTS_ROOT (/lake/marts).
 */
import { join } from "node:path";
import {
  cacheDir,
  ConfigError,
  defineTask,
  flagInt,
  runMain,
  SERVICE_ENV,
} from "../lib/env/mod.ts";
import {
  countMarks,
  DEFAULT_MARTS_ROOT,
  executeNotebook,
  listNotebooks,
  MartsMissingError,
  NOTEBOOKS_DIR,
  openJupyterLab,
  openMarts,
} from "../lib/marketplace/mod.ts";

const SPEC = defineTask({
  task: "notebooks",
  summary:
    "The analytics notebooks of notebooks/ (Deno kernel) over the marts on HDFS: run headless (--execute, the default) or open JupyterLab (--open).",
  flags: {
    execute: {
      type: "boolean",
      description: "run the notebooks headless and write executed copies (default)",
    },
    open: { type: "boolean", description: "start JupyterLab on notebooks/" },
    out: {
      type: "string",
      default: "<cache>/notebooks-out",
      valueName: "DIR",
      description: "folder of the executed copies",
    },
    port: { type: "string", default: "8888", valueName: "PORT", description: "JupyterLab port" },
    timeout: { type: "string", default: "180", valueName: "S", description: "seconds per cell" },
  },
  env: {
    ...SERVICE_ENV.webhdfs,
    MARTS_ROOT: { description: "HDFS folder of the marts", default: DEFAULT_MARTS_ROOT },
  },
  positionals: [
    { name: "NAME", description: "notebooks to run (default: all)", variadic: true },
  ],
  examples: ["deno task notebooks", "deno task notebooks --open"],
});

await runMain(async (cli) => {
  const flags = cli;
  const port = flagInt(flags, "port", 8888, { min: 1, max: 65535 });
  const timeout = flagInt(flags, "timeout", 180);
  const out = flags.values.out ?? join(cacheDir(), "notebooks-out");
  const all = await listNotebooks();
  const wanted = flags.positional.map((n) => n.replace(/\.ipynb$/, ""));
  for (const w of wanted) {
    if (!all.some((p) => p.endsWith(`/${w}.ipynb`))) {
      throw new ConfigError(
        `Cannot run notebook '${w}': not in ${NOTEBOOKS_DIR} (known: ${
          all.map((p) => p.split("/").pop()!.replace(".ipynb", "")).join(", ")
        })`,
      );
    }
  }
  const notebooks = wanted.length
    ? all.filter((p) => wanted.some((w) => p.endsWith(`/${w}.ipynb`)))
    : all;
  try {
    await openMarts();
  } catch (err) {
    if (!(err instanceof MartsMissingError)) throw err;
    if (!flags.booleans.open) throw new ConfigError(err.message);
    console.error(`warning: ${err.message}`);
  }
  if (flags.booleans.open) {
    console.error(`Opening JupyterLab on ${NOTEBOOKS_DIR} (kernel: Deno); Ctrl-C stops it.`);
    Deno.exit(await openJupyterLab(NOTEBOOKS_DIR, port));
  }
  let failed = 0;
  for (const nb of notebooks) {
    const run = await executeNotebook(nb, { outDir: out, cellTimeoutSeconds: timeout });
    const name = nb.split("/").pop();
    if (run.error) {
      failed++;
      console.log(
        `✗ ${name}: cell ${run.error.cell} failed — ${run.error.ename}: ${run.error.evalue}`,
      );
    } else {
      const empty = run.charts.filter((c) => countMarks(c.svg) === 0).length;
      console.log(
        `✓ ${name}: ${run.cells} cells, ${run.charts.length} charts${
          empty ? ` (${empty} empty)` : ""
        } in ${run.seconds.toFixed(1)}s → ${run.output}`,
      );
    }
  }
  if (failed) Deno.exit(1);
}, SPEC);
