/**
 * The analytics marts as the notebooks read them: the Parquet files the jobs of `jobs/`
 * committed under HDFS `/lake/marts/<mart>/` (daily marts in `dt=YYYY-MM-DD/` folders), read
 * over WebHDFS with `parquet-wasm` into plain rows through Apache Arrow — no engine needed.
 * Hive partition folders (`dt=…`) come back as columns; 64-bit integers as numbers, dates as
 * `YYYY-MM-DD`, timestamps as ISO strings.
 *
 * Marts that are not there yet raise {@linkcode MartsMissingError}, whose message (and stack)
 * is one line saying that the analytics must run first — what a notebook shows instead of a
 * stack trace.
 *
 * @example
 * ```ts
 * import { openMarts } from "./marts.ts";
 * const marts = await openMarts(); // WEBHDFS_URL, MARTS_ROOT or the local stack's
 * const stats = await marts.load("product_stats");
 * console.log(stats.rows.length, stats.columns);
 * ```
 * @module
 */
import * as arrow from "apache-arrow";
import * as pw from "parquet-wasm";
import { envString } from "../env/mod.ts";
import { WebHdfs } from "../lake/mod.ts";

/** Where the analytics jobs write the marts when `MARTS_ROOT` is not set. */
export const DEFAULT_MARTS_ROOT = "/lake/marts";

/** The command that writes the marts, named in every "no marts" message. */
export const ANALYTICS_COMMAND = "deno task final:analytics";

/** A cell of a mart row. */
export type MartValue = string | number | boolean | null;

/** A mart row: column → value. */
export type MartRow = Record<string, MartValue>;

/** A mart read whole. */
export interface MartTable {
  /** Its name (its folder under the marts root). */
  name: string;
  /** Column names, partition columns (`dt`) first. */
  columns: string[];
  rows: MartRow[];
  /** Parquet files read. */
  files: number;
}

/** Options of {@linkcode openMarts}. */
export interface MartsOptions {
  /** WebHDFS client. @default a {@linkcode WebHdfs} on `WEBHDFS_URL` or the local stack's */
  hdfs?: WebHdfs;
  /** Marts root on HDFS. @default `$MARTS_ROOT` or {@linkcode DEFAULT_MARTS_ROOT} */
  root?: string;
}

/**
 * The marts (or HDFS) are not there: the analytics must run first. Its `stack` is its message
 * alone, so a notebook shows one readable line.
 */
export class MartsMissingError extends Error {
  override name = "MartsMissingError";
  constructor(message: string) {
    super(message);
    this.stack = `${this.name}: ${message}`;
  }
}

/** The marts under one root on HDFS; see the module doc. */
export class Marts {
  readonly hdfs: WebHdfs;
  readonly root: string;

  constructor(options: MartsOptions = {}) {
    const { hdfs = new WebHdfs(), root = envString("MARTS_ROOT", DEFAULT_MARTS_ROOT) } = options;
    if (!root.startsWith("/")) {
      throw new RangeError(
        `Cannot read marts as 'root' must be an absolute HDFS path: current value is '${root}'`,
      );
    }
    this.hdfs = hdfs;
    this.root = root.replace(/\/+$/, "") || "/";
  }

  /** The marts that hold at least one folder entry (names, sorted; `_tmp`, `_old` skipped). */
  async list(): Promise<string[]> {
    const entries = await this.#listRoot();
    return entries.filter((e) => e.type === "DIRECTORY" && !e.pathSuffix.startsWith("_"))
      .map((e) => e.pathSuffix).sort();
  }

  /**
   * Throws {@linkcode MartsMissingError} unless every mart of `names` is there with at least
   * one Parquet file.
   */
  async require(names: readonly string[]): Promise<void> {
    const have = new Set(await this.list());
    const missing = names.filter((n) => !have.has(n));
    if (missing.length > 0) throw this.missing(`no mart ${missing.join(", ")}`);
  }

  /** Reads a mart whole (all its Parquet files, partition folders as columns). */
  async load(name: string): Promise<MartTable> {
    if (!/^[A-Za-z0-9_-]+$/.test(name)) {
      throw new RangeError(
        `Cannot read mart as 'name' must be a folder name: current value is '${name}'`,
      );
    }
    await this.#listRoot();
    const folder = `${this.root}/${name}`;
    if (!(await this.hdfs.stat(folder))) throw this.missing(`no mart ${name}`);
    const files = (await this.hdfs.walk(folder)).filter((f) =>
      f.path.endsWith(".parquet") &&
      !f.path.slice(folder.length + 1).split("/").some((p) =>
        p.startsWith("_") || p.startsWith(".")
      )
    ).sort((a, b) => a.path.localeCompare(b.path));
    const rows: MartRow[] = [];
    const columns: string[] = [];
    for (const f of files) {
      const parts: MartRow = {};
      for (const seg of f.path.slice(folder.length + 1).split("/").slice(0, -1)) {
        const eq = seg.indexOf("=");
        if (eq > 0) parts[seg.slice(0, eq)] = decodeURIComponent(seg.slice(eq + 1));
      }
      const table = parquetRows(await this.hdfs.read(f.path));
      for (const c of [...Object.keys(parts), ...table.columns]) {
        if (!columns.includes(c)) columns.push(c);
      }
      for (const r of table.rows) rows.push({ ...parts, ...r });
    }
    return { name, columns, rows, files: files.length };
  }

  async #listRoot() {
    try {
      return await this.hdfs.list(this.root);
    } catch (err) {
      const msg = (err as Error).message.split("\n")[0];
      throw new MartsMissingError(
        `HDFS at ${this.hdfs.url} is unreachable (${msg}): start it with ` +
          "`deno task stack up --hdfs` (or set WEBHDFS_URL), then run the analytics: " +
          ANALYTICS_COMMAND,
      );
    }
  }

  /** The {@linkcode MartsMissingError} saying that `what` (e.g. "no mart x") is missing. */
  missing(what: string): MartsMissingError {
    return new MartsMissingError(
      `The analytics must run first: ${what} under ${this.root} on HDFS (${this.hdfs.url}). ` +
        `Run \`${ANALYTICS_COMMAND}\` (or set MARTS_ROOT to where the marts are).`,
    );
  }
}

/**
 * Opens the marts and checks that HDFS answers and the root exists (else
 * {@linkcode MartsMissingError}).
 */
export async function openMarts(options: MartsOptions = {}): Promise<Marts> {
  const marts = new Marts(options);
  if ((await marts.list()).length === 0) throw marts.missing("no marts at all");
  return marts;
}

const pad2 = (n: number) => String(n).padStart(2, "0");

function isoDay(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
}

/** Converts one Arrow value of `type` to a {@linkcode MartValue}. */
function plain(type: arrow.DataType, v: unknown): MartValue {
  if (v === null || v === undefined) return null;
  if (arrow.DataType.isDate(type)) {
    return isoDay(v instanceof Date ? v.getTime() : Number(v));
  }
  // Arrow JS gives timestamps of every unit as epoch milliseconds.
  if (arrow.DataType.isTimestamp(type)) return new Date(Number(v)).toISOString();
  if (typeof v === "bigint") return Number(v);
  if (v instanceof Date) return v.toISOString();
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
  return String(v);
}

/** One Parquet file's rows and columns (read with parquet-wasm, converted through Arrow). */
export function parquetRows(bytes: Uint8Array): { columns: string[]; rows: MartRow[] } {
  const table = arrow.tableFromIPC(pw.readParquet(bytes).intoIPCStream());
  const fields = table.schema.fields;
  const vectors = fields.map((f) => table.getChild(f.name)!);
  const rows: MartRow[] = [];
  for (let i = 0; i < table.numRows; i++) {
    const row: MartRow = {};
    fields.forEach((f, j) => row[f.name] = plain(f.type, vectors[j].get(i)));
    rows.push(row);
  }
  return { columns: fields.map((f) => f.name), rows };
}
