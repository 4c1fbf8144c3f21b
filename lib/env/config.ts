/**
 * Typed, validated configuration from environment variables and command-line flags.
 *
 * Every reader names the variable or flag and its current value in the error it throws,
 * so a bad value stops a task with a message the user can act on.
 *
 * @example
 * ```ts
 * import { envInt } from "./config.ts";
 * const count = envInt("SEND_MSG_COUNT", { default: 10, min: 1 });
 * ```
 * @module
 */

import { ConfigError } from "./errors.ts";
import { formatHelp, parseCli, type ParsedCli, type TaskSpec, wantsHelp } from "./cli.ts";
import { describeUnreachable } from "./unreachable.ts";

export { ConfigError };

/** Bounds for {@linkcode envInt} and {@linkcode parseIntValue}. */
export interface IntOptions {
  /** Value used when the variable is unset or empty. Without it the variable is required. */
  default?: number;
  /** Smallest accepted value. @default Number.MIN_SAFE_INTEGER */
  min?: number;
  /** Largest accepted value. @default Number.MAX_SAFE_INTEGER */
  max?: number;
}

type Env = { get(name: string): string | undefined };

/** Parses `raw` as an integer within bounds; `what` names the source in the error. */
export function parseIntValue(what: string, raw: string, options: IntOptions = {}): number {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = options;
  const trimmed = raw.trim();
  if (!/^[+-]?\d+$/.test(trimmed)) {
    throw new ConfigError(`Cannot use ${what} as it must be an integer: current value is '${raw}'`);
  }
  const value = Number(trimmed);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `between ${min} and ${max}`;
    throw new ConfigError(`Cannot use ${what} as it must be ${range}: current value is ${raw}`);
  }
  return value;
}

/** Parses `raw` as a finite number within bounds; `what` names the source in the error. */
export function parseNumberValue(what: string, raw: string, options: IntOptions = {}): number {
  const { min = -Infinity, max = Infinity } = options;
  const value = Number(raw.trim());
  if (raw.trim() === "" || !Number.isFinite(value) || value < min || value > max) {
    throw new ConfigError(
      `Cannot use ${what} as it must be a number ${
        max === Infinity ? `>= ${min}` : `between ${min} and ${max}`
      }: current value is '${raw}'`,
    );
  }
  return value;
}

function read(name: string, env: Env): string | undefined {
  const raw = env.get(name);
  return raw === undefined || raw.trim() === "" ? undefined : raw;
}

/** Reads an integer env variable. Throws {@linkcode ConfigError} naming it when invalid. */
export function envInt(name: string, options: IntOptions = {}, env: Env = Deno.env): number {
  const raw = read(name, env);
  if (raw === undefined) {
    if (options.default === undefined) throw new ConfigError(`${name} is required but not set`);
    return options.default;
  }
  return parseIntValue(name, raw, options);
}

/** Reads a number env variable (fractions allowed). */
export function envNumber(name: string, options: IntOptions = {}, env: Env = Deno.env): number {
  const raw = read(name, env);
  if (raw === undefined) {
    if (options.default === undefined) throw new ConfigError(`${name} is required but not set`);
    return options.default;
  }
  return parseNumberValue(name, raw, options);
}

/** Reads a string env variable, with a default. */
export function envString(name: string, fallback?: string, env: Env = Deno.env): string {
  const raw = read(name, env);
  if (raw !== undefined) return raw.trim();
  if (fallback === undefined) throw new ConfigError(`${name} is required but not set`);
  return fallback;
}

/** Reads a boolean env variable: true/false/1/0/yes/no. */
export function envBool(name: string, fallback: boolean, env: Env = Deno.env): boolean {
  const raw = read(name, env)?.trim().toLowerCase();
  if (raw === undefined) return fallback;
  if (["1", "true", "yes", "on"].includes(raw)) return true;
  if (["0", "false", "no", "off"].includes(raw)) return false;
  throw new ConfigError(
    `Cannot use ${name} as it must be true or false: current value is '${raw}'`,
  );
}

/** Reads a value from a fixed set. */
export function envChoice<T extends string>(
  name: string,
  choices: readonly T[],
  fallback: T,
  env: Env = Deno.env,
): T {
  const raw = read(name, env)?.trim();
  if (raw === undefined) return fallback;
  if (!(choices as readonly string[]).includes(raw)) {
    throw new ConfigError(
      `Cannot use ${name} as it must be one of ${choices.join(", ")}: current value is '${raw}'`,
    );
  }
  return raw as T;
}

/** Description of the flags a task accepts, for {@linkcode parseFlags}. */
export interface FlagSpec {
  /** Flags that take a value: `--name value` or `--name=value`. */
  string?: readonly string[];
  /** Flags that are on when present: `--name`. */
  boolean?: readonly string[];
}

/** Parsed flags: values by flag name, and the positional arguments. */
export interface Flags {
  values: Record<string, string | undefined>;
  booleans: Record<string, boolean>;
  positional: string[];
}

/**
 * Parses `--flag value`, `--flag=value` and boolean flags. An unknown flag or a missing
 * value is a {@linkcode ConfigError} naming it and listing the known flags.
 */
export function parseFlags(args: readonly string[], spec: FlagSpec): Flags {
  const strings = new Set(spec.string ?? []);
  const bools = new Set(spec.boolean ?? []);
  const out: Flags = { values: {}, booleans: {}, positional: [] };
  for (const b of bools) out.booleans[b] = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("--")) {
      out.positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if (bools.has(name) && eq === -1) {
      out.booleans[name] = true;
    } else if (strings.has(name)) {
      const value = eq === -1 ? args[++i] : arg.slice(eq + 1);
      if (value === undefined || (eq === -1 && value.startsWith("--"))) {
        throw new ConfigError(`Flag --${name} needs a value`);
      }
      out.values[name] = value;
    } else {
      const known = [...strings].map((s) => `--${s} <value>`).concat(
        [...bools].map((b) => `--${b}`),
      );
      throw new ConfigError(
        `Unknown flag '${arg}'. Known flags: ${known.length ? known.join(", ") : "none"}`,
      );
    }
  }
  return out;
}

/**
 * Runs a task's main function.
 *
 * With a {@linkcode TaskSpec}: `--help` / `-h` prints the task's help and exits 0 before
 * anything else runs, and the arguments are parsed strictly (unknown flags and stray
 * arguments exit 2 listing the known flags); `main` receives them.
 *
 * Errors: a {@linkcode ConfigError} prints its message and exits 2; a service that refused
 * the connection (Kafka, PostgreSQL, Connect, registry, HDFS, Prometheus) prints ONE line naming
 * it and the command that starts it, and exits 1; anything else prints its stack and exits 1.
 * `DEBUG=1` adds the stack trace to the one-liners.
 */
export async function runMain(
  main: (cli: ParsedCli) => Promise<void> | void,
  spec?: TaskSpec,
): Promise<void> {
  const fail = (err: unknown): never => {
    const debug = Deno.env.get("DEBUG") === "1";
    const trace = err instanceof Error ? (err.stack ?? err.message) : String(err);
    if (err instanceof ConfigError) {
      console.error(`error: ${err.message}`);
      if (debug) console.error(trace);
      Deno.exit(2);
    }
    const unreachable = describeUnreachable(err);
    if (unreachable) {
      console.error(`error: ${unreachable}`);
      if (debug) console.error(trace);
      Deno.exit(1);
    }
    console.error(trace);
    Deno.exit(1);
  };
  // A client library's background failure (a rejected promise nobody awaits) gets the same
  // one-line treatment instead of Deno's uncaught-error dump.
  globalThis.addEventListener("unhandledrejection", (e) => {
    if (describeUnreachable(e.reason)) {
      e.preventDefault();
      fail(e.reason);
    }
  });
  const args = Deno.args;
  if (spec && wantsHelp(args)) {
    console.log(formatHelp(spec));
    Deno.exit(0);
  }
  try {
    const cli = spec
      ? parseCli(spec, args)
      : { spec: { task: "", summary: "", examples: [] }, values: {}, booleans: {}, positional: [] };
    await main(cli);
  } catch (err) {
    fail(err);
  }
}

/** An integer flag from {@linkcode parseFlags}' values, or `fallback` when absent. */
export function flagInt(
  flags: Flags,
  name: string,
  fallback: number,
  options: IntOptions = { min: 1 },
): number {
  const raw = flags.values[name];
  return raw === undefined ? fallback : parseIntValue(`--${name}`, raw, options);
}
