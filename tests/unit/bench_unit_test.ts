import assert from "node:assert/strict";
import { join } from "node:path";
import {
  fittedDoubling,
  markdownTable,
  median,
  pairedRatio,
  parseHeyCsv,
  percentile,
  Samples,
  writeReport,
} from "../../lib/bench/mod.ts";

Deno.test("parseHeyCsv: hey's per-request rows as milliseconds and statuses", () => {
  const csv =
    "response-time,DNS+dialup,DNS,Request-write,Response-delay,Response-read,status-code,offset\n" +
    "0.0123,0.0001,0.0000,0.0000,0.0120,0.0002,200,0.0100\n" +
    "1.5000,0.0000,0.0000,0.0000,1.4990,0.0010,503,0.0200\n";
  const { latencyMs, statuses } = parseHeyCsv(csv);
  assert.deepEqual(latencyMs.map((x) => Math.round(x * 10) / 10), [12.3, 1500]);
  assert.deepEqual(statuses, [200, 503]);
  assert.deepEqual(parseHeyCsv("response-time,status-code\n"), { latencyMs: [], statuses: [] });
});

Deno.test("bench stats: median, nearest-rank percentile, ratios paired within a round", () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(percentile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.5), 50);
  assert.equal(percentile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.99), 100);
  // Round 2 is slow for both: the paired ratio stays 0.5 where medians alone would say 0.4.
  assert.equal(pairedRatio([50, 10, 60], [100, 20, 120]), 0.5);
  const s = new Samples();
  for (const [a, b] of [[50, 100], [10, 20], [60, 120]]) {
    s.add("ours", a);
    s.add("java", b);
  }
  assert.deepEqual(s.labels(), ["ours", "java"]);
  assert.equal(s.ratio("ours", "java"), 0.5);
  assert.throws(() => median([]), /no samples/);
  assert.throws(() => percentile([1], 1.5), /'q' must be in \[0, 1\]: current value is 1.5/);
  assert.throws(() => pairedRatio([1], [1, 2]), /differ in length: 1 and 2/);
});

Deno.test("bench report: markdown table and the json + md pair on disk", async () => {
  const table = markdownTable(["client", "records/s"], [["a|b", 12345.678]], ["left", "right"]);
  assert.equal(table, "| client | records/s |\n| --- | ---: |\n| a\\|b | 12,345.68 |");
  const dir = await Deno.makeTempDir();
  try {
    const md = await writeReport(
      "x/demo",
      { title: "bench:demo", markdown: table, json: { n: 1 } },
      dir,
    );
    assert.equal(md, join(dir, "x/demo.md"));
    assert.match(await Deno.readTextFile(md), /^# bench:demo \(.+\)\n\n\| client/);
    const json = JSON.parse(await Deno.readTextFile(join(dir, "x/demo.json")));
    assert.deepEqual([json.name, json.n], ["x/demo", 1]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fitted growth per doubling: exact for a power law, one noisy size moves it little", () => {
  const sizes = [1e6, 2e6, 4e6, 8e6];
  const linear = sizes.map((n) => ({ events: n, seconds: n / 1e5 }));
  assert.ok(Math.abs(fittedDoubling(linear) - 2) < 1e-9);
  const quadratic = sizes.map((n) => ({ events: n, seconds: (n / 1e6) ** 2 }));
  assert.ok(Math.abs(fittedDoubling(quadratic) - 4) < 1e-9);
  // The first size twice as fast as it should be: its own step reads ×4, the fit about ×2.46.
  const noisy = linear.map((p, i) => (i === 0 ? { ...p, seconds: p.seconds / 2 } : p));
  const fitted = fittedDoubling(noisy);
  assert.ok(fitted > 2.4 && fitted < 2.5, `fitted ${fitted}`);
});
