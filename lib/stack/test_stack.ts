/**
 * The stack the test suite runs on: its own data folder and ports (offset 18000 by default),
 * so a user's stack on the default ports keeps running while tests run.
 *
 * @example
 * ```ts
 * import { testStackEnv } from "./test_stack.ts";
 * const env = testStackEnv(); // { STACK_DIR: ".../.stack-test", STACK_PORT_OFFSET: "18000" }
 * ```
 * @module
 */
import { join } from "node:path";
import { PROJECT_ROOT } from "../env/mod.ts";

/** Env that points every task, test and client at the test stack. */
export function testStackEnv(): { STACK_DIR: string; STACK_PORT_OFFSET: string } {
  return {
    STACK_DIR: Deno.env.get("TEST_STACK_DIR") ?? join(PROJECT_ROOT, ".stack-test"),
    STACK_PORT_OFFSET: Deno.env.get("TEST_STACK_PORT_OFFSET") ?? "18000",
  };
}

/** Brokers of the test stack's main cluster (3, so replication and failover can be tested). */
export const TEST_BROKERS = 3;
