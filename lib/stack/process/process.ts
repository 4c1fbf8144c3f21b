/**
 * Background processes of the local stack: start detached with output appended to a log,
 * remember the pid in a file, tell whether it still runs, stop it and everything it spawned.
 *
 * @example
 * ```ts
 * import { startDetached, stopProcess } from "./process.ts";
 * const pid = await startDetached({ cmd: "sleep", args: ["60"], log: "/tmp/s.log", pidFile: "/tmp/s.pid" });
 * await stopProcess("/tmp/s.pid");
 * ```
 * @module
 */
import { StackError } from "./service.ts";
import { ByteProgress, drawBars, parseSize, progressLine } from "./progress.ts";
import { sleep } from "../../env/mod.ts";

/** Options for {@linkcode startDetached}. */
export interface StartOptions {
  /** Executable to run. */
  cmd: string;
  /** Its arguments. @default [] */
  args?: string[];
  /** File the process's stdout and stderr are appended to. */
  log: string;
  /** File the pid is written to. */
  pidFile: string;
  /** Working directory. @default the current one */
  cwd?: string;
  /** Extra environment variables. @default {} */
  env?: Record<string, string>;
}

/** Starts a process in a session of its own, so it outlives the task that started it. */
export async function startDetached(options: StartOptions): Promise<number> {
  const { cmd, args = [], log, pidFile, cwd, env = {} } = options;
  const child = new Deno.Command("sh", {
    args: ["-c", 'exec "$0" "$@" >>"$STACK_LOG" 2>&1 </dev/null', cmd, ...args],
    cwd,
    env: { ...env, STACK_LOG: log },
    detached: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  child.unref();
  await Deno.writeTextFile(pidFile, `${child.pid}\n`);
  return child.pid;
}

/** Whether a process with this pid exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** The command line of a process, or "" when it is gone. */
export function cmdline(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ").trim();
  } catch {
    return "";
  }
}

/**
 * Whether a live process's command line shows `marker`. Right after {@linkcode startDetached}
 * the pid's command line is for a moment empty or the wrapper's half-built one while it execs
 * the service (seen under load, and in about 6 % of reads in a tight loop), so a missing marker
 * is read again for up to `settleMs` before it counts.
 */
export function showsMarker(pid: number, marker: string, settleMs = 200): boolean {
  const deadline = performance.now() + settleMs;
  for (;;) {
    if (cmdline(pid).includes(marker)) return true;
    if (!isAlive(pid) || performance.now() >= deadline) return false;
    Atomics.wait(PAUSE, 0, 0, 5); // a synchronous 5 ms pause
  }
}

const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/** State of a pid file: the process it names runs, is gone (stale file), or there is no file. */
export type PidState =
  | { state: "running"; pid: number }
  | { state: "stale"; pid: number }
  | { state: "absent" };

/**
 * Reads a pid file. A pid whose process is gone, or whose command line lacks `marker`
 * (the pid was reused by an unrelated process), is reported as stale.
 */
export function readPid(pidFile: string, marker?: string): PidState {
  let text: string;
  try {
    text = Deno.readTextFileSync(pidFile);
  } catch {
    return { state: "absent" };
  }
  const pid = Number(text.trim().split("\n")[0]);
  if (!Number.isInteger(pid) || pid <= 0) return { state: "stale", pid: 0 };
  if (!isAlive(pid)) return { state: "stale", pid };
  if (marker && !showsMarker(pid, marker)) return { state: "stale", pid };
  return { state: "running", pid };
}

/** Sends a signal to a whole process group, falling back to the pid alone. */
function signal(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(-pid, sig);
  } catch {
    try {
      Deno.kill(pid, sig);
    } catch { /* already gone */ }
  }
}

/**
 * True while any live process belongs to process group `pgid` (a service's wrapper may exit
 * before the JVM it started, which is in the same group).
 */
export function groupAlive(pgid: number): boolean {
  return groupMembers(pgid).length > 0;
}

/** Pids of the live (not zombie) processes of process group `pgid`; [] without /proc. */
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  try {
    for (const e of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(e.name)) continue;
      try {
        const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
        const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        if (Number(pgrp) === pgid && state !== "Z" && state !== "X") out.push(Number(e.name));
      } catch { /* gone meanwhile */ }
    }
  } catch { /* no /proc: fall back to the pid alone */ }
  return out;
}

/**
 * Waits until the process — and every process of its group — is gone or the timeout passes;
 * returns whether they are gone.
 */
export async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const gone = () => !isAlive(pid) && !groupAlive(pid);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (gone()) return true;
    await sleep(100);
  }
  return gone();
}

/**
 * The pid a pid file's service still holds: its process when it runs, or — when that process
 * has exited but a child it started (a JVM under a wrapper) still runs in its process group —
 * the group's id. Linux never hands out a pid while a process group of that id lives, so such
 * a group is the service's own; a pid reused by an unrelated process is not touched.
 */
function stoppablePid(st: PidState, marker?: string): number | undefined {
  if (st.state === "running") return st.pid;
  if (st.state !== "stale" || st.pid <= 0 || isAlive(st.pid)) return undefined;
  const members = groupMembers(st.pid);
  // With a marker, one of the survivors must still show it (the JVM's command line names the
  // service's config), in case the pid file outlived a reboot.
  const ours = marker ? members.some((p) => showsMarker(p, marker)) : members.length > 0;
  return ours ? st.pid : undefined;
}

/**
 * Stops the process named by a pid file: SIGTERM to its process group, then SIGKILL after
 * `graceMs`, and returns only once the process and its group have exited (or says which one
 * would not). A group whose first process already exited while a child still runs is stopped
 * the same way. Removes the pid file. Returns the pid (group id) that was stopped, or undefined.
 */
export async function stopProcess(
  pidFile: string,
  { graceMs = 20_000, marker }: { graceMs?: number; marker?: string } = {},
): Promise<number | undefined> {
  const pid = stoppablePid(readPid(pidFile, marker), marker);
  if (pid !== undefined) {
    signal(pid, "SIGTERM");
    if (!(await waitGone(pid, graceMs))) {
      signal(pid, "SIGKILL");
      if (!(await waitGone(pid, 5_000))) {
        console.error(`process ${pid} (${pidFile}) would not exit, even after SIGKILL`);
      }
    }
  }
  await Deno.remove(pidFile).catch(() => {});
  return pid;
}

/** Kills a process at once with SIGKILL (for failure drills), without touching its pid file. */
export function killHard(pid: number): void {
  signal(pid, "SIGKILL");
}

/** The last `lines` lines of a log file, or a note that it is missing. */
export async function tailFile(path: string, lines = 30): Promise<string> {
  try {
    const text = await Deno.readTextFile(path);
    return text.trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return `(no log at ${path})`;
  }
}

/** Options of {@linkcode run} and {@linkcode runLines}. */
export interface RunOptions {
  /** Working directory. */
  cwd?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** What the command does, for the error message. @default the command */
  what?: string;
}

/**
 * Runs a command to completion; throws with its output when it fails. `apt-get install`
 * reports its downloads on stderr as it goes (see {@linkcode aptProgress}).
 */
export async function run(cmd: string, args: string[], options: RunOptions = {}): Promise<string> {
  if (cmd === "apt-get" && args.includes("install")) {
    const apt = aptProgress(options.what ?? `apt-get ${args.join(" ")}`);
    try {
      // apt's piped stdout is block-buffered (its lines would come in one burst at the end):
      // stdbuf makes it line-buffered; Status-Fd lines (`dlstatus:3:42.5:…`) add the percentage.
      const aptArgs = ["-o", "APT::Status-Fd=2", ...args];
      const stdbuf = await Deno.stat("/usr/bin/stdbuf").then(() => true, () => false);
      const out = stdbuf
        ? await runLines("stdbuf", ["-oL", cmd, ...aptArgs], options, apt.line)
        : await runLines(cmd, aptArgs, options, apt.line);
      apt.finish(false);
      return out;
    } catch (err) {
      apt.finish(true);
      throw err;
    }
  }
  const out = await new Deno.Command(cmd, {
    args,
    cwd: options.cwd,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  const stdout = dec.decode(out.stdout);
  if (!out.success) {
    const stderr = dec.decode(out.stderr);
    throw new Error(
      `${options.what ?? cmd} failed (exit ${out.code}):\n${(stdout + stderr).trim().slice(-4000)}`,
    );
  }
  return stdout;
}

/**
 * Runs a command to completion, handing each line of its stdout and stderr to `onLine` as it
 * comes; returns its stdout, or throws with the end of its output when it fails.
 */
export async function runLines(
  cmd: string,
  args: string[],
  options: RunOptions,
  onLine: (line: string, stream: "stdout" | "stderr") => void,
): Promise<string> {
  const child = new Deno.Command(cmd, {
    args,
    cwd: options.cwd,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stdout = "";
  let all = "";
  const pump = async (stream: ReadableStream<Uint8Array>, name: "stdout" | "stderr") => {
    let rest = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      if (name === "stdout") stdout += text;
      all = (all + text).slice(-8000);
      const lines = (rest + text).split(/\r?\n|\r/);
      rest = lines.pop() ?? "";
      for (const l of lines) if (l.trim()) onLine(l, name);
    }
    if (rest.trim()) onLine(rest, name);
  };
  const [status] = await Promise.all([
    child.status,
    pump(child.stdout, "stdout"),
    pump(child.stderr, "stderr"),
  ]);
  if (!status.success) {
    throw new Error(
      `${options.what ?? cmd} failed (exit ${status.code}):\n${all.trim().slice(-4000)}`,
    );
  }
  return stdout;
}

/**
 * Progress of an `apt-get install` from its output: the total from `Need to get 45.3 MB of
 * archives`, each `Get:N … [size]` line as a package arrives — a bar with size, rate and ETA
 * when stderr is a terminal, else one line per package — and one summary line at the end.
 */
export function aptProgress(what: string): {
  line: (line: string) => void;
  finish: (failed: boolean) => void;
} {
  let bar: ByteProgress | undefined;
  let packages = 0;
  let total = 0;
  let got = 0;
  const bars = drawBars();
  return {
    line(line) {
      const need = /^Need to get ([\d.,]+\s*[kMG]?B)/.exec(line);
      if (need) {
        total = parseSize(need[1]) ?? 0;
        bar = new ByteProgress(what, total);
        return;
      }
      const dl = /^dlstatus:\d+:([\d.]+):/.exec(line);
      if (dl && bar) {
        bar.update(Math.max(bar.done, (Number(dl[1]) / 100) * total));
        return;
      }
      if (line.startsWith("dlstatus:") || line.startsWith("pmstatus:")) return;
      const get = /^Get:\d+\s+\S+\s+\S+\s+(?:\S+\s+)?(\S+)\s+\S+\s+(\S+)\s+\[([^\]]+)\]/.exec(line);
      if (get) {
        packages++;
        bar ??= new ByteProgress(what, 0);
        got += parseSize(get[3]) ?? 0;
        bar.update(Math.max(bar.done, got), get[1]);
        if (!bars) progressLine(`apt: ${get[1]} ${get[2]} (${get[3]})`);
      }
    },
    finish(failed) {
      bar?.finish(`${what}: ${packages} package${packages === 1 ? "" : "s"} downloaded`, {
        failed,
      });
    },
  };
}

/**
 * Fails with a {@linkcode StackError} naming the first port that another program already
 * listens on, so a service never starts half-way into a taken port.
 */
export async function requireFreePorts(what: string, ports: Iterable<number>): Promise<void> {
  for (const port of ports) {
    if (await portOpen(port)) {
      throw new StackError(
        `Cannot start ${what}: port ${port} is already in use by another program`,
      );
    }
  }
}

/** Whether a TCP port on 127.0.0.1 accepts connections. */
export async function portOpen(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}
