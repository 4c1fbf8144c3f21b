/**
 * Before a platform run starts anything: {@linkcode preflight} refuses a machine without Java
 * 17+, with a port of a stopped service taken, or with too little free disk under the stack
 * folder; {@linkcode acquirePlatformLock} refuses a second run on the same stack (the lock file
 * `<stack>/demo.lock` names the pid holding it).
 *
 * @example
 * ```ts
 * import { acquirePlatformLock, PlatformRefused, preflight } from "./preflight.ts";
 * const release = await acquirePlatformLock(stack.options.dir);
 * const problems = await preflight(stack);
 * if (problems.length) throw new PlatformRefused(problems);
 * await release();
 * ```
 * @module
 */
import { join } from "node:path";
import { ConfigError } from "../../env/mod.ts";
import { isAlive, portOpen, type Stack } from "../../stack/mod.ts";
import { platformServices } from "./services.ts";

/** Name of the lock file in the stack folder while a run holds it. */
export const PLATFORM_LOCK = "demo.lock";

/** Refusal before anything started: what is wrong and what to do, one line each. */
export class PlatformRefused extends ConfigError {
  constructor(readonly problems: string[]) {
    super(
      `deno task demo cannot start — nothing was started:\n${
        problems.map((p) => `  - ${p}`).join("\n")
      }`,
    );
    this.name = "PlatformRefused";
  }
}

/** Free space under `dir` (or its nearest existing parent), in bytes. */
async function freeBytes(dir: string): Promise<number | undefined> {
  let d = dir;
  while (!(await Deno.stat(d).then(() => true, () => false))) {
    const up = join(d, "..");
    if (up === d) break;
    d = up;
  }
  const out = await new Deno.Command("df", { args: ["-Pk", d], stdout: "piped", stderr: "null" })
    .output().catch(() => undefined);
  const line = out?.success ? new TextDecoder().decode(out.stdout).trim().split("\n")[1] : "";
  const avail = Number(line?.split(/\s+/)[3]);
  return Number.isFinite(avail) ? avail * 1024 : undefined;
}

/** Java's major version, or undefined when `java` is not on PATH. */
async function javaMajor(): Promise<number | undefined> {
  try {
    const out = await new Deno.Command("java", {
      args: ["-version"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    const m = /version "(\d+)(?:\.(\d+))?/.exec(text);
    if (!m) return 0;
    return m[1] === "1" ? Number(m[2]) : Number(m[1]);
  } catch {
    return undefined;
  }
}

/**
 * Checks the machine before anything starts: Java 17+, the ports of every service that is
 * not running yet are free, enough free disk under the stack folder. Returns the problems,
 * each saying what to do (empty: go).
 */
export async function preflight(stack: Stack, minFreeGiB = 4): Promise<string[]> {
  const problems: string[] = [];
  const java = await javaMajor();
  if (java === undefined) {
    problems.push(
      "Java is missing (`java` is not on PATH): install Java 17+ (e.g. `sudo apt-get install " +
        "openjdk-17-jre-headless`) or put its bin/ folder on PATH",
    );
  } else if (java < 17) {
    problems.push(
      `Java ${java} is too old: Kafka 4 needs Java 17+; install it and put it first on PATH`,
    );
  }
  // The stack's status lists the platform's services once they have been started on it.
  const ofStack = await stack.status();
  const statuses = [
    ...ofStack,
    ...(await Promise.all(platformServices(stack).map((s) => s.status()))).flat()
      .filter((p) => !ofStack.some((q) => q.name === p.name)),
  ];
  for (const s of statuses) {
    if (s.state === "running") continue;
    for (const [purpose, port] of Object.entries(s.ports)) {
      if (await portOpen(port)) {
        problems.push(
          `port ${port} (${s.name} ${purpose}) is taken by another program: stop it (\`ss -ltnp ` +
            `'sport = :${port}'\` shows which) or run on other ports with STACK_PORT_OFFSET=N`,
        );
      }
    }
  }
  const free = await freeBytes(stack.options.dir);
  if (free !== undefined && free < minFreeGiB * 2 ** 30) {
    problems.push(
      `only ${(free / 2 ** 30).toFixed(1)} GiB free under ${stack.options.dir} (the platform ` +
        `needs ${minFreeGiB} GiB): free some space, or point STACK_DIR at a larger disk`,
    );
  }
  return problems;
}

/**
 * Takes the run's lock (`<stack>/demo.lock`, naming this pid); a lock held by a live process
 * refuses. Returns the release function.
 */
export async function acquirePlatformLock(dir: string): Promise<() => Promise<void>> {
  await Deno.mkdir(dir, { recursive: true });
  const file = join(dir, PLATFORM_LOCK);
  const body = JSON.stringify({ pid: Deno.pid, started: new Date().toISOString() }) + "\n";
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await Deno.writeTextFile(file, body, { createNew: true });
      return async () => {
        const now = await Deno.readTextFile(file).catch(() => "");
        if (now === body) await Deno.remove(file).catch(() => {});
      };
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
      let pid = 0, started = "?";
      try {
        ({ pid, started } = JSON.parse(await Deno.readTextFile(file)));
      } catch { /* torn or foreign file: treat as stale */ }
      if (pid && pid !== Deno.pid && isAlive(pid)) {
        throw new PlatformRefused([
          `another run holds ${file} (pid ${pid}, since ${started}): wait for it to finish, ` +
          `or stop it with \`kill ${pid}\`; remove the file only if that pid is not a demo`,
        ]);
      }
      await Deno.remove(file).catch(() => {}); // stale: its process is gone
    }
  }
  throw new PlatformRefused([`cannot take the lock ${file}: remove it if no demo runs`]);
}
