/**
 * `deno task test [deno test args…]` — the whole test suite: brings up the test stack
 * (3 brokers + PostgreSQL on ports offset by 20000, data in .stack-test/), runs `deno test`
 * against it, and always takes the stack down again, whatever the outcome.
 */
import { Stack } from "../lib/stack/mod.ts";
import { TEST_BROKERS, testStackEnv } from "../lib/stack/mod.ts";
import { defineTask, runMain } from "../lib/env/mod.ts";

const SPEC = defineTask({
  task: "test",
  summary:
    "The whole test suite: brings up the test stack (3 brokers + PostgreSQL, ports offset by 20000, data in .stack-test/), runs deno test, and always takes the stack down.",
  flags: {
    filter: { type: "string", valueName: "TEXT", description: "run only tests whose name matches" },
    "fail-fast": { type: "boolean", description: "stop at the first failing test" },
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
    await stack.up();
    console.log(
      `test stack up in ${((Date.now() - started) / 1000).toFixed(1)}s: ${stack.kafka.bootstrap()}`,
    );
    const args = [
      ...(cli.values.filter ? ["--filter", cli.values.filter] : []),
      ...(cli.booleans["fail-fast"] ? ["--fail-fast"] : []),
      ...(cli.positional.length ? cli.positional : ["tests/"]),
    ];
    const child = new Deno.Command(Deno.execPath(), {
      args: ["test", "-A", "--no-prompt", ...args],
      env: { ...env, STACK_MANAGED: "1" },
      stdin: "null",
    }).spawn();
    code = (await child.status).code;
  } finally {
    console.log(`test stack down: ${(await stack.down()).join(", ")}`);
  }
  Deno.exit(code);
}, SPEC);
