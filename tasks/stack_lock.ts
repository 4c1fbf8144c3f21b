/**
 * `deno task stack:lock [bundle…]` — resolves the stack's bundles
 * (lib/stack/process/bundles.ts) with Maven (strict checksums against Maven Central) and writes
 * lib/stack/process/artifacts.lock.json with each file's repository path, size and SHA-256. Run
 * it after changing a version; commit the lock. Users never need Maven: the stack downloads the
 * locked files itself.
 * @module
 */
import { join, relative } from "node:path";
import { createHash } from "node:crypto";
import {
  type ArtifactLock,
  BUNDLES,
  type BundleSpec,
  LOCK_FILE,
  readLock,
  repositoryUrl,
  run,
  sha256File,
} from "../lib/stack/mod.ts";
import { defineTask, runMain } from "../lib/env/mod.ts";

function pom(coords: string[]): string {
  const deps = coords.map((c) => {
    const [g, a, v, type, classifier] = c.split(":");
    return `<dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version>` +
      (type ? `<type>${type}</type>` : "") +
      (classifier ? `<classifier>${classifier}</classifier>` : "") + `</dependency>`;
  });
  return `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>local</groupId><artifactId>bundle</artifactId><version>1</version><packaging>pom</packaging>
<dependencies>${deps.join("\n")}</dependencies></project>`;
}

/** Path of a coordinate's file inside a Maven repository. */
function repoPath(coordinate: string): string {
  const [g, a, v, type = "jar", classifier] = coordinate.split(":");
  return `${g.replaceAll(".", "/")}/${a}/${v}/${a}-${v}${
    classifier ? `-${classifier}` : ""
  }.${type}`;
}

/**
 * Locks a `direct` bundle: downloads each named file from the repository, checks it against
 * the repository's published SHA-1 and records its SHA-256.
 */
async function lockDirect(spec: BundleSpec) {
  const repo = repositoryUrl();
  const files = [];
  for (const coordinate of spec.coordinates) {
    const path = repoPath(coordinate);
    console.log(`  downloading ${path}`);
    const res = await fetch(`${repo}/${path}`);
    if (!res.ok) throw new Error(`GET ${repo}/${path} answered ${res.status}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const sha1Res = await fetch(`${repo}/${path}.sha1`);
    if (!sha1Res.ok) throw new Error(`GET ${repo}/${path}.sha1 answered ${sha1Res.status}`);
    const published = (await sha1Res.text()).trim().split(/\s+/)[0].toLowerCase();
    const sha1 = createHash("sha1").update(bytes).digest("hex");
    if (sha1 !== published) {
      throw new Error(`${path}: SHA-1 ${sha1} differs from the published ${published}`);
    }
    files.push({
      path,
      size: bytes.length,
      sha256: createHash("sha256").update(bytes).digest("hex"),
    });
  }
  return files;
}

const SPEC = defineTask({
  task: "stack:lock",
  summary:
    "Resolves the stack's bundles with Maven (strict checksums) and writes lib/stack/process/artifacts.lock.json; run after changing a version.",
  positionals: [
    {
      name: "BUNDLE",
      description: "bundles to lock (default: all of lib/stack/process/bundles.ts)",
      variadic: true,
    },
  ],
  examples: ["deno task stack:lock kafka"],
});

await runMain(async (cli) => {
  const names = cli.positional.length ? cli.positional : Object.keys(BUNDLES);
  let lock: ArtifactLock;
  try {
    lock = await readLock();
  } catch {
    lock = { repository: "https://repo1.maven.org/maven2", bundles: {} };
  }
  const m2 = join(Deno.env.get("HOME") ?? "/root", ".m2", "repository");
  for (const name of names) {
    const spec = BUNDLES[name];
    if (!spec) throw new Error(`Unknown bundle '${name}'`);
    if (spec.direct) {
      lock.bundles[name] = { coordinates: spec.coordinates, files: await lockDirect(spec) };
      continue;
    }
    const dir = await Deno.makeTempDir({ prefix: `lock-${name}-` });
    await Deno.writeTextFile(join(dir, "pom.xml"), pom(spec.coordinates));
    console.log(`Resolving ${name}: ${spec.description}`);
    await run("mvn", [
      "-B",
      "-q",
      "-C",
      "dependency:list",
      "-DoutputFile=deps.txt",
      "-DoutputAbsoluteArtifactFilename=true",
      "-DincludeScope=runtime",
      `-DexcludeTransitive=${spec.transitive === false}`,
    ], { cwd: dir, what: `mvn dependency:list for ${name}` });
    const lines = (await Deno.readTextFile(join(dir, "deps.txt"))).split("\n");
    const files = [];
    for (const line of lines) {
      const m = line.trim().match(/^[^:\s]+:[^:]+:[^:]+:.*:(\/.+)$/);
      if (!m) continue;
      const abs = m[1].replace(/ -- .*$/, "");
      const st = await Deno.stat(abs);
      files.push({ path: relative(m2, abs), size: st.size, sha256: await sha256File(abs) });
    }
    files.sort((a, b) => a.path.localeCompare(b.path));
    lock.bundles[name] = { coordinates: spec.coordinates, files };
    console.log(
      `  ${files.length} files, ${(files.reduce((s, f) => s + f.size, 0) / 1e6).toFixed(1)} MB`,
    );
    await Deno.remove(dir, { recursive: true });
  }
  await Deno.writeTextFile(LOCK_FILE, JSON.stringify(lock, null, 2) + "\n");
  console.log(`Wrote ${LOCK_FILE}`);
}, SPEC);
