/**
 * Progress of the stack's downloads (jar bundles, PyPI packages, Debian packages) on stderr:
 * when stderr is a terminal, a bar with size, rate and ETA (cli-progress); otherwise no bar,
 * one line per finished artifact, so logs stay readable. `NO_PROGRESS=1` turns bars off.
 *
 * @example
 * ```ts
 * import { ByteProgress } from "./progress.ts";
 * const p = new ByteProgress("Downloading kafka", 128e6);
 * p.add(64e6);
 * p.finish("kafka: 87 files");
 * ```
 * @module
 */
import process from "node:process";
import cliProgress from "cli-progress";

/** Whether to draw bars: stderr is a terminal and `NO_PROGRESS` is not `1`. */
export function drawBars(): boolean {
  return Deno.stderr.isTerminal() && Deno.env.get("NO_PROGRESS") !== "1";
}

/** `1234567` → `1.2 MB` (decimal units, as apt and pip print them). */
export function formatBytes(n: number): string {
  if (n < 1e3) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e9).toFixed(2)} GB`;
}

/** `42.7 MB`, `12.3 kB`, `900 B`, `1.2 MiB` → bytes; undefined when it is no size. */
export function parseSize(text: string): number | undefined {
  const m = /([\d.,]+)\s*([kKMG]i?B|B)\b/.exec(text);
  if (!m) return undefined;
  const n = Number(m[1].replace(",", ""));
  const unit = m[2].toLowerCase();
  const base = unit.includes("i") ? 1024 : 1000;
  const exp = unit.startsWith("k") ? 1 : unit.startsWith("m") ? 2 : unit.startsWith("g") ? 3 : 0;
  return Number.isFinite(n) ? Math.round(n * base ** exp) : undefined;
}

/** Writes one line to stderr. */
export function progressLine(line: string): void {
  console.error(line);
}

/**
 * Progress of `total` bytes: a bar on a terminal, else nothing until {@linkcode finish}, which
 * prints one line with the size, time and rate either way.
 */
export class ByteProgress {
  readonly #label: string;
  readonly #started = performance.now();
  readonly #bar?: cliProgress.SingleBar;
  #total: number;
  #done = 0;

  /** Starts a bar named `label` over `total` bytes (0 when not known yet). */
  constructor(label: string, total: number, detail = "") {
    this.#label = label;
    this.#total = total;
    if (drawBars()) {
      this.#bar = new cliProgress.SingleBar({
        format: `${label} [{bar}] {percentage}% | {size} | {rate} | ETA {eta_formatted}{detail}`,
        stream: process.stderr,
        hideCursor: true,
        etaBuffer: 40,
        fps: 8,
      }, cliProgress.Presets.shades_classic);
      this.#bar.start(Math.max(1, total), 0, this.#payload(detail));
    }
  }

  #payload(detail: string) {
    const sec = (performance.now() - this.#started) / 1000;
    const rate = sec > 0.2 ? `${formatBytes(Math.round(this.#done / sec))}/s` : "…";
    return {
      size: `${formatBytes(this.#done)}/${formatBytes(this.#total)}`,
      rate,
      detail: detail ? ` | ${detail}` : "",
    };
  }

  /** Bytes done so far (may go back, e.g. when a download is retried). */
  get done(): number {
    return this.#done;
  }

  /** Sets the total when it becomes known. */
  setTotal(total: number): void {
    this.#total = total;
    this.#bar?.setTotal(Math.max(1, total));
  }

  /** Adds `n` bytes (negative to take back a failed attempt's). */
  add(n: number, detail = ""): void {
    this.update(this.#done + n, detail);
  }

  /** Sets the bytes done. */
  update(done: number, detail = ""): void {
    this.#done = Math.max(0, done);
    this.#bar?.update(Math.min(this.#done, Math.max(1, this.#total)), this.#payload(detail));
  }

  /**
   * Stops the bar and prints one line: `<what>: <size> in <s> s (<rate>)`; with `failed`,
   * only stops the bar (the error says the rest).
   */
  finish(what: string, { failed = false }: { failed?: boolean } = {}): void {
    this.#bar?.stop();
    if (failed) return;
    const sec = (performance.now() - this.#started) / 1000;
    const rate = sec > 0 ? `, ${formatBytes(Math.round(this.#done / sec))}/s` : "";
    progressLine(`${what}: ${formatBytes(this.#done)} in ${sec.toFixed(1)} s${rate}`);
  }

  /** The label the bar was started with. */
  get label(): string {
    return this.#label;
  }
}
