/**
 * Where things live: the project root, the shared download cache and a stack's data folder.
 * @module
 */
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Root folder of this project (the one holding deno.json). */
export const PROJECT_ROOT: string = resolve(fileURLToPath(new URL("../..", import.meta.url)));

/**
 * Download cache shared by every checkout on the machine:
 * `$KAFKA_PRACTICUM_CACHE`, else `$XDG_CACHE_HOME/kafka-practicum`, else `~/.cache/kafka-practicum`.
 */
export function cacheDir(): string {
  const explicit = Deno.env.get("KAFKA_PRACTICUM_CACHE");
  if (explicit) return resolve(explicit);
  const xdg = Deno.env.get("XDG_CACHE_HOME") ?? join(Deno.env.get("HOME") ?? "/tmp", ".cache");
  return join(xdg, "kafka-practicum");
}

/** Data folder of the default stack: `$STACK_DIR`, else `<project>/.stack`. */
export function defaultStackDir(): string {
  const explicit = Deno.env.get("STACK_DIR");
  return explicit ? resolve(explicit) : join(PROJECT_ROOT, ".stack");
}
