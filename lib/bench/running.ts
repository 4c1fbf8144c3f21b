/**
 * Benches that measure a running stack rather than bring one up: {@linkcode requireRunning}
 * reads the stack's process status and throws one ConfigError line naming what is not
 * running and what to start when a process the bench needs is down.
 *
 * @example
 * ```ts
 * import { requireRunning } from "./running.ts";
 * await requireRunning(stack, ["mirror-maker", "kafka-mirror"], "deno task demo");
 * ```
 * @module
 */
import { ConfigError } from "../env/mod.ts";
import type { Stack } from "../stack/mod.ts";

/**
 * Throws a ConfigError unless, for every entry of `needs`, some process whose name starts with
 * it is running (every one of them, for a cluster's brokers).
 */
export async function requireRunning(
  stack: Stack,
  needs: readonly string[],
  start: string,
): Promise<void> {
  const status = await stack.status();
  const down = needs.filter((n) => {
    const of = status.filter((s) => s.name.startsWith(n));
    return of.length === 0 || of.some((s) => s.state !== "running");
  });
  if (down.length === 0) return;
  const { dir, portOffset } = stack.options;
  throw new ConfigError(
    `Cannot bench as ${down.join(", ")} of the stack in ${dir} (port offset ${portOffset}) ` +
      `${down.length === 1 ? "is" : "are"} not running: start it with ` +
      `\`STACK_DIR=${dir} STACK_PORT_OFFSET=${portOffset} ${start}\``,
  );
}
