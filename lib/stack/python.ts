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
import { cacheDir } from "../env/mod.ts";
import { run } from "./process.ts";
import { StackError } from "./service.ts";

/** Pinned versions of the Python packages the project uses. */
export const PYTHON_PACKAGES = {
  pyarrow: "pyarrow==22.0.0",
  duckdb: "duckdb==1.4.1",
  pyspark: "pyspark==3.5.7",
} as const;

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
    return { dir, python };
  }
  const py = Deno.env.get("PYTHON") ?? "python3";
  const tmp = `${dir}.tmp-${Deno.pid}`;
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  console.error(`Installing ${requirements.join(", ")} into ${dir} (once)…`);
  try {
    await run(py, ["-m", "venv", tmp], { what: `${py} -m venv` });
    await run(join(tmp, "bin", "python"), [
      "-m",
      "pip",
      "install",
      "--quiet",
      "--disable-pip-version-check",
      "--no-input",
      ...requirements,
    ], { what: `pip install ${requirements.join(" ")}` });
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
  return { dir, python };
}
