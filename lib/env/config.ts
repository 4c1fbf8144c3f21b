/**
 * Typed, validated configuration from environment variables (flags are cli.ts's; it parses
 * their values with {@linkcode parseIntValue} here).
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

/** Where the env readers read variables: `Deno.env`, or a stand-in in tests. */
export type Env = { get(name: string): string | undefined };

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
