/**
 * Internal: waits until the process with the given pid ends, then takes the stack of
 * STACK_DIR down. Started by the test helper when a test file brought the test stack up
 * itself, so that no service outlives the test run.
 */
import { Stack } from "../lib/stack/mod.ts";
import { isAlive } from "../lib/stack/mod.ts";
import { sleep } from "../lib/env/mod.ts";

const pid = Number(Deno.args[0]);
while (Number.isInteger(pid) && isAlive(pid)) await sleep(500);
await (await Stack.load()).down();
