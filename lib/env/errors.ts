/**
 * The error every reader of configuration throws, in its own module so that the flag parser
 * (cli.ts) and the env readers (config.ts) share it without importing each other.
 * @module
 */

/** Thrown when an env variable or a flag holds a value the program cannot use. */
export class ConfigError extends Error {
  override name = "ConfigError";
}
