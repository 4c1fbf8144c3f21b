/**
 * `deno task bench:report [--check]` — writes BENCHMARKS.md from the reports the benchmarks save
 * in `bench-results/` (how: lib/bench's `page.ts`).
 *
 * `--check` writes nothing: it exits 1 when BENCHMARKS.md differs from what would be written
 * (`tests/unit/docs_test.ts` makes the same comparison).
 * @module
 */
import { defineTask, runMain } from "../../lib/env/mod.ts";
import {
  BENCHMARKS_PATH,
  readBenchResults,
  renderBenchmarks,
  RESULTS_DIR,
} from "../../lib/bench/mod.ts";

const SPEC = defineTask({
  task: "bench:report",
  summary:
    "Writes BENCHMARKS.md from bench-results/*.md (one section per benchmark, the machine stated once); --check only compares.",
  flags: {
    check: {
      type: "boolean",
      description: "write nothing; exit 1 when BENCHMARKS.md is out of date",
    },
  },
  examples: ["deno task bench:report", "deno task bench:report --check"],
});

if (import.meta.main) {
  await runMain(async (cli) => {
    const page = await renderBenchmarks(await readBenchResults(RESULTS_DIR));
    let current: string | undefined;
    try {
      current = await Deno.readTextFile(BENCHMARKS_PATH);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    if (cli.booleans.check) {
      if (current === page) {
        console.log("BENCHMARKS.md is up to date.");
        return;
      }
      console.error(
        "error: BENCHMARKS.md is out of date with bench-results/: run deno task bench:report",
      );
      Deno.exit(1);
    }
    await Deno.writeTextFile(BENCHMARKS_PATH, page);
    const sections = page.split("\n").filter((l) => l.startsWith("## ")).length;
    console.log(`wrote ${BENCHMARKS_PATH}: ${sections} benchmarks`);
  }, SPEC);
}
