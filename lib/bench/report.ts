/**
 * Benchmark reports: a markdown table from rows, and one writer that saves every benchmark's
 * result as `bench-results/<name>.json` (all figures and samples) and `<name>.md` (what a
 * person reads), so each `bench:*` task ends the same way.
 *
 * @example
 * ```ts
 * import { markdownTable, writeReport } from "./report.ts";
 * const md = markdownTable(["client", "records/s"], [["kafkajs", 90_000]], ["left", "right"]);
 * await writeReport("produce", { title: "bench:produce", markdown: md, json: { rows } });
 * ```
 * @module
 */
import { join } from "node:path";
import { PROJECT_ROOT } from "../env/mod.ts";

/** A markdown table; numbers are printed with thousands separators. */
export function markdownTable(
  headers: string[],
  rows: (string | number)[][],
  align: ("left" | "right")[] = [],
): string {
  const cell = (v: string | number) =>
    typeof v === "number"
      ? v.toLocaleString("en", { maximumFractionDigits: 2 })
      : v.replaceAll("|", "\\|");
  return [
    `| ${headers.join(" | ")} |`,
    `| ${headers.map((_, i) => (align[i] === "right" ? "---:" : "---")).join(" | ")} |`,
    ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`),
  ].join("\n");
}

/** What {@linkcode writeReport} saves. */
export interface Report {
  /** First line of the markdown, e.g. `bench:security`. */
  title: string;
  /** Body of the markdown (tables, notes). */
  markdown: string;
  /** Everything measured, for the JSON file. */
  json: Record<string, unknown>;
}

/**
 * Saves `<dir>/<name>.json` and `<dir>/<name>.md` (dir: `bench-results/` of the project unless
 * given) and returns the markdown path.
 */
export async function writeReport(
  name: string,
  report: Report,
  dir: string = join(PROJECT_ROOT, "bench-results"),
): Promise<string> {
  if (!/^[A-Za-z0-9._/-]+$/.test(name)) {
    throw new RangeError(
      `Cannot save a report as 'name' must be a file name: current value is '${name}'`,
    );
  }
  const at = new Date().toISOString();
  const json = join(dir, `${name}.json`);
  const md = join(dir, `${name}.md`);
  await Deno.mkdir(join(json, ".."), { recursive: true });
  await Deno.writeTextFile(json, JSON.stringify({ name, at, ...report.json }, null, 2) + "\n");
  await Deno.writeTextFile(md, `# ${report.title} (${at})\n\n${report.markdown.trim()}\n`);
  return md;
}
