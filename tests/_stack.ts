/**
 * Test helper: the running test stack. Under `deno task test` the stack is already up;
 * when a test file is run directly with `deno test`, the first call brings the test stack up
 * and a reaper process takes it down when the test process ends.
 */
import { Stack, TEST_BROKERS, testStackEnv } from "../lib/stack/mod.ts";
import { createKafka, kafkaConfigFromEnv } from "../lib/kafka/mod.ts";
import type { Kafka } from "kafkajs";

import type { StackOptions } from "../lib/stack/mod.ts";
import { pollUntil, sleep } from "../lib/env/mod.ts";

/** Env of the test stack, also set on this process so clients and subprocesses find it. */
export const TEST_ENV: Record<string, string> = testStackEnv();
for (const [k, v] of Object.entries(TEST_ENV)) Deno.env.set(k, v);

let reaperStarted = false;

/**
 * The test stack, up, with at least the services asked for (`extra`, e.g. a service a test
 * needs); services already running are left alone, so tests share one stack.
 */
export async function testStack(extra: Partial<StackOptions> = {}): Promise<Stack> {
  const saved = await Stack.load(TEST_ENV.STACK_DIR);
  const stack = new Stack({
    ...saved.options,
    ...extra,
    dir: TEST_ENV.STACK_DIR,
    brokers: TEST_BROKERS,
    portOffset: Number(TEST_ENV.STACK_PORT_OFFSET),
  });
  const wasUp = (await stack.kafka.status()).every((s) => s.state === "running");
  // The reaper first: an up that fails half-way must not leave what it started running.
  if (!Deno.env.get("STACK_MANAGED") && !wasUp && !reaperStarted) {
    reaperStarted = true;
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../tasks/stack_reaper.ts", import.meta.url).pathname,
        String(Deno.pid),
      ],
      env: TEST_ENV,
      detached: true,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn().unref();
  }
  await stack.up();
  return stack;
}

/** A kafkajs client on the test stack. */
export async function testKafka(clientId = "tests"): Promise<Kafka> {
  await testStack();
  return createKafka(kafkaConfigFromEnv({ clientId, logLevel: "ERROR" }));
}

/**
 * Deletes a test's own stack folder. A process that wrote into it up to the moment it exited
 * can leave the recursive delete a folder that filled again behind it ("Directory not
 * empty"): tried again a few times, then the error names what was still there.
 */
export async function removeTree(dir: string): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      return await Deno.remove(dir, { recursive: true });
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      if (attempt >= 10) {
        const left: string[] = [];
        for await (const entry of walkNames(dir)) left.push(entry);
        throw new Error(`${dir} could not be deleted (${(e as Error).message}); left: ${left}`);
      }
      await sleep(300, "a process wrote into the folder while it was deleted");
    }
  }
}

async function* walkNames(dir: string, depth = 0): AsyncGenerator<string> {
  try {
    for await (const e of Deno.readDir(dir)) {
      yield `${dir}/${e.name}`;
      if (e.isDirectory && depth < 4) yield* walkNames(`${dir}/${e.name}`, depth + 1);
    }
  } catch { /* gone meanwhile */ }
}

/** A name no other test run uses. */
export function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
}

/** Polls `fn` until it returns a truthy value or the timeout passes (lib/env's pollUntil). */
export function eventually<T>(
  fn: () => T | Promise<T>,
  timeoutMs = 30_000,
  what = "condition",
): Promise<NonNullable<T>> {
  return pollUntil(what, fn, { timeoutMs });
}

/** Runs a `deno task`, returning exit code, stdout and stderr. */
export async function runTask(
  task: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", task, ...args],
    env: { ...TEST_ENV, ...env },
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/**
 * The `deno run …` command line behind a `deno task`, with the env assignments that prefix it,
 * so a test can start the task's process itself and signal it directly (signals sent to
 * `deno task` do not all reach the process it runs; SIGKILL never does).
 */
export async function taskCommand(
  task: string,
): Promise<{ args: string[]; env: Record<string, string> }> {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const line: string | undefined = config.tasks?.[task];
  if (!line) throw new Error(`deno.json has no task '${task}'`);
  const words = line.trim().split(/\s+/);
  const env: Record<string, string> = {};
  while (/^[A-Z_][A-Z0-9_]*=/.test(words[0])) {
    const [k, ...v] = words.shift()!.split("=");
    env[k] = v.join("=");
  }
  if (words[0] !== "deno") throw new Error(`task '${task}' does not start with deno: ${line}`);
  return { args: words.slice(1), env };
}

/** A task's process started directly, with its stdout collected line by line as it comes. */
export async function spawnTask(
  task: string,
  args: string[] = [],
  env: Record<string, string> = {},
) {
  const cmd = await taskCommand(task);
  const child = new Deno.Command(Deno.execPath(), {
    args: [...cmd.args, ...args],
    env: { ...TEST_ENV, ...env, ...cmd.env },
    cwd: new URL("..", import.meta.url).pathname,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const pump = (async () => {
    const dec = new TextDecoder();
    let rest = "";
    for await (const chunk of child.stdout) {
      rest += dec.decode(chunk, { stream: true });
      const parts = rest.split("\n");
      rest = parts.pop()!;
      lines.push(...parts);
    }
    if (rest) lines.push(rest);
  })();
  const stderr = new Response(child.stderr).text();
  return {
    child,
    lines,
    done: async () => {
      const status = await child.status;
      await pump;
      return { status, stderr: await stderr };
    },
  };
}
