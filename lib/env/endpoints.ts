/**
 * Addresses of a running local stack, read from its `stack.json`, so that every task and test
 * finds the stack that is up (1 or 3 brokers, default or test ports) without flags.
 * @module
 */
import { join } from "node:path";
import { defaultStackDir } from "./paths.ts";

/** What a stack records about itself when it comes up. */
export interface StackEndpoints {
  /** Bootstrap servers by cluster name, e.g. `{ main: "localhost:9094" }`. */
  kafka: Record<string, string>;
  /** PostgreSQL connection URL of the practicum user. */
  postgresUrl?: string;
  /** Any other service address, by name. */
  [other: string]: unknown;
}

/** Endpoints of the stack in `dir` (default: `$STACK_DIR` or `.stack`); empty when none is up. */
export function localEndpoints(dir: string = defaultStackDir()): StackEndpoints {
  try {
    return JSON.parse(Deno.readTextFileSync(join(dir, "endpoints.json")));
  } catch {
    return { kafka: {} };
  }
}

/** Writes the endpoints file of a stack. */
export async function writeEndpoints(dir: string, endpoints: StackEndpoints): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(join(dir, "endpoints.json"), JSON.stringify(endpoints, null, 2) + "\n");
}
