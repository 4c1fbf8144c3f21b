/**
 * Plain text tables for a terminal: columns aligned with spaces, a header line, no index column
 * and no quotes (what `console.table` adds), so the output reads and greps as text.
 *
 * @example
 * ```ts
 * import { formatTable } from "./table.ts";
 * console.log(formatTable([{ service: "kafka-main-0", state: "running", pid: 4242 }]).join("\n"));
 * // SERVICE       STATE    PID
 * // kafka-main-0  running  4242
 * ```
 * @module
 */

/** A column of {@linkcode formatTable}: the row field it shows and its header. */
export interface TableColumn {
  /** Field of each row. */
  key: string;
  /** Header text. @default the key in capitals */
  title?: string;
}

/**
 * `rows` as aligned text lines: a header, then one line per row. Columns are the given ones, or
 * every field of the rows in order of first appearance; a missing, null or undefined value is
 * empty; lines carry no trailing spaces. No rows: the header alone.
 */
export function formatTable(
  rows: readonly Record<string, unknown>[],
  columns?: readonly (string | TableColumn)[],
): string[] {
  const cols: Required<TableColumn>[] = (columns ?? [...new Set(rows.flatMap(Object.keys))]).map(
    (c) => {
      const col = typeof c === "string" ? { key: c } : c;
      return { key: col.key, title: col.title ?? col.key.toUpperCase() };
    },
  );
  const cell = (v: unknown) => (v === undefined || v === null ? "" : String(v));
  const cells = rows.map((r) => cols.map((c) => cell(r[c.key])));
  const widths = cols.map((c, i) => Math.max(c.title.length, ...cells.map((r) => r[i].length)));
  const line = (values: string[]) =>
    values.map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]))).join("  ")
      .trimEnd();
  return [line(cols.map((c) => c.title)), ...cells.map(line)];
}
