/**
 * Pinned, checksum-verified downloads from Maven Central into a cache shared by all checkouts.
 *
 * @example
 * ```ts
 * import { bundleJars } from "./artifacts.ts";
 * const jars = await bundleJars("kafka"); // downloads once, then answers from the cache
 * ```
 * @module
 */
import { dirname, join } from "node:path";
import { createHash } from "node:crypto";
import { cacheDir, PROJECT_ROOT } from "../../env/mod.ts";
import { ByteProgress, formatBytes, progressLine } from "./progress.ts";

/** One pinned file of a bundle. */
export interface LockedFile {
  /** Path inside a Maven repository, e.g. `org/apache/kafka/kafka_2.13/4.1.1/kafka_2.13-4.1.1.jar`. */
  path: string;
  /** Size in bytes. */
  size: number;
  /** Hex SHA-256 of the content. */
  sha256: string;
}

/** The lock file: every bundle's exact files. */
export interface ArtifactLock {
  repository: string;
  bundles: Record<string, { coordinates: string[]; files: LockedFile[] }>;
}

/** Path of the committed lock file. */
export const LOCK_FILE: string = join(PROJECT_ROOT, "lib/stack/process/artifacts.lock.json");

/** Maven repository to download from: `$MAVEN_REPOSITORY` or Maven Central. */
export function repositoryUrl(lock?: ArtifactLock): string {
  return (Deno.env.get("MAVEN_REPOSITORY") ?? lock?.repository ?? "https://repo1.maven.org/maven2")
    .replace(/\/$/, "");
}

/** Reads the lock file. */
export async function readLock(): Promise<ArtifactLock> {
  return JSON.parse(await Deno.readTextFile(LOCK_FILE));
}

/** Hex SHA-256 of a file's content. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path);
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Raised when a download's checksum or size differs from the lock. */
export class ChecksumError extends Error {
  override name = "ChecksumError";
}

async function download(
  url: string,
  target: string,
  expected: LockedFile,
  onBytes: (n: number) => void,
): Promise<void> {
  await Deno.mkdir(dirname(target), { recursive: true });
  const part = `${target}.part-${Deno.pid}`;
  let lastErr: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    let received = 0;
    try {
      const res = await fetch(url);
      if (!res.ok || !res.body) throw new Error(`GET ${url} answered ${res.status}`);
      const hash = createHash("sha256");
      const file = await Deno.open(part, { write: true, create: true, truncate: true });
      await res.body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, ctl) {
            hash.update(chunk);
            received += chunk.length;
            onBytes(chunk.length);
            ctl.enqueue(chunk);
          },
        }),
      ).pipeTo(file.writable);
      const digest = hash.digest("hex");
      if (digest !== expected.sha256 || received !== expected.size) {
        throw new ChecksumError(
          `Checksum mismatch for ${url}: expected sha256 ${expected.sha256} (${expected.size} bytes), ` +
            `got ${digest} (${received} bytes)`,
        );
      }
      await Deno.rename(part, target);
      return;
    } catch (err) {
      lastErr = err;
      onBytes(-received);
      await Deno.remove(part).catch(() => {});
      if (err instanceof ChecksumError) throw err;
    }
  }
  throw lastErr;
}

/** Bundles this process already reported (downloaded or found in the cache). */
const reported = new Set<string>();

/** Options for {@linkcode fetchBundle}. */
export interface FetchOptions {
  /**
   * Report on stderr: a bar with size, rate and ETA while downloading (one line per bundle when
   * stderr is no terminal), and one line when the bundle is already cached. @default true
   */
  progress?: boolean;
  /** Parallel downloads. @default 4 */
  concurrency?: number;
  /** The lock to follow. @default the committed lib/stack/process/artifacts.lock.json */
  lock?: ArtifactLock;
}

/**
 * Makes sure every file of a bundle is in the cache with the locked checksum and returns
 * their local paths. Files already cached are trusted by size (they were verified when
 * they arrived); missing ones are downloaded and verified, with progress on stderr.
 */
export async function fetchBundle(name: string, options: FetchOptions = {}): Promise<string[]> {
  const { progress = true, concurrency = 4 } = options;
  const lock = options.lock ?? await readLock();
  const bundle = lock.bundles[name];
  if (!bundle) {
    throw new Error(
      `Bundle '${name}' is not in ${LOCK_FILE}; known: ${Object.keys(lock.bundles).join(", ")}. ` +
        "Run `deno task stack:lock` after adding it to lib/stack/bundles.ts",
    );
  }
  const root = join(cacheDir(), "maven");
  const repo = repositoryUrl(lock);
  const missing: LockedFile[] = [];
  for (const f of bundle.files) {
    const local = join(root, f.path);
    const st = await Deno.stat(local).catch(() => undefined);
    if (!st || st.size !== f.size) missing.push(f);
  }
  if (missing.length === 0) {
    // One line per bundle and process: which cached artifact is used, not a line per tool run.
    if (progress && !reported.has(name)) {
      reported.add(name);
      const size = bundle.files.reduce((s, f) => s + f.size, 0);
      progressLine(
        `${name}: ${bundle.files.length} file${bundle.files.length === 1 ? "" : "s"} ` +
          `(${formatBytes(size)}, SHA-256 locked) reused from the cache ${root}`,
      );
    }
  } else {
    const total = missing.reduce((s, f) => s + f.size, 0);
    let left = missing.length;
    const bar = progress
      ? new ByteProgress(`Downloading ${name}`, total, `${left} files left`)
      : undefined;
    const queue = [...missing];
    const worker = async () => {
      for (let f = queue.shift(); f; f = queue.shift()) {
        await download(`${repo}/${f.path}`, join(root, f.path), f, (n) => {
          bar?.add(n, `${left} files left`);
        });
        left--;
        bar?.add(0, `${left} files left`);
      }
    };
    let failed = true;
    try {
      await Promise.all(Array.from({ length: Math.min(concurrency, missing.length) }, worker));
      failed = false;
    } finally {
      bar?.finish(
        `Downloaded ${name} (${missing.length} file${
          missing.length === 1 ? "" : "s"
        }, SHA-256 verified) into ${root}`,
        { failed },
      );
    }
    reported.add(name);
  }
  return bundle.files.map((f) => join(root, f.path));
}

/**
 * Java classpath of a bundle (downloading it first if needed): a folder of links to the
 * bundle's jars in the cache, as `<folder>/*`, which keeps command lines short.
 */
export async function bundleClasspath(name: string, options?: FetchOptions): Promise<string> {
  const jars = (await fetchBundle(name, options)).filter((p) => p.endsWith(".jar"));
  const digest = createHash("sha256").update(jars.join("\n")).digest("hex").slice(0, 12);
  const dir = join(cacheDir(), "classpath", `${name}-${digest}`);
  if (!(await exists(join(dir, ".complete")))) {
    const tmp = `${dir}.tmp-${Deno.pid}`;
    await Deno.mkdir(tmp, { recursive: true });
    for (const jar of jars) await Deno.symlink(jar, join(tmp, jar.split("/").pop()!));
    await Deno.writeTextFile(join(tmp, ".complete"), "");
    await Deno.rename(tmp, dir).catch(async () => await Deno.remove(tmp, { recursive: true }));
  }
  return `${dir}/*`;
}
