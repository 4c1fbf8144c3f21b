/**
 * The analytics notebooks (`notebooks/*.ipynb`, Deno kernel): what they draw with and how
 * they run.
 *
 * - **Charts**: {@linkcode vegaChart} compiles a Vega-Lite spec and renders it headless to SVG with
 *   Vega (no browser, no DOM: Vega's own SVG string renderer), displayed by Jupyter as
 *   `image/svg+xml` — the same in JupyterLab, in nbclient's output and on GitHub.
 *   {@linkcode htmlTable} shows a few rows as an HTML table.
 * - **Running them**: a pinned Python environment (nbclient, nbformat, jupyter-client from
 *   PyPI; JupyterLab only for `--open`) in the shared cache, with the Deno kernel registered
 *   by `deno jupyter --install` into that environment's own kernel folder (never the user's).
 *   {@linkcode executeNotebook} runs one notebook headless and reports its cells' errors and
 *   charts; {@linkcode openJupyterLab} starts JupyterLab on the notebooks for a person.
 *
 * @example
 * ```ts
 * import { executeNotebook } from "./notebooks.ts";
 * const run = await executeNotebook("notebooks/products.ipynb", { outDir: "/tmp/nb" });
 * console.log(run.error ?? `${run.charts.length} charts`);
 * ```
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { cacheDir } from "../env/mod.ts";
import { type PythonEnv, pythonEnv } from "../stack/mod.ts";

/** Pinned Python packages that execute the notebooks headless. */
export const NOTEBOOK_PACKAGES = [
  "nbclient==0.11.0",
  "nbformat==5.11.1",
  "jupyter-client==8.10.0",
] as const;

/** Pinned JupyterLab, installed only when a person opens the notebooks. */
export const JUPYTERLAB_PACKAGE = "jupyterlab==4.6.6";

/** Name of the Deno kernel as the notebooks' metadata names it. */
export const DENO_KERNEL = "deno";

/** The project's notebooks folder. */
export const NOTEBOOKS_DIR: string = fileURLToPath(new URL("../../notebooks/", import.meta.url));

/** A Vega-Lite spec (the `vega-lite` package's TopLevelSpec, loosely typed). */
export type ChartSpec = Record<string, unknown>;

/** A rendered chart: displayed by Jupyter as SVG. */
export interface Chart {
  /** The SVG document. */
  readonly svg: string;
  /** Data rows it was drawn from (from `data.values`), for checks. */
  readonly rows: number;
  /** Jupyter's display protocol (the Deno kernel calls it on a cell's last value). */
  [key: symbol]: () => Record<string, string>;
}

const JUPYTER_DISPLAY = Symbol.for("Jupyter.display");

/**
 * Renders a Vega-Lite spec to SVG (title, size and a readable font set by default) as a
 * value Jupyter displays. An empty `data.values` still renders (axes only).
 */
export async function vegaChart(spec: ChartSpec): Promise<Chart> {
  const [vega, vl] = await Promise.all([import("vega"), import("vega-lite")]);
  const full = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width: 520,
    height: 260,
    config: { font: "sans-serif", view: { stroke: null } },
    ...spec,
  };
  // deno-lint-ignore no-explicit-any
  const compiled = vl.compile(full as any).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  const values = (spec.data as { values?: unknown[] } | undefined)?.values;
  return {
    svg,
    rows: Array.isArray(values) ? values.length : 0,
    [JUPYTER_DISPLAY]: () => ({ "image/svg+xml": svg, "text/plain": `[chart: ${svg.length} B]` }),
  };
}

/** The Deno kernel's display function, when running in one. */
function kernelDisplay():
  | ((obj: unknown, options?: { raw?: boolean }) => Promise<void>)
  | undefined {
  const jupyter = (Deno as unknown as {
    jupyter?: { display?: (obj: unknown, options?: { raw?: boolean }) => Promise<void> };
  }).jupyter;
  return jupyter?.display?.bind(jupyter);
}

/**
 * Shows a displayable value (a {@linkcode Chart}, an {@linkcode htmlTable}) in the notebook
 * right away, as `display_data` sent while the cell runs — not as the cell's result, which the
 * Deno kernel can publish after telling the client it is idle, so that a headless client
 * (nbclient) sometimes misses it. Outside a kernel it prints the plain-text form.
 */
export async function show(value: { [key: symbol]: () => Record<string, string> }): Promise<void> {
  const bundle = value[JUPYTER_DISPLAY]();
  const display = kernelDisplay();
  if (display) await display(bundle, { raw: true });
  else console.log(bundle["text/plain"] ?? "");
}

/**
 * Prints a line in the notebook as `display_data` (`text/plain`) sent while the cell runs. The
 * Deno kernel forwards `console.log` output as a stream on its own schedule, which can come after
 * it reported the cell idle, and a headless client then misses the line (seen once in CI); a
 * display is awaited. Outside a kernel it is `console.log`.
 */
export async function say(line: string): Promise<void> {
  await show({ [JUPYTER_DISPLAY]: () => ({ "text/plain": line }) });
}

/**
 * Renders a Vega-Lite spec ({@linkcode vegaChart}) and {@linkcode show}s it (returns nothing,
 * so that the cell's result does not show it a second time).
 */
export async function showChart(spec: ChartSpec): Promise<void> {
  await show(await vegaChart(spec));
}

const esc = (v: unknown) =>
  String(v ?? "").replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

/** The first `limit` rows as an HTML table (plain text too), for a cell's output. */
export function htmlTable(
  rows: readonly Record<string, unknown>[],
  limit = 10,
  columns?: readonly string[],
): { [key: symbol]: () => Record<string, string> } {
  const cols = columns ?? Object.keys(rows[0] ?? {});
  const shown = rows.slice(0, limit);
  const html = `<table><thead><tr>${cols.map((c) => `<th>${esc(c)}</th>`).join("")}</tr></thead>` +
    `<tbody>${
      shown.map((r) => `<tr>${cols.map((c) => `<td>${esc(r[c])}</td>`).join("")}</tr>`).join("")
    }</tbody></table>` +
    (rows.length > limit ? `<p>${limit} of ${rows.length} rows</p>` : "");
  const text = [cols.join("\t"), ...shown.map((r) => cols.map((c) => String(r[c])).join("\t"))]
    .join("\n");
  return { [JUPYTER_DISPLAY]: () => ({ "text/html": html, "text/plain": text }) };
}

/** The notebooks of the project (`notebooks/*.ipynb`), sorted. */
export async function listNotebooks(dir = NOTEBOOKS_DIR): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.endsWith(".ipynb")) out.push(join(dir, e.name));
  }
  return out.sort();
}

/**
 * The pinned Python environment for the notebooks, with the Deno kernel registered inside it
 * (`deno jupyter --install` with XDG_DATA_HOME pointed at the environment's `share/`, where
 * Jupyter looks for the kernels of that Python). `lab` adds JupyterLab (a second environment).
 */
export async function notebookEnv(lab = false): Promise<PythonEnv> {
  const reqs = lab ? [...NOTEBOOK_PACKAGES, JUPYTERLAB_PACKAGE] : [...NOTEBOOK_PACKAGES];
  const env = await pythonEnv(lab ? "notebooks-lab" : "notebooks", reqs);
  const share = join(env.dir, "share");
  const spec = join(share, "jupyter", "kernels", DENO_KERNEL, "kernel.json");
  const installed = await Deno.readTextFile(spec).then(
    (t) => t.includes(Deno.execPath()),
    () => false,
  );
  if (!installed) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["jupyter", "--install", "--force", "--name", DENO_KERNEL],
      env: { XDG_DATA_HOME: share },
      stdin: "null",
    }).output();
    if (!out.success) {
      throw new Error(
        `deno jupyter --install failed: ${new TextDecoder().decode(out.stderr).trim()}`,
      );
    }
  }
  return env;
}

/** A cell that failed. */
export interface CellError {
  /** Index of the cell in the notebook. */
  cell: number;
  ename: string;
  evalue: string;
}

/** What {@linkcode executeNotebook} reports. */
export interface NotebookRun {
  notebook: string;
  /** The executed copy (with outputs). */
  output: string;
  seconds: number;
  /** Code cells executed. */
  cells: number;
  /** Every SVG output, by cell. */
  charts: { cell: number; svg: string }[];
  /** The first failing cell, if any. */
  error?: CellError;
}

/** Options of {@linkcode executeNotebook}. */
export interface ExecuteOptions {
  /** Where the executed copy goes. @default `<cache>/notebooks-out` */
  outDir?: string;
  /** Timeout of one cell in seconds. @default 180 */
  cellTimeoutSeconds?: number;
  /** Extra env for the kernel (e.g. MARTS_ROOT, WEBHDFS_URL). */
  env?: Record<string, string>;
}

const RUNNER = `
import json, os, sys, nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
src, out, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3])
nb = nbformat.read(src, as_version=4)
client = NotebookClient(nb, kernel_name="${DENO_KERNEL}", timeout=timeout, allow_errors=False,
                        resources={"metadata": {"path": os.path.dirname(os.path.abspath(src))}})
failed = None
try:
    client.execute()
except CellExecutionError as e:
    failed = {"ename": e.ename, "evalue": e.evalue}
finally:
    nbformat.write(nb, out)
print(json.dumps({"failed": failed}))
`;

interface NbOutput {
  output_type: string;
  ename?: string;
  evalue?: string;
  data?: Record<string, string | string[]>;
}

/** Executes one notebook headless with the Deno kernel and reads back its outputs. */
export async function executeNotebook(
  notebook: string,
  options: ExecuteOptions = {},
): Promise<NotebookRun> {
  const {
    outDir = join(cacheDir(), "notebooks-out"),
    cellTimeoutSeconds = 180,
    env = {},
  } = options;
  if (!Number.isInteger(cellTimeoutSeconds) || cellTimeoutSeconds <= 0) {
    throw new RangeError(
      `Cannot execute notebooks as 'cellTimeoutSeconds' must be a positive integer: current value is ${cellTimeoutSeconds}`,
    );
  }
  const started = performance.now();
  const py = await notebookEnv();
  await Deno.mkdir(outDir, { recursive: true });
  const src = resolve(notebook);
  const output = join(outDir, basename(src));
  const res = await new Deno.Command(py.python, {
    args: ["-c", RUNNER, src, output, String(cellTimeoutSeconds)],
    cwd: dirname(src),
    env: { ...env, JUPYTER_PLATFORM_DIRS: "1" },
    stdin: "null",
  }).output();
  const stdout = new TextDecoder().decode(res.stdout).trim();
  if (!res.success || !stdout) {
    throw new Error(
      `Could not execute ${notebook}: ${new TextDecoder().decode(res.stderr).trim().slice(-2000)}`,
    );
  }
  const nb = JSON.parse(await Deno.readTextFile(output)) as {
    cells: { cell_type: string; outputs?: NbOutput[] }[];
  };
  const charts: NotebookRun["charts"] = [];
  let error: CellError | undefined;
  let cells = 0;
  nb.cells.forEach((c, i) => {
    if (c.cell_type !== "code") return;
    cells++;
    for (const o of c.outputs ?? []) {
      if (o.output_type === "error" && !error) {
        error = { cell: i, ename: o.ename ?? "Error", evalue: o.evalue ?? "" };
      }
      const svg = o.data?.["image/svg+xml"];
      if (svg !== undefined) charts.push({ cell: i, svg: Array.isArray(svg) ? svg.join("") : svg });
    }
  });
  return { notebook, output, seconds: (performance.now() - started) / 1000, cells, charts, error };
}

/**
 * Counts the drawn marks of a Vega SVG (bars, points, lines, areas, arcs — not axes, grid or
 * legend): 0 means an empty chart.
 */
export function countMarks(svg: string): number {
  // Data marks are `role-mark` groups; axes, grid and legends are `role-axis-*`/`role-legend-*`.
  let n = 0;
  const re = /<g class="mark-(rect|symbol|line|area|arc|trail|rule|text) role-mark[^"]*"[^>]*>/g;
  for (const m of svg.matchAll(re)) {
    if (m[0].endsWith("/>")) continue; // an empty mark group is self-closing
    const end = svg.indexOf("</g>", m.index! + m[0].length);
    const body = svg.slice(m.index! + m[0].length, end);
    n += (body.match(/<(path|circle|line|rect|text)\b/g) ?? []).length;
  }
  return n;
}

/**
 * Starts JupyterLab (pinned, in its own environment) on the notebooks folder and waits for it;
 * the kernel gets this process's env (so WEBHDFS_URL, MARTS_ROOT, STACK_DIR reach it).
 */
export async function openJupyterLab(dir = NOTEBOOKS_DIR, port = 8888): Promise<number> {
  const py = await notebookEnv(true);
  const child = new Deno.Command(py.python, {
    args: ["-m", "jupyterlab", `--notebook-dir=${dir}`, `--port=${port}`, "--no-browser"],
    env: { JUPYTER_PLATFORM_DIRS: "1" },
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  return (await child.status).code;
}
