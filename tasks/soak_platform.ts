/**
 * `deno task soak:platform [--minutes N] [--seed S] [--rate N] [--components LIST] [--overlap] [--keep]` —
 * platform chaos (lib/marketplace/soak/): brings the platform up on the stack of STACK_DIR like
 * `deno task demo` does, keeps products (SHOP API), dead letters and simulated users (CLIENT
 * API) flowing, and kills with SIGKILL on a seeded schedule the product filter, the JDBC sink's
 * Connect worker, MirrorMaker 2, the lake sink, a broker of cluster A, the SHOP API and the
 * CLIENT API, restarting each. Prints the schedule as it happens, then a table per stage
 * (expected, seen, lost, duplicated, extra, ok) read with independent readers (Kafka's console
 * consumer, psql, DuckDB).
 *
 * Exit code: 0 every stage OK; 1 a loss, a duplicate or a failed stage (with the command that
 * re-runs the same schedule); 2 refused before starting. Env: STACK_DIR, STACK_PORT_OFFSET.
 */
import {
  ConfigError,
  defaultStackDir,
  defineTask,
  flagInt,
  formatTable,
  runMain,
} from "../lib/env/mod.ts";
import { Stack } from "../lib/stack/mod.ts";
import { PLATFORM_STACK_OPTIONS, StageError } from "../lib/marketplace/mod.ts";
import { runSoak, SOAK_COMPONENTS, type SoakComponent } from "../lib/marketplace/soak/mod.ts";

const SPEC = defineTask({
  task: "soak:platform",
  summary:
    "Kills the platform's components (filter, Connect, MirrorMaker 2, lake sink, a broker of A, SHOP API, CLIENT API) with SIGKILL on a seeded schedule under load, then reconciles every hop: no loss, no duplicate.",
  flags: {
    minutes: { type: "string", default: "3", valueName: "N", description: "minutes of load" },
    seed: {
      type: "string",
      valueName: "S",
      description: "seed of the kill schedule (default: random, printed)",
    },
    rate: { type: "string", default: "4", valueName: "N", description: "products per second" },
    components: {
      type: "string",
      valueName: "LIST",
      default: SOAK_COMPONENTS.join(","),
      description: "what to kill, comma-separated",
    },
    overlap: {
      type: "boolean",
      description: "kill on schedule while earlier kills' components still restart",
    },
    keep: { type: "boolean", description: "leave the platform running at the end" },
  },
  env: {
    STACK_DIR: { description: "the stack's data folder", default: ".stack" },
    STACK_PORT_OFFSET: { description: "added to every port", default: "0" },
  },
  examples: [
    "deno task soak:platform",
    "deno task soak:platform --minutes 10 --seed 42 --keep",
    "deno task soak:platform --minutes 2 --components product-filter,lake-sink",
    "deno task soak:platform --minutes 1 --seed 42 --overlap",
  ],
});

/** `--components` as a list of known components. */
function components(raw: string | undefined): SoakComponent[] {
  const list = (raw ?? SOAK_COMPONENTS.join(",")).split(",").map((s) => s.trim()).filter(Boolean);
  for (const c of list) {
    if (!(SOAK_COMPONENTS as readonly string[]).includes(c)) {
      throw new ConfigError(
        `--components '${c}' is not known: expected some of ${SOAK_COMPONENTS.join(", ")}`,
      );
    }
  }
  if (!list.length) throw new ConfigError("--components is empty");
  return list as SoakComponent[];
}

await runMain(async (cli) => {
  const minutes = flagInt(cli, "minutes", 3, { min: 1, max: 24 * 60 });
  const seed = flagInt(cli, "seed", Math.floor(Math.random() * 1e9), { min: 0 });
  const rate = flagInt(cli, "rate", 4, { min: 1, max: 100 });
  const kill = components(cli.values.components);
  const again = `deno task soak:platform --seed ${seed} --minutes ${minutes}` +
    (cli.booleans.overlap ? " --overlap" : "");
  console.log(`soak:platform seed ${seed} (re-run: ${again})`);
  const saved = await Stack.load(defaultStackDir());
  const stack = new Stack({ ...saved.options, ...PLATFORM_STACK_OPTIONS });
  const result = await runSoak({
    stack,
    minutes,
    seed,
    rate,
    components: kill,
    overlap: cli.booleans.overlap,
    keep: cli.booleans.keep,
  }).catch((err) => {
    if (!(err instanceof StageError)) throw err;
    console.error(`\nerror: ${err.message}\nre-run: ${again}`);
    Deno.exit(1);
  });
  console.log(`\nstages (read with ${result.readers}):`);
  const rows = result.rows.map((r) => ({ ...r, ok: r.ok ? "OK" : "FAIL" }));
  for (
    const l of formatTable(rows, ["stage", "expected", "seen", "lost", "duplicated", "extra", "ok"])
  ) {
    console.log(l);
  }
  for (const r of result.rows.filter((x) => !x.ok)) {
    console.log(`  ${r.stage}: ${r.examples.join(", ") || "nothing expected"}`);
  }
  if (result.ok) console.log(`\nsoak:platform OK (seed ${seed})`);
  else {
    console.log(`\nsoak:platform FAILED with seed ${seed}; re-run: ${again}`);
    Deno.exitCode = 1;
  }
}, SPEC);
