/**
 * Where to look when a stage of the platform run fails, as the lines the run prints under
 * the failure: the tail of the log of the service it waited on — or, when that log is missing
 * or empty, a line saying so that names the service and the command that shows whether it
 * runs — and the state of a Kafka Connect connector with the first line of each task's error.
 * The `describe*` functions are pure; {@linkcode logLook} and {@linkcode connectorLook} read.
 *
 * @example
 * ```ts
 * import { logLook } from "./look.ts";
 * console.log(await logLook({ service: "product-filter", path: svc.log, stackCmd: "deno task stack" }));
 * ```
 * @module
 */
import type { ConnectClient, ConnectorStatus } from "../../connect/mod.ts";

/** A service's log, as a stage names it. */
export interface LogRef {
  /** The service, as `stack status` names it. */
  service: string;
  /** Its log file. */
  path: string;
  /** The `deno task stack` command of this stack (with its STACK_DIR and offset). */
  stackCmd: string;
}

/** The lines for a log whose text is `text` (undefined: there is no such file). */
export function describeLog(ref: LogRef, text: string | undefined, lines = 30): string {
  const { service, path, stackCmd } = ref;
  if (text === undefined) {
    return `where to look: ${service} has no log at ${path} — it was never started on this ` +
      `stack; \`${stackCmd} status\` shows what runs`;
  }
  if (!text.trim()) {
    return `where to look: the log of ${service}, ${path}, is empty — ${service} has written ` +
      `nothing; \`${stackCmd} status\` shows whether it runs`;
  }
  const tail = text.trimEnd().split("\n").slice(-lines);
  return `where to look: ${path} (${service}; \`${stackCmd} logs ${service}\`), its last ` +
    `${tail.length} lines:\n${tail.map((l) => `  ${l}`).join("\n")}`;
}

/** Reads a service's log and says where to look. */
export async function logLook(ref: LogRef, lines = 30): Promise<string> {
  const text = await Deno.readTextFile(ref.path).catch(() => undefined);
  return describeLog(ref, text, lines);
}

/** A connector's state and its tasks' in one line each, with the first line of any error. */
export function describeConnector(name: string, st: ConnectorStatus): string {
  const first = (trace?: string) => trace ? ` — ${trace.split("\n")[0].slice(0, 300)}` : "";
  const lines = [`connector ${name}: ${st.connector.state}${first(st.connector.trace)}`];
  if (st.tasks.length === 0) lines.push("  no tasks");
  for (const t of st.tasks) lines.push(`  task ${t.id}: ${t.state}${first(t.trace)}`);
  return lines.join("\n");
}

/** Asks Kafka Connect for a connector's state; a failure to ask is said, not thrown. */
export async function connectorLook(connect: ConnectClient, name: string): Promise<string> {
  try {
    return describeConnector(name, await connect.status(name));
  } catch (err) {
    return `connector ${name}: Kafka Connect did not tell its state (${(err as Error).message})`;
  }
}
