/**
 * One declarative spec per task — its flags, positional arguments, environment variables and an
 * example — from which the task's `--help`, its argument parsing and its errors all come.
 *
 * Parsing is Node's built-in `util.parseArgs` (`node:util`, available in Deno without a
 * download) in strict mode: it is maintained with Node itself, handles `--flag value`,
 * `--flag=value`, short flags, `-abc` groups and the `--` terminator correctly, and refuses
 * unknown options. A CLI framework from npm (commander, yargs, cac) would bring its own help
 * format, its own exit behaviour and a dependency per task for what is, here, a flat list of
 * flags; the help text below is ours, so every task prints the same shape.
 *
 * `--help` / `-h` is recognised before anything else is parsed (a task never runs with it),
 * and every error is a {@linkcode ConfigError} (exit 2 via {@linkcode runMain}, which runs a
 * task's main function by its spec) that lists the known flags.
 *
 * @example
 * ```ts
 * import { defineTask, runMain } from "./mod.ts";
 * const SPEC = defineTask({
 *   task: "practice2:producer",
 *   summary: "Sends orders to the orders topic.",
 *   flags: { topic: { type: "string", default: "orders", description: "topic to send to" } },
 *   env: { SEND_MSG_COUNT: { description: "orders to send (0 = until Ctrl-C)", default: "10" } },
 *   examples: ["SEND_MSG_COUNT=3 deno task practice2:producer --topic orders"],
 * });
 * await runMain((cli) => console.log(cli.values.topic), SPEC);
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { ConfigError } from "./errors.ts";
import { type IntOptions, parseIntValue } from "./config.ts";
import { STACK_PORTS } from "./ports.ts";
import { describeUnreachable } from "./unreachable.ts";

/** One flag of a task. */
export interface FlagDef {
  /** `string` takes a value (`--name value` / `--name=value`); `boolean` is on when present. */
  type: "string" | "boolean";
  /** One-letter alias, e.g. `"n"` for `-n`. */
  short?: string;
  /**
   * The value the task uses when the flag is absent, as the help shows it. Documentation: the
   * parsed value stays undefined, so a task can still tell "not given" from "given".
   */
  default?: string;
  /** What the flag does, one line. */
  description: string;
  /** Name of the value in the help, e.g. `N` or `FILE`. @default "VALUE" */
  valueName?: string;
}

/** One environment variable a task reads (documented in the help; read by the task itself). */
export interface EnvDef {
  /** What it sets, one line. */
  description: string;
  /** Value when unset, as the help shows it. */
  default?: string;
}

/** One positional argument (a command, a file, a word). */
export interface PositionalDef {
  /** Name shown in the usage, e.g. `COMMAND`. */
  name: string;
  /** What it is, one line. */
  description: string;
  /** Must be given. @default false */
  required?: boolean;
  /** Takes every remaining argument. @default false */
  variadic?: boolean;
  /** Accepted values, when it is a fixed set. */
  choices?: readonly string[];
}

/** Everything a task accepts, for {@linkcode parseCli} and {@linkcode formatHelp}. */
export interface TaskSpec {
  /** The `deno task` name, e.g. `practice2:producer`. */
  task: string;
  /** What the task does, one or two sentences. */
  summary: string;
  /** Flags by long name (without `--`). */
  flags?: Record<string, FlagDef>;
  /** Environment variables by name. */
  env?: Record<string, EnvDef>;
  /** Positional arguments, in order; without it the task accepts none. */
  positionals?: readonly PositionalDef[];
  /** Extra usage lines, e.g. one per sub-command (`up [--brokers N]`). */
  usage?: readonly string[];
  /** At least one complete command line a user can copy. */
  examples: readonly string[];
}

/** Environment variables every task understands (added to every help). */
export const COMMON_ENV: Record<string, EnvDef> = {
  LOG_LEVEL: {
    description: "client library logs shown: ERROR, WARN, INFO or DEBUG",
    default: "WARN",
  },
  DEBUG: { description: "1: print the stack trace of an error, not only its one line" },
};

/** Parsed flags: values by flag name, and the positional arguments. */
export interface Flags {
  /** Values of the flags that take one, by long name; undefined when absent. */
  values: Record<string, string | undefined>;
  /** Boolean flags, by long name: true when present. */
  booleans: Record<string, boolean>;
  /** The positional arguments, in order. */
  positional: string[];
}

/** Parsed arguments: the flag values, with the {@linkcode Flags} shape tasks read. */
export interface ParsedCli extends Flags {
  /** The spec the arguments were parsed with. */
  spec: TaskSpec;
}

/** Returns `spec` as is; only gives the object a type (and a place for the task's doc). */
export function defineTask<const S extends TaskSpec>(spec: S): S {
  return spec;
}

/** True when `args` ask for help (`--help` or `-h` before any `--`). */
export function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === "--") return false;
    if (a === "--help" || a === "-h") return true;
  }
  return false;
}

function flagLabel(name: string, def: FlagDef): string {
  const short = def.short ? `-${def.short}, ` : "";
  return def.type === "string"
    ? `${short}--${name} ${def.valueName ?? "VALUE"}`
    : `${short}--${name}`;
}

/** The known flags, one phrase, for error messages. */
export function knownFlags(spec: TaskSpec): string {
  const flags = Object.entries(spec.flags ?? {}).map(([n, d]) => flagLabel(n, d));
  return [...flags, "-h, --help"].join(", ");
}

function table(rows: [string, string][]): string[] {
  const width = Math.min(34, Math.max(...rows.map(([l]) => l.length)) + 2);
  return rows.map(([l, r]) =>
    l.length + 2 > width ? `  ${l}\n  ${" ".repeat(width)}${r}` : `  ${l.padEnd(width)}${r}`
  );
}

/** The `--help` text of a task: usage, flags, positionals, environment, examples. */
export function formatHelp(spec: TaskSpec): string {
  const pos = (spec.positionals ?? []).map((p) => {
    const n = p.variadic ? `${p.name}…` : p.name;
    return p.required ? n : `[${n}]`;
  });
  const hasFlags = Object.keys(spec.flags ?? {}).length > 0;
  const lines = [`deno task ${spec.task} — ${spec.summary}`, "", "Usage:"];
  lines.push(
    `  deno task ${spec.task}${hasFlags ? " [flags]" : ""}${pos.map((p) => ` ${p}`).join("")}`,
  );
  for (const u of spec.usage ?? []) lines.push(`  deno task ${spec.task} ${u}`);
  if (spec.positionals?.length) {
    lines.push("", "Arguments:");
    lines.push(...table(spec.positionals.map((p) => [
      p.name,
      p.description + (p.choices ? ` (one of: ${p.choices.join(", ")})` : ""),
    ])));
  }
  const flagRows: [string, string][] = Object.entries(spec.flags ?? {}).map(([n, d]) => [
    flagLabel(n, d),
    d.description + (d.default !== undefined ? ` (default: ${d.default})` : ""),
  ]);
  flagRows.push(["-h, --help", "print this help and exit"]);
  lines.push("", "Flags:", ...table(flagRows));
  const env = { ...(spec.env ?? {}), ...COMMON_ENV };
  lines.push(
    "",
    "Environment:",
    ...table(
      Object.entries(env).map(([n, d]) => [
        n,
        d.description + (d.default !== undefined ? ` (default: ${d.default})` : ""),
      ]),
    ),
  );
  lines.push("", spec.examples.length > 1 ? "Examples:" : "Example:");
  for (const e of spec.examples) lines.push(`  ${e}`);
  return lines.join("\n");
}

/**
 * Parses `args` by `spec` (strict): unknown flags, a missing value, a value given to a boolean
 * flag, too many or missing positional arguments, or a positional outside its choices are a
 * {@linkcode ConfigError} naming the argument and listing the known flags.
 */
export function parseCli(spec: TaskSpec, args: readonly string[] = Deno.args): ParsedCli {
  const flags = spec.flags ?? {};
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const [name, def] of Object.entries(flags)) {
    options[name] = def.short ? { type: def.type, short: def.short } : { type: def.type };
  }
  const positionals = spec.positionals ?? [];
  const hint = `Known flags: ${knownFlags(spec)}. See: deno task ${spec.task} --help`;
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...args],
      options,
      strict: true,
      allowPositionals: positionals.length > 0,
    }) as typeof parsed;
  } catch (err) {
    const e = err as { code?: string; message: string };
    let what = e.message.replace(/\. To specify a positional argument.*$/s, "");
    if (e.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
      const m = /Unexpected argument '([^']*)'/.exec(e.message);
      what = `Unexpected argument '${m?.[1] ?? "?"}': deno task ${spec.task} takes no arguments`;
    } else if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      const m = /Unknown option '([^']*)'/.exec(e.message);
      what = `Unknown flag '${m?.[1] ?? "?"}'`;
    }
    throw new ConfigError(`${what}. ${hint}`);
  }
  const last = positionals[positionals.length - 1];
  if (!last?.variadic && parsed.positionals.length > positionals.length) {
    const extra = parsed.positionals.slice(positionals.length).map((p) => `'${p}'`).join(" ");
    throw new ConfigError(
      `Unexpected argument ${extra}: deno task ${spec.task} takes ${
        positionals.map((p) => p.name).join(" ")
      }. ${hint}`,
    );
  }
  positionals.forEach((p, i) => {
    const value = parsed.positionals[i];
    if (value === undefined) {
      if (p.required) {
        throw new ConfigError(`Missing ${p.name}: ${p.description}. ${hint}`);
      }
      return;
    }
    if (p.choices && !p.choices.includes(value)) {
      throw new ConfigError(
        `Unknown ${p.name} '${value}': one of ${p.choices.join(", ")}. ${hint}`,
      );
    }
  });
  const out: ParsedCli = { spec, values: {}, booleans: {}, positional: parsed.positionals };
  for (const [name, def] of Object.entries(flags)) {
    const v = parsed.values[name];
    if (def.type === "boolean") out.booleans[name] = v === true;
    else if (typeof v === "string") out.values[name] = v;
  }
  return out;
}

/**
 * Env variables of the services a task may talk to, documented once for every task's help
 * (the readers live with each client: lib/connect, lib/registry, lib/lake).
 */
export const SERVICE_ENV = {
  postgres: {
    POSTGRES_URL: {
      description: "PostgreSQL connection URL",
      default: "the running local stack's " +
        `(postgres://practicum@127.0.0.1:${STACK_PORTS.postgres}/practicum)`,
    },
  },
  connect: {
    KAFKA_CONNECT_URL: {
      description: "Kafka Connect REST URL",
      default: `the running local stack's (http://127.0.0.1:${STACK_PORTS.connect})`,
    },
  },
  registry: {
    KAFKA_SCHEMA_REGISTRY_URL: {
      description: "schema registry URL (Confluent API)",
      default: `the running local stack's (http://localhost:${STACK_PORTS.registry})`,
    },
    SCHEMA_REGISTRY_USERNAME: { description: "registry basic-auth user" },
    SCHEMA_REGISTRY_PASSWORD: { description: "registry basic-auth password" },
    SCHEMA_REGISTRY_CA_FILE: { description: "PEM CA of the registry's TLS certificate" },
  },
  webhdfs: {
    WEBHDFS_URL: {
      description: "WebHDFS endpoint of the NameNode",
      default: `the running local stack's (http://127.0.0.1:${STACK_PORTS.hdfsHttp}/webhdfs/v1)`,
    },
  },
  stack: {
    STACK_DIR: { description: "data folder of the local stack", default: ".stack" },
    STACK_PORT_OFFSET: { description: "added to every port of the local stack", default: "0" },
  },
} satisfies Record<string, Record<string, EnvDef>>;

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

/** An integer flag from {@linkcode parseCli}'s values, or `fallback` when absent. */
export function flagInt(
  flags: Flags,
  name: string,
  fallback: number,
  options: IntOptions = { min: 1 },
): number {
  const raw = flags.values[name];
  return raw === undefined ? fallback : parseIntValue(`--${name}`, raw, options);
}
