/**
 * The error every reader of configuration throws, in its own module so that the env readers
 * (config.ts) and the task runner (cli.ts, which imports config.ts) both throw it.
 * @module
 */

/** Thrown when an env variable or a flag holds a value the program cannot use. */
export class ConfigError extends Error {
  /** `ConfigError`. */
  override name = "ConfigError";
}
