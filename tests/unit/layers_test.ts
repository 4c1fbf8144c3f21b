/**
 * The import rule of lib/ (lib/layers.ts), checked on every file of lib/ and tasks/: imports go
 * down the layers, across folders only through mod.ts, and tasks reach lib only through mod.ts.
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

function importsOf(file: string): string[] {
  const src = Deno.readTextFileSync(file);
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

Deno.test("the rule itself: an upward, a sideways and a back-door import are refused", () => {
  assert.match(importViolation("kafka", "stack/mod.ts")!, /imports go down/);
  assert.match(importViolation("course/practice3", "course/practice2/mod.ts")!, /one another/);
  assert.match(importViolation("marketplace", "course/practice6/mod.ts")!, /one another/);
  assert.match(importViolation("lake", "kafka/dlq.ts")!, /through kafka\/mod.ts/);
  assert.equal(importViolation("lake", "kafka/mod.ts"), undefined);
  assert.match(importViolation("newroom", "env/mod.ts")!, /no rank/);
});
