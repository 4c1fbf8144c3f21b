/**
 * Pinned Python tools in a virtual environment of the shared cache: created once per set of
 * pinned requirements (e.g. `pyarrow==22.0.0`), with the system's `python3` and PyPI.
 * Used for readers and engines no one here wrote (pyarrow, DuckDB, PySpark).
 *
 * @example
 * ```ts
 * import { pythonEnv } from "./python.ts";
 * const py = await pythonEnv("lake-check", ["pyarrow==22.0.0", "duckdb==1.4.1"]);
 * console.log(py.python); // …/python/lake-check-<hash>/bin/python
 * ```
 * @module
 */
import { join } from "node:path";
import { createHash } from "node:crypto";
import { cacheDir } from "../../env/mod.ts";
import { run, runLines } from "./process.ts";
import { drawBars, progressLine } from "./progress.ts";
import { StackError } from "./service.ts";

/** Pinned versions of the Python packages the project uses. */
export const PYTHON_PACKAGES = {
  pyarrow: "pyarrow==22.0.0",
  duckdb: "duckdb==1.4.1",
  pyspark: "pyspark==3.5.7",
} as const;

/** Environments this process already reported as reused. */
const reported = new Set<string>();

/** A ready virtual environment. */
export interface PythonEnv {
  /** Its folder. */
  dir: string;
  /** Its interpreter. */
  python: string;
}

/**
 * The virtual environment `name` with exactly `requirements` (each `package==version`),
 * created in the cache on first use (progress on stderr).
 */
export async function pythonEnv(name: string, requirements: string[]): Promise<PythonEnv> {
  for (const r of requirements) {
    if (!/^[A-Za-z0-9_.-]+==[A-Za-z0-9_.+-]+$/.test(r)) {
      throw new RangeError(
        `Cannot install '${r}': Python requirements must be pinned as package==version`,
      );
    }
  }
  const digest = createHash("sha256").update([...requirements].sort().join("\n")).digest("hex")
    .slice(0, 10);
  const dir = join(cacheDir(), "python", `${name}-${digest}`);
  const python = join(dir, "bin", "python");
  if (await Deno.stat(join(dir, ".complete")).then(() => true, () => false)) {
    if (!reported.has(dir)) {
      reported.add(dir);
      progressLine(`Python '${name}' (${requirements.join(", ")}) reused from the cache ${dir}`);
    }
    return { dir, python };
  }
  const py = Deno.env.get("PYTHON") ?? "python3";
  const tmp = `${dir}.tmp-${Deno.pid}`;
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  console.error(`Installing ${requirements.join(", ")} into ${dir} (once)…`);
  const started = performance.now();
  try {
    await run(py, ["-m", "venv", tmp], { what: `${py} -m venv` });
    await pipInstall(join(tmp, "bin", "python"), requirements);
    progressLine(
      `Installed ${requirements.join(", ")} in ${
        ((performance.now() - started) / 1000).toFixed(1)
      } s`,
    );
  } catch (err) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw new StackError(
      `Could not prepare the Python environment '${name}' (needs python3 with venv and PyPI): ${
        (err as Error).message
      }`,
    );
  }
  // A venv's scripts name their folder; it is moved, so call `python -m …`, never bin/ scripts.
  await Deno.writeTextFile(join(tmp, ".complete"), "");
  await Deno.rename(tmp, dir).catch(async () => await Deno.remove(tmp, { recursive: true }));
  reported.add(dir);
  return { dir, python };
}

/**
 * `pip install` of pinned requirements with progress on stderr: on a terminal, pip's own bars
 * (size, rate, ETA; its output sent to stderr); otherwise one line per package file, with its
 * size and the seconds it took, or that pip's cache had it.
 */
async function pipInstall(python: string, requirements: string[]): Promise<void> {
  const what = `pip install ${requirements.join(" ")}`;
  const pipArgs = ["-m", "pip", "install", "--disable-pip-version-check", "--no-input"];
  if (drawBars()) {
    // `1>&2`: pip's bars go where ours would, and stdout stays the task's.
    const status = await new Deno.Command("sh", {
      args: [
        "-c",
        'exec "$0" "$@" 1>&2',
        python,
        ...pipArgs,
        "--progress-bar",
        "on",
        ...requirements,
      ],
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!status.success) {
      throw new Error(`${what} failed (exit ${status.code}): see pip's output above`);
    }
    return;
  }
  let pending: { file: string; size: string; since: number } | undefined;
  const done = () => {
    if (!pending) return;
    const sec = (performance.now() - pending.since) / 1000;
    progressLine(`pip: downloaded ${pending.file} (${pending.size}) in ${sec.toFixed(1)} s`);
    pending = undefined;
  };
  await runLines(python, [...pipArgs, "--progress-bar", "off", ...requirements], { what }, (l) => {
    const line = l.trim();
    const dl = /^Downloading (\S+) \(([^)]+)\)/.exec(line);
    const cached = /^Using cached (\S+) \(([^)]+)\)/.exec(line);
    done();
    if (dl) pending = { file: dl[1].split("/").pop()!, size: dl[2], since: performance.now() };
    else if (cached) progressLine(`pip: ${cached[1]} (${cached[2]}) from pip's cache`);
  });
  done();
}
