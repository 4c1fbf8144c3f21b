/**
 * Every task of deno.json speaks like a good CLI, checked WITHOUT a stack (STACK_DIR is an empty
 * folder, every service address points at a closed port, so nothing can start or connect):
 * - `--help` exits 0 and prints the task's usage, flags and environment — and names every flag
 *   the task's source reads;
 * - an unknown flag exits 2 and lists the known flags (the same ones the help shows);
 * - with the services down, a Kafka, a PostgreSQL and a Connect task each answer in ONE line
 *   naming the service and how to start it, within seconds, without a stack trace.
 *
 * Tasks run as `deno run --no-check …` (the type check is `deno check`'s job), in parallel.
 */
import assert from "node:assert/strict";
import { anyAccepts, KAFKA_CLIENT_PORTS, STACK_PORTS } from "../../lib/env/mod.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
const EMPTY_STACK = await Deno.makeTempDir({ prefix: "cli-test-stack-" });
// Deleted when the test process ends (every suite run used to leave one behind in /tmp).
globalThis.addEventListener("unload", () => Deno.removeSync(EMPTY_STACK, { recursive: true }));

// The local stack's layout at an offset nobody uses: the one-line hints name the service by port.
const OFFSET = 47000;
const DOWN = {
  kafka: `127.0.0.1:${KAFKA_CLIENT_PORTS.main + OFFSET}`,
  postgres: `127.0.0.1:${STACK_PORTS.postgres + OFFSET}`,
  connect: `127.0.0.1:${STACK_PORTS.connect + OFFSET}`,
};
const ENV: Record<string, string> = {
  STACK_DIR: EMPTY_STACK,
  STACK_PORT_OFFSET: String(OFFSET),
  KAFKA_BOOTSTRAP_SERVERS: DOWN.kafka,
  POSTGRES_URL: `postgres://practicum:practicum@${DOWN.postgres}/practicum`,
  KAFKA_CONNECT_URL: `http://${DOWN.connect}`,
  NO_COLOR: "1",
};

interface Task {
  name: string;
  env: Record<string, string>;
  args: string[];
  file: string;
}

/** The `deno run` tasks of deno.json: env prefix, arguments, script file. */
function tasks(): Task[] {
  const out: Task[] = [];
  for (const [name, line] of Object.entries(config.tasks as Record<string, string>)) {
    const words = line.trim().split(/\s+/);
    const env: Record<string, string> = {};
    while (/^[A-Z_][A-Z0-9_]*=/.test(words[0])) {
      const [k, ...v] = words.shift()!.split("=");
      env[k] = v.join("=");
    }
    // `test:unit` is `deno test` itself: Deno's own CLI answers its --help.
    if (words[0] !== "deno" || words[1] !== "run") continue;
    const file = words.find((w) => w.endsWith(".ts"))!;
    out.push({ name, env, args: ["run", "--no-check", ...words.slice(2)], file });
  }
  return out;
}

async function run(task: Task, extra: string[], env: Record<string, string> = {}) {
  const started = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...task.args, ...extra],
    cwd: ROOT,
    env: { ...ENV, ...env, ...task.env },
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    ms: performance.now() - started,
  };
}

/** Runs `fn` over `items`, `limit` at a time. */
async function pool<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]);
      }
    }),
  );
  return results;
}

/** Long flag names a task's source reads (`cli.values.x`, `flags.booleans["x-y"]`, flagInt). */
async function flagsReadBy(file: string): Promise<Set<string>> {
  const src = await Deno.readTextFile(`${ROOT}${file}`);
  const found = new Set<string>();
  const patterns = [
    /\b(?:cli|flags)\.(?:values|booleans)\.([a-z][a-zA-Z0-9]*)/g,
    /\b(?:cli|flags)\.(?:values|booleans)\["([a-z][a-z0-9-]*)"\]/g,
    /flagInt\((?:cli|flags), "([a-z][a-z0-9-]*)"/g,
  ];
  for (const re of patterns) for (const m of src.matchAll(re)) found.add(m[1]);
  return found;
}

const ALL = tasks();

Deno.test("every deno run task of deno.json answers --help and refuses an unknown flag", async () => {
  assert.ok(ALL.length >= 40, `expected the project's ~50 tasks, found ${ALL.length}`);
  assert.equal(
    await anyAccepts(Object.values(DOWN), 500),
    false,
    "the test's 'down' ports must be closed",
  );
  const failures: string[] = [];
  const present = [];
  for (const t of ALL) {
    if (await Deno.stat(`${ROOT}${t.file}`).then(() => true, () => false)) present.push(t);
    else console.warn(`  deno.json task '${t.name}' runs ${t.file}, which does not exist (yet)`);
  }
  await pool(present, 4, async (task) => {
    const help = await run(task, ["--help"]);
    const where = `deno task ${task.name}`;
    // Tasks that run the same file with other env (practice2:consumer:single) share its usage.
    const names = ALL.filter((t) => t.file === task.file).map((t) => t.name);
    if (help.code !== 0) {
      failures.push(`${where} --help: exit ${help.code}\n${help.stderr.slice(0, 400)}`);
      return;
    }
    if (!names.some((n) => help.stdout.includes(`Usage:\n  deno task ${n}`))) {
      failures.push(`${where} --help prints no usage line:\n${help.stdout.slice(0, 300)}`);
    }
    for (const section of ["Flags:", "Environment:", "Example"]) {
      if (!help.stdout.includes(section)) failures.push(`${where} --help has no '${section}'`);
    }
    const flagsSection = help.stdout.split("Flags:")[1]?.split("Environment:")[0] ?? "";
    const shown = new Set([...flagsSection.matchAll(/--([a-z][a-z0-9-]*)/g)].map((m) => m[1]));
    for (const read of await flagsReadBy(task.file)) {
      if (!shown.has(read)) failures.push(`${where} reads --${read} but its help does not name it`);
    }
    const bad = await run(task, ["--no-such-flag"]);
    if (bad.code !== 2) {
      failures.push(
        `${where} --no-such-flag: exit ${bad.code} (want 2)\n${bad.stderr.slice(0, 300)}`,
      );
      return;
    }
    if (!bad.stderr.includes("Unknown flag '--no-such-flag'")) {
      failures.push(`${where} --no-such-flag does not name the flag: ${bad.stderr}`);
    }
    const known = bad.stderr.split("Known flags:")[1] ?? "";
    for (const flag of shown) {
      if (!known.includes(`--${flag}`)) {
        failures.push(`${where}: the unknown-flag error does not list --${flag}`);
      }
    }
  });
  assert.deepEqual(failures, []);
});

Deno.test("an unreachable Kafka, PostgreSQL or Connect answers in one line naming what to start", async () => {
  const byName = (n: string) => ALL.find((t) => t.name === n)!;
  const cases = [
    { task: "practice2:producer", args: [], want: `Kafka at ${DOWN.kafka} is not answering` },
    { task: "practice5:init", args: [], want: `PostgreSQL at ${DOWN.postgres} is not answering` },
    {
      task: "practice5:connector",
      args: [],
      want: `Kafka Connect at http://${DOWN.connect} is not`,
    },
  ];
  // The one line comes from the first refused connection (lib/kafka probes the brokers before
  // kafkajs connects; pg and fetch fail at once), not from a client that retried and gave up. How
  // long it took is printed, not asserted: a loaded machine makes any threshold flaky.
  const results = await Promise.all(cases.map((c) => run(byName(c.task), c.args)));
  cases.forEach((c, i) => {
    const r = results[i];
    const lines = r.stderr.trim().split("\n").filter((l) => l.trim());
    console.log(`  ${c.task}: exit ${r.code} in ${(r.ms / 1000).toFixed(1)} s: ${lines[0]}`);
    assert.notEqual(r.code, 0, `${c.task} must fail`);
    assert.equal(lines.length, 1, `${c.task} must print one line, got:\n${r.stderr}`);
    assert.ok(lines[0].includes(c.want), `${c.task}: '${lines[0]}' should say '${c.want}'`);
    assert.match(lines[0], /[Ss]tart it with:? `?deno task stack up/);
  });
  // DEBUG=1 adds the stack trace for whoever needs it.
  const debug = await run(byName("practice5:init"), [], { DEBUG: "1" });
  assert.match(debug.stderr, /\n\s+at /);
});
