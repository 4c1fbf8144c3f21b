/**
 * `deno task stack:lock [bundle…]` — resolves the stack's bundles (lib/stack/bundles.ts) with
 * Maven (strict checksums against Maven Central) and writes lib/stack/artifacts.lock.json with
 * each file's repository path, size and SHA-256. Run it after changing a version; commit the
 * lock. Users never need Maven: the stack downloads the locked files itself.
 */
import { join, relative } from "node:path";
import { BUNDLES } from "../lib/stack/bundles.ts";
import { type ArtifactLock, LOCK_FILE, readLock, sha256File } from "../lib/stack/artifacts.ts";
import { run } from "../lib/stack/process.ts";
import { runMain } from "../lib/config.ts";

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

await runMain(async () => {
  const names = Deno.args.length ? Deno.args : Object.keys(BUNDLES);
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
});
