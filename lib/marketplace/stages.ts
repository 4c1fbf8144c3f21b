/**
 * A run in named stages, as the platform's main job shows it: each stage prints its name and
 * elapsed time, and a failing stage stops the run with the stage named, the reason, and where
 * to look (the tail of the log of the service it was waiting on, or why there is none).
 *
 * @example
 * ```ts
 * import { Stages } from "./stages.ts";
 * const run = new Stages();
 * const n = await run.stage("send the sample products", async () => 42);
 * ```
 * @module
 */

/** Raised when a stage fails; names the stage, the reason and where to look. */
export class StageError extends Error {
  constructor(
    readonly stage: string,
    override readonly cause: unknown,
    readonly look?: string,
  ) {
    super(
      `stage '${stage}' failed: ${cause instanceof Error ? cause.message : String(cause)}` +
        (look?.trim() ? `\n${look.trimEnd()}` : ""),
    );
    this.name = "StageError";
  }
}

/** Options of a stage. */
export interface StageOptions {
  /**
   * Where to look when the stage fails, as lines to print: e.g. the tail of the log of the
   * service it waits on, or that the log is empty and which service that is.
   */
  look?: () => Promise<string>;
}

/** Timings of the stages that ran. */
export interface StageTiming {
  stage: string;
  seconds: number;
}

/** Runs stages one after another and remembers their timings. */
export class Stages {
  readonly timings: StageTiming[] = [];
  readonly #started = performance.now();
  #n = 0;

  constructor(readonly out: (line: string) => void = console.log) {}

  /** Runs one stage; a failure becomes a {@linkcode StageError}. */
  async stage<T>(name: string, fn: () => Promise<T>, options: StageOptions = {}): Promise<T> {
    const n = ++this.#n;
    const t0 = performance.now();
    this.out(`\n[${n}] ${name} …`);
    try {
      const value = await fn();
      const seconds = (performance.now() - t0) / 1000;
      this.timings.push({ stage: name, seconds });
      this.out(`[${n}] ${name}: done in ${seconds.toFixed(1)} s`);
      return value;
    } catch (err) {
      if (err instanceof StageError) throw err;
      const look = await options.look?.().catch((e) => `(where to look: ${e})`);
      throw new StageError(name, err, look);
    }
  }

  /** Seconds since the run began. */
  get elapsed(): number {
    return (performance.now() - this.#started) / 1000;
  }
}
