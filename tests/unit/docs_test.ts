/**
 * The documentation holds together: every relative link (and its `#anchor`) in README.md,
 * BENCHMARKS.md and docs/*.md points at a file, folder or heading that exists; every
 * `deno task NAME` they write is a task of deno.json; every task of deno.json is in the README's
 * tables; the README stays a front page (≤ 250 lines, the two commands CI runs); and BENCHMARKS.md
 * is exactly what `deno task bench:report` generates from bench-results/ (through lib/bench's
 * page functions).
 */
import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { PROJECT_ROOT } from "../../lib/env/paths.ts";
import {
  BENCHMARKS_PATH,
  readBenchResults,
  renderBenchmarks,
  RESULTS_DIR,
} from "../../lib/bench/mod.ts";

const README = "README.md";
const MAX_README_LINES = 250;

/** The pages checked, relative to the project root. */
function pages(): string[] {
  const docs = [...Deno.readDirSync(join(PROJECT_ROOT, "docs"))]
    .filter((e) => e.isFile && e.name.endsWith(".md"))
    .map((e) => `docs/${e.name}`)
    .sort();
  return [README, "BENCHMARKS.md", ...docs];
}

const read = (page: string) => Deno.readTextFileSync(join(PROJECT_ROOT, page));

/** The text outside fenced code blocks, line by line (fenced lines blanked, numbering kept). */
export function prose(md: string): string[] {
  let fence: string | undefined;
  return md.split("\n").map((line) => {
    const m = /^\s*(```+|~~~+)/.exec(line);
    if (m) {
      if (fence === undefined) fence = m[1][0];
      else if (m[1][0] === fence) fence = undefined;
      return "";
    }
    return fence === undefined ? line : "";
  });
}

/** GitHub's anchor of a heading's text. */
export function slug(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1") // links and images: their text
    .replace(/<[^>]+>/g, "") // inline HTML
    .replace(/[`*]/g, "")
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M} _-]/gu, "")
    .replace(/ /g, "-");
}

/** Every anchor a page offers: its headings' slugs (numbered when repeated) and `<a id>`s. */
export function anchors(md: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of prose(md)) {
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (h) {
      const base = slug(h[1]);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      out.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const a of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) out.add(a[1]);
  }
  return out;
}

/** The link targets of a page outside code (fenced or inline): `[text](target)` and images. */
export function links(md: string): { line: number; target: string }[] {
  const out: { line: number; target: string }[] = [];
  // A link's text may wrap onto the next line, so look at the prose as one text.
  const text = prose(md).join("\n").replace(/(`+)[^`]*?\1/g, (code) => code.replace(/[^\n]/g, " "));
  for (const m of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    const line = text.slice(0, m.index).split("\n").length;
    out.push({ line, target: m[1] });
  }
  return out;
}

/** What is wrong with each relative link of `page` (an empty list when all resolve). */
export function brokenLinks(
  page: string,
  md: string,
  exists: (path: string) => boolean,
  anchorsOf: (path: string) => Set<string> | undefined,
): string[] {
  const broken: string[] = [];
  for (const { line, target } of links(md)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http(s), mailto, …
    const [rawPath, anchor] = target.split("#", 2);
    const path = decodeURIComponent(rawPath);
    const abs = path === "" ? join(PROJECT_ROOT, page) : resolve(PROJECT_ROOT, dirname(page), path);
    const rel = relative(PROJECT_ROOT, abs);
    const at = `${page}:${line}: ${target}`;
    if (rel.startsWith("..")) {
      broken.push(`${at} leaves the project`);
      continue;
    }
    if (!exists(abs)) {
      broken.push(`${at} → ${rel || "."} does not exist`);
      continue;
    }
    if (anchor !== undefined && rel.endsWith(".md")) {
      const known = anchorsOf(abs);
      if (known && !known.has(decodeURIComponent(anchor))) {
        broken.push(`${at} → no heading or anchor '#${anchor}' in ${rel}`);
      }
    }
  }
  return broken;
}

/** The task names written as `deno task NAME` (also `deno@x.y.z task NAME`) in a text. */
export function taskMentions(md: string): { line: number; task: string }[] {
  const out: { line: number; task: string }[] = [];
  md.split("\n").forEach((l, i) => {
    for (const m of l.matchAll(/\bdeno(?:@[\d.]+)? task ([a-z][a-z0-9:-]*)/g)) {
      out.push({ line: i + 1, task: m[1].replace(/[:-]+$/, "") });
    }
  });
  return out;
}

/** The tasks named in the first cell of the README's tables (`` | `name` | … | ``). */
export function tableTasks(md: string): string[] {
  return prose(md)
    .map((l) => /^\|\s*`([a-z][a-z0-9:-]*)`\s*\|/.exec(l)?.[1])
    .filter((t): t is string => t !== undefined);
}

const TASKS = Object.keys(
  (JSON.parse(read("deno.json")) as { tasks: Record<string, string> }).tasks,
);

function existsOnDisk(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

const anchorCache = new Map<string, Set<string>>();
function anchorsOnDisk(path: string): Set<string> | undefined {
  if (!anchorCache.has(path)) anchorCache.set(path, anchors(Deno.readTextFileSync(path)));
  return anchorCache.get(path);
}

Deno.test("docs: every relative link and anchor resolves", () => {
  const broken = pages().flatMap((p) => brokenLinks(p, read(p), existsOnDisk, anchorsOnDisk));
  assert.deepEqual(broken, [], broken.join("\n"));
  const checked = pages().reduce((n, p) => n + links(read(p)).length, 0);
  assert.ok(checked > 100, `${checked} links checked`);
});

Deno.test("docs: every `deno task NAME` written is a task of deno.json", () => {
  const unknown = pages().flatMap((p) =>
    taskMentions(read(p)).filter((m) => !TASKS.includes(m.task)).map((m) =>
      `${p}:${m.line}: deno task ${m.task}`
    )
  );
  assert.deepEqual(unknown, [], unknown.join("\n"));
});

Deno.test("README: every task of deno.json has its line in the tables, and only those", () => {
  const listed = tableTasks(read(README));
  assert.deepEqual(TASKS.filter((t) => !listed.includes(t)), [], "tasks missing from the table");
  assert.deepEqual(listed.filter((t) => !TASKS.includes(t)), [], "table rows naming no task");
  const twice = listed.filter((t, i) => listed.indexOf(t) !== i);
  assert.deepEqual(twice, [], "tasks listed twice");
});

Deno.test("README: a front page of at most 250 lines, with the two commands CI and users run", () => {
  const lines = read(README).trimEnd().split("\n");
  assert.ok(lines.length <= MAX_README_LINES, `README.md has ${lines.length} lines`);
  for (const cmd of ["npx -y deno@2.9.6 task demo", "npx -y deno@2.9.6 task test"]) {
    assert.ok(lines.some((l) => l.trim().startsWith(cmd)), `README has the line '${cmd}'`);
  }
});

Deno.test("BENCHMARKS.md is what deno task bench:report generates from bench-results/", async () => {
  const expected = await renderBenchmarks(await readBenchResults(RESULTS_DIR));
  const actual = await Deno.readTextFile(BENCHMARKS_PATH);
  assert.equal(actual, expected, "BENCHMARKS.md is out of date: run deno task bench:report");
});

Deno.test("docs checks find what they are for", () => {
  const md = [
    "# A title",
    "## Heading with `code`, commas & more",
    "## Heading with `code`, commas & more",
    '<a id="custom"></a>',
    "[ok](#a-title) [dup](#heading-with-code-commas--more-1) [custom](#custom)",
    "[gone](#nowhere) [web](https://example.com) [file](missing.md)",
    "`[not](a-link.md)` and the seed's `deno task` and `deno task NAME`",
    "```bash",
    "# not a heading",
    "deno task practice2:consumer:single && deno task nosuch:task",
    "[not](in-code.md)",
    "```",
  ].join("\n");
  const here = join(PROJECT_ROOT, "docs/page.md");
  const found = brokenLinks(
    "docs/page.md",
    md,
    (p) => p === here,
    (p) => (p === here ? anchors(md) : undefined),
  );
  assert.deepEqual(found, [
    "docs/page.md:6: #nowhere → no heading or anchor '#nowhere' in docs/page.md",
    "docs/page.md:6: missing.md → docs/missing.md does not exist",
  ]);
  assert.ok(!anchors(md).has("not-a-heading"), "a comment in a code block is no heading");
  assert.deepEqual(taskMentions(md).map((m) => m.task), [
    "practice2:consumer:single",
    "nosuch:task",
  ]);
  assert.deepEqual(tableTasks("| task | x |\n| --- | --- |\n| `demo` | y |\n| `a:b` | z |"), [
    "demo",
    "a:b",
  ]);
});
