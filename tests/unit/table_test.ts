/**
 * lib/env's plain text tables (what `deno task stack status` prints): aligned columns, a header,
 * no index column, no quotes, empty cells for missing values, no trailing spaces.
 */
import assert from "node:assert/strict";
import { formatTable } from "../../lib/env/mod.ts";

Deno.test("formatTable: aligned columns under a header, no index, no quotes", () => {
  const lines = formatTable([
    { service: "kafka-main-0", state: "running", pid: 4242, health: "ok" },
    { service: "postgres", state: "stopped", pid: null, health: "" },
  ]);
  assert.deepEqual(lines, [
    "SERVICE       STATE    PID   HEALTH",
    "kafka-main-0  running  4242  ok",
    "postgres      stopped",
  ]);
  for (const l of lines) assert.ok(!/["'(]idx|'/.test(l), l);
});

Deno.test("formatTable: chosen columns and titles; no rows is the header alone", () => {
  const rows = [{ data: "kafka-main", shape: "brokers=3", size: "1.2 MB", bytes: 1_234_567 }];
  assert.deepEqual(formatTable(rows, ["data", { key: "size", title: "SIZE ON DISK" }]), [
    "DATA        SIZE ON DISK",
    "kafka-main  1.2 MB",
  ]);
  assert.deepEqual(formatTable([], ["a", "b"]), ["A  B"]);
});
