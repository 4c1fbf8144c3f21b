/**
 * The import rule of lib/ (lib/layers.ts), checked on every file of lib/ and tasks/: imports go
 * down the layers, across folders only through mod.ts, and tasks reach lib only through mod.ts;
 * and across lib/, tasks/, tests/ and jobs/, no two files import each other.
 */
import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { folderOf, importViolation } from "../../lib/layers.ts";
import { PROJECT_ROOT } from "../../lib/env/mod.ts";

const LIB = join(PROJECT_ROOT, "lib");
const IMPORT = /(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g;

function walk(dir: string, out: string[] = []): string[] {
  for (const e of Deno.readDirSync(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) walk(p, out);
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** Lines of doc comments and line comments: their examples import, the module does not. */
const COMMENT_LINE = /^\s*(?:\*|\/\/|\/\*)/;

function importsOf(file: string): string[] {
  const src = Deno.readTextFileSync(file).split("\n").filter((l) => !COMMENT_LINE.test(l))
    .join("\n");
  return [...src.matchAll(IMPORT)].map((m) => resolve(dirname(file), m[1]));
}

Deno.test("lib: imports go down the layers and through mod.ts", () => {
  const violations: string[] = [];
  for (const file of walk(LIB)) {
    const from = folderOf(relative(LIB, file));
    if (!from) continue;
    for (const target of importsOf(file)) {
      const why = importViolation(from, relative(LIB, target));
      if (why) violations.push(`${relative(PROJECT_ROOT, file)}: ${why}`);
    }
  }
  assert.deepEqual(violations, []);
});

Deno.test("tasks: reach lib only through a folder's mod.ts", () => {
  const violations: string[] = [];
  for (const file of walk(join(PROJECT_ROOT, "tasks"))) {
    for (const target of importsOf(file)) {
      const rel = relative(LIB, target);
      if (rel.startsWith("..")) continue;
      if (!rel.endsWith("/mod.ts")) violations.push(`${relative(PROJECT_ROOT, file)} → lib/${rel}`);
    }
  }
  assert.deepEqual(violations, []);
});

/** Pairs of files that import each other, as `a.ts ↔ b.ts` (project-relative, each pair once). */
function mutualImports(files: readonly string[]): string[] {
  const imports = new Map(files.map((f) => [f, new Set(importsOf(f))]));
  const pairs: string[] = [];
  for (const [file, targets] of imports) {
    for (const target of targets) {
      if (file < target && imports.get(target)?.has(file)) {
        pairs.push(`${relative(PROJECT_ROOT, file)} ↔ ${relative(PROJECT_ROOT, target)}`);
      }
    }
  }
  return pairs.sort();
}

Deno.test("no two files import each other (lib/, tasks/, tests/, jobs/)", () => {
  const files = ["lib", "tasks", "tests", "jobs"].flatMap((d) => walk(join(PROJECT_ROOT, d)));
  assert.deepEqual(mutualImports(files), []);
});

Deno.test("mutualImports finds a pair that imports each other, and only that pair", () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(join(dir, "a.ts"), 'import { b } from "./b.ts";\nexport const a = b;\n');
    Deno.writeTextFileSync(join(dir, "b.ts"), 'export { a } from "./a.ts";\nexport const b = 1;\n');
    Deno.writeTextFileSync(join(dir, "c.ts"), 'import { b } from "./b.ts";\nexport const c = b;\n');
    const found = mutualImports(walk(dir));
    assert.equal(found.length, 1);
    assert.match(found[0], /a\.ts ↔ .*b\.ts$/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("folderOf: a file in a subfolder belongs to its top folder", () => {
  assert.equal(folderOf("stack/process/process.ts"), "stack");
  assert.equal(folderOf("stack/mod.ts"), "stack");
  assert.equal(folderOf("course/practice3/filter.ts"), "course/practice3");
  assert.equal(importViolation("stack", "stack/services/kafka.ts"), undefined);
  assert.equal(importViolation("lake", "stack/mod.ts"), undefined);
  assert.match(importViolation("lake", "stack/tools/mod.ts")!, /through stack\/mod.ts/);
});

Deno.test("the rule itself: an upward, a sideways and a back-door import are refused", () => {
  assert.match(importViolation("kafka", "stack/mod.ts")!, /imports go down/);
  assert.match(importViolation("course/practice3", "course/practice2/mod.ts")!, /one another/);
  assert.match(importViolation("marketplace", "course/practice6/mod.ts")!, /one another/);
  assert.match(importViolation("lake", "kafka/dlq.ts")!, /through kafka\/mod.ts/);
  assert.equal(importViolation("lake", "kafka/mod.ts"), undefined);
  assert.match(importViolation("newroom", "env/mod.ts")!, /no rank/);
});
