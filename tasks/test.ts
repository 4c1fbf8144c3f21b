/**
 * `deno task test [deno test args…]` — the whole test suite: brings up the test stack
 * (3 brokers + PostgreSQL on ports offset by 18000, data in .stack-test/), runs `deno test`
 * against it, and always takes the stack down again, whatever the outcome.
 *
 * The whole suite runs in two lanes at once: the tests that share the test stack, and beside
 * them the ones that need no shared stack (unit tests, which start no services, and the stack
 * tests that run stacks of their own in temp folders on ports offset by 14000–16000). The second
 * lane's output is printed after the first's. `--one-lane` runs everything in one `deno test`.
 */
import { ShapeMismatchError, Stack, TEST_BROKERS, testStackEnv } from "../lib/stack/mod.ts";
import { defineTask, runMain } from "../lib/env/mod.ts";

/** Tests that need no shared test stack: they run beside the others. */
const SIDE_LANE = [
  "tests/unit/",
  "tests/integration/stack_data_test.ts",
  "tests/integration/broker_roll_test.ts",
];

const SPEC = defineTask({
  task: "test",
  summary:
    "The whole test suite: brings up the test stack (3 brokers + PostgreSQL, ports offset by 18000, data in .stack-test/), runs deno test, and always takes the stack down.",
  flags: {
    filter: { type: "string", valueName: "TEXT", description: "run only tests whose name matches" },
    "fail-fast": { type: "boolean", description: "stop at the first failing test" },
    "one-lane": {
      type: "boolean",
      description: "run the whole suite in one deno test process (no side lane)",
    },
  },
  positionals: [
    {
      name: "PATH",
      description: "test files or folders, and after -- any deno test flag (default: tests/)",
      variadic: true,
    },
  ],
  examples: [
    "deno task test",
    "deno task test tests/unit --fail-fast",
    "deno task test -- --parallel tests/integration/practice2_test.ts",
  ],
});

await runMain(async (cli) => {
  const env = testStackEnv();
  for (const [k, v] of Object.entries(env)) Deno.env.set(k, v);
  const stack = new Stack({
    dir: env.STACK_DIR,
    brokers: TEST_BROKERS,
    portOffset: Number(env.STACK_PORT_OFFSET),
  });
  let code = 1;
  const started = Date.now();
  try {
    await stack.up().catch(async (err) => {
      if (!(err instanceof ShapeMismatchError)) throw err;
      // The test stack's data is the suite's own, made by earlier runs of another shape
      // (e.g. other ports): nothing of the user's is in it, so it is made again.
      const what = err.message.split("; nothing was changed")[0].replace(/^Refusing to start /, "");
      console.log(`test stack: ${what} — it is the suite's own, so ${env.STACK_DIR} is made again`);
      await stack.down();
      await Deno.remove(env.STACK_DIR, { recursive: true });
      await stack.up();
    });
    console.log(
      `test stack up in ${((Date.now() - started) / 1000).toFixed(1)}s: ${stack.kafka.bootstrap()}`,
    );
    const common = [
      ...(cli.values.filter ? ["--filter", cli.values.filter] : []),
      ...(cli.booleans["fail-fast"] ? ["--fail-fast"] : []),
    ];
    const testEnv = { ...env, STACK_MANAGED: "1" };
    if (cli.positional.length || cli.booleans["one-lane"]) {
      code = await denoTest(
        [...common, ...(cli.positional.length ? cli.positional : ["tests/"])],
        testEnv,
      );
    } else {
      const side = [...SIDE_LANE];
      const shared = [...Deno.readDirSync("tests/integration")]
        .map((e) => `tests/integration/${e.name}`)
        .filter((f) => f.endsWith("_test.ts") && !side.includes(f))
        .sort();
      const log = await Deno.makeTempFile({ prefix: "test-side-lane-", suffix: ".log" });
      const sharedLog = await Deno.makeTempFile({ prefix: "test-shared-lane-", suffix: ".log" });
      const sideRun = denoTest([...common, ...side], testEnv, log);
      const sharedCode = await denoTest([...common, ...shared], testEnv, sharedLog, true);
      const sideCode = await sideRun;
      console.log(`\n===== side lane (${side.join(", ")}) =====`);
      console.log(await Deno.readTextFile(log));
      // Each failing lane's verdict again, last, so that a log cut to its tail still names
      // every failing test and its error.
      const lanes = [["shared-stack lane", sharedCode, sharedLog], ["side lane", sideCode, log]];
      for (const [lane, laneCode, file] of lanes as [string, number, string][]) {
        if (laneCode === 0) continue;
        console.log(`\n===== ${lane}: its failures again =====`);
        console.log(failureReport(await Deno.readTextFile(file), 120));
      }
      await Deno.remove(log).catch(() => {});
      await Deno.remove(sharedLog).catch(() => {});
      console.log(
        `shared-stack lane: ${sharedCode === 0 ? "ok" : `FAILED (${sharedCode})`}; ` +
          `side lane: ${sideCode === 0 ? "ok" : `FAILED (${sideCode})`}; ` +
          `${((Date.now() - started) / 60_000).toFixed(1)} min in all`,
      );
      code = sharedCode || sideCode;
    }
  } finally {
    console.log(`test stack down: ${(await stack.down()).join(", ")}`);
  }
  Deno.exit(code);
}, SPEC);

/**
 * The part of a `deno test` log that says what failed: from its `ERRORS` section to the end
 * (at most `maxLines` lines, the last ones), or the last lines when there is no such section.
 */
export function failureReport(log: string, maxLines = 200): string {
  // deno test colours its output; strip ANSI escapes so the section header is found.
  // deno-lint-ignore no-control-regex
  const plain = log.replace(/\x1b\[[0-9;]*m/g, "");
  const at = plain.search(/^ ERRORS $/m);
  const lines = (at >= 0 ? plain.slice(at) : plain).split("\n");
  return lines.slice(-maxLines).join("\n");
}

/**
 * Runs `deno test` with `args`; output to the console, or to `logFile` when given (and to
 * both when `tee`).
 */
async function denoTest(
  args: string[],
  env: Record<string, string>,
  logFile?: string,
  tee = false,
): Promise<number> {
  const file = logFile ? await Deno.open(logFile, { write: true, truncate: true }) : undefined;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--no-prompt", ...args],
    env,
    stdin: "null",
    stdout: file ? "piped" : "inherit",
    stderr: file ? "piped" : "inherit",
  }).spawn();
  if (file) {
    const w = file.writable.getWriter();
    const pump = async (s: ReadableStream<Uint8Array>, out: typeof Deno.stdout) => {
      for await (const chunk of s) {
        await w.write(chunk);
        for (let done = 0; tee && done < chunk.length;) done += out.writeSync(chunk.subarray(done));
      }
    };
    await Promise.all([pump(child.stdout, Deno.stdout), pump(child.stderr, Deno.stderr)]);
    await w.close();
  }
  return (await child.status).code;
}
