/**
 * The shape of a service's data folder — the settings its data was made with (a Kafka
 * cluster's node count, ports, cluster id and security; PostgreSQL's major version; HDFS's
 * cluster id) — and the refusal when `stack up` asks for another shape. The local stack never
 * deletes a user's data by itself: a folder that holds data and was made for another shape
 * stops `up` before anything is touched, with one line naming what the folder holds, what
 * was asked and the two ways on (the old shape, or `deno task stack reset SERVICE`, which
 * deletes that service's data after saying what it deletes).
 *
 * A folder that holds no data yet (a first start that was interrupted before the service
 * ever ran) is no one's data: the service re-creates it for the new shape.
 *
 * @example
 * ```ts
 * import { checkShape } from "./shape.ts";
 * const verdict = await checkShape({
 *   service: "kafka-main",
 *   folder: ".stack/kafka-main",
 *   file: ".stack/kafka-main/cluster.json",
 *   asked: { brokers: 1, portBase: 9092 },
 *   holdsData: () => Promise.resolve(true),
 * }); // throws ShapeMismatchError when the folder was made for 3 brokers
 * ```
 * @module
 */
import { join } from "node:path";
import { type Service, StackError } from "./service.ts";

/** The settings a data folder was made with; values are compared as they are. */
export type Shape = Record<string, string | number | boolean>;

/** What {@linkcode checkShape} compares. */
export interface ShapeCheck {
  /** Name of the service's data, as `stack reset` takes it (e.g. `kafka-main`). */
  service: string;
  /** The data folder. */
  folder: string;
  /** File of the shape record. @default `<folder>/shape.json` */
  file?: string;
  /** The shape this start asks for. */
  asked: Shape;
  /**
   * The recorded shape, when the service reads it from its data (PostgreSQL's `PG_VERSION`)
   * rather than from the record file. @default read from `file`
   */
  recorded?: Shape;
  /** Keys whose change invalidates the data. @default every key of `asked` */
  invalidating?: string[];
  /** Whether the folder holds data (the service ever ran on it). */
  holdsData: () => Promise<boolean>;
  /** Names how to run with the old shape, e.g. ``deno task stack up --brokers 3``. @default its settings */
  oldShapeHint?: (old: Shape) => string;
}

/** What {@linkcode checkShape} found. */
export type ShapeVerdict =
  /** No shape recorded: a first start (or a folder from before shapes were recorded). */
  | "new"
  /** The recorded shape is the one asked for. */
  | "same"
  /** Another shape was recorded, but the folder holds no data: the caller re-creates it. */
  | "empty";

/** Raised when a data folder holding data was made for another shape; nothing was touched. */
export class ShapeMismatchError extends StackError {
  override name = "ShapeMismatchError";
  constructor(
    message: string,
    /** Name of the service's data. */
    readonly service: string,
    /** The recorded shape. */
    readonly old: Shape,
    /** The shape asked for. */
    readonly asked: Shape,
    /** The keys that differ. */
    readonly changed: string[],
  ) {
    super(message);
  }
}

/** `brokers=3 portBase=9092` — a shape in one line, keys in their order. */
export function describeShape(shape: Shape, keys: string[] = Object.keys(shape)): string {
  return keys.filter((k) => k in shape).map((k) => `${k}=${shape[k]}`).join(" ");
}

/**
 * Keys of `keys` whose value differs between the recorded and the asked shape. A key the
 * record lacks was not recorded then (an older record) and counts as unchanged.
 */
export function changedKeys(
  old: Shape,
  asked: Shape,
  keys: string[] = Object.keys(asked),
): string[] {
  return keys.filter((k) => k in old && k in asked && old[k] !== asked[k]);
}

/** `1.2 MB` */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** Bytes under a path (files only, symlinks not followed); 0 when it is missing. */
export async function folderBytes(path: string): Promise<number> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch {
    return 0;
  }
  if (!info.isDirectory) return info.isFile ? info.size : 0;
  let total = 0;
  try {
    for await (const e of Deno.readDir(path)) total += await folderBytes(join(path, e.name));
  } catch { /* vanished or unreadable */ }
  return total;
}

/** Reads a shape record; undefined when there is none or it is unreadable. */
export async function readShape(file: string): Promise<Shape | undefined> {
  try {
    const v = JSON.parse(await Deno.readTextFile(file));
    return v && typeof v === "object" && !Array.isArray(v) ? v as Shape : undefined;
  } catch {
    return undefined;
  }
}

/** Writes a shape record (write-then-rename, so an interrupted write leaves the old one). */
export async function writeShape(file: string, shape: Shape): Promise<void> {
  const tmp = `${file}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(shape));
  await Deno.rename(tmp, file);
}

/**
 * Compares the recorded shape of a data folder with the asked one. Throws a
 * {@linkcode ShapeMismatchError} when they differ in an invalidating key and the folder
 * holds data; touches nothing.
 */
export async function checkShape(check: ShapeCheck): Promise<ShapeVerdict> {
  const { service, folder, asked, oldShapeHint } = check;
  const file = check.file ?? join(folder, "shape.json");
  const old = check.recorded ?? await readShape(file);
  if (old === undefined) return "new";
  const changed = changedKeys(old, asked, check.invalidating ?? Object.keys(asked));
  if (changed.length === 0) return "same";
  if (!(await check.holdsData())) return "empty";
  const size = formatBytes(await folderBytes(folder));
  const hint = oldShapeHint?.(old) ?? `its old settings, ${describeShape(old, changed)}`;
  throw new ShapeMismatchError(
    `Refusing to start ${service}: ${folder} holds ${size} of data made with ${
      describeShape(old, changed)
    }, but ${describeShape(asked, changed)} was asked; nothing was changed. ` +
      `Run with the old shape (${hint}) or delete ${service}'s data with \`deno task stack reset ${service}\``,
    service,
    old,
    asked,
    changed,
  );
}

/** A service whose data folder has a shape: checked before `up` touches anything. */
export interface ShapedService extends Service {
  /** Name of its data for `stack reset` and `stack status`, e.g. `kafka-main`. */
  readonly dataName: string;
  /** Folders that hold its data (all deleted by `stack reset`). */
  dataFolders(): string[];
  /** Throws a {@linkcode ShapeMismatchError} when its data was made for another shape. */
  checkShape(): Promise<void>;
  /** The shape its data was made with, or undefined when it has none yet. */
  recordedShape(): Promise<Shape | undefined>;
}

/** Whether a service records the shape of its data. */
export function isShaped(s: Service): s is ShapedService {
  return typeof (s as Partial<ShapedService>).checkShape === "function" &&
    typeof (s as Partial<ShapedService>).dataFolders === "function";
}

/** Name of a service's data (`dataName` of a shaped service, else its name). */
export function dataName(s: Service): string {
  return isShaped(s) ? s.dataName : s.name;
}

/** Folders of a service's data: a shaped service's, else its `root` folder if it has one. */
export function dataFoldersOf(s: Service): string[] {
  if (isShaped(s)) return s.dataFolders();
  const root = (s as { root?: unknown }).root;
  return typeof root === "string" ? [root] : [];
}

/** Checks the shape of every shaped service; the first mismatch throws. Touches nothing. */
export async function checkShapes(services: Service[]): Promise<void> {
  for (const s of services) if (isShaped(s)) await s.checkShape();
}

/** One row of `stack status`'s data table. */
export interface DataStatus {
  /** Name of the service's data. */
  service: string;
  /** Its recorded shape in one line, `-` when none. */
  shape: string;
  /** Bytes in its folders. */
  bytes: number;
  /** Its folders. */
  folders: string[];
}

/** Shape and data size of each service (services without folders are left out). */
export async function dataStatus(services: Service[]): Promise<DataStatus[]> {
  const rows: DataStatus[] = [];
  for (const s of services) {
    const folders = dataFoldersOf(s);
    if (folders.length === 0) continue;
    const shape = isShaped(s) ? await s.recordedShape() : undefined;
    let bytes = 0;
    for (const f of folders) bytes += await folderBytes(f);
    rows.push({
      service: dataName(s),
      shape: shape ? describeShape(shape) : "-",
      bytes,
      folders,
    });
  }
  return rows;
}

/** What `stack reset` deletes. */
export interface ResetPlan {
  /** The services whose data goes, with their folders and sizes. */
  items: { service: Service; name: string; folders: string[]; bytes: number }[];
}

/**
 * What `stack reset [name]` would delete: the named service's data (by data name, e.g.
 * `kafka-main`, or service name, e.g. `main`), or every service's when no name is given.
 * Throws a {@linkcode StackError} naming the known services when the name is unknown.
 */
export async function planReset(services: Service[], name?: string): Promise<ResetPlan> {
  const chosen = name === undefined
    ? services
    : services.filter((s) => dataName(s) === name || s.name === name);
  if (chosen.length === 0) {
    const known = services.filter((s) => dataFoldersOf(s).length > 0).map(dataName);
    throw new StackError(`No service named '${name}' has data here. Known: ${known.join(", ")}`);
  }
  const items = [];
  for (const s of chosen) {
    const folders = [];
    let bytes = 0;
    for (const f of dataFoldersOf(s)) {
      if (!(await Deno.lstat(f).then(() => true, () => false))) continue;
      folders.push(f);
      bytes += await folderBytes(f);
    }
    if (folders.length > 0) items.push({ service: s, name: dataName(s), folders, bytes });
  }
  return { items };
}

/** What a reset plan deletes, one line per service. */
export function describeReset(plan: ResetPlan): string {
  if (plan.items.length === 0) return "Nothing to delete: no data folder exists.";
  return plan.items.map((i) => `  ${i.name}: ${i.folders.join(", ")} (${formatBytes(i.bytes)})`)
    .join("\n");
}

/** Stops each service of the plan and deletes its folders. Returns the names reset. */
export async function executeReset(plan: ResetPlan): Promise<string[]> {
  for (const i of plan.items) await i.service.stop();
  for (const i of plan.items) {
    for (const f of i.folders) await Deno.remove(f, { recursive: true }).catch(() => {});
  }
  return plan.items.map((i) => i.name);
}
