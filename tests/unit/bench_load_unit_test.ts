import assert from "node:assert/strict";
import {
  latencySummary,
  lineChartSvg,
  type MirrorStep,
  mirrorVerdict,
  openLoop,
  parseRates,
} from "../../lib/bench/mod.ts";
import {
  highestSustained,
  HOPS,
  type Measured,
  type PlatformStep,
  sustained,
} from "../../lib/marketplace/bench/mod.ts";

Deno.test("openLoop: every call on schedule, none waiting for the one before", async () => {
  const due: number[] = [];
  const r = await openLoop({ rate: 200, seconds: 0.25, send: (_, d) => void due.push(d) });
  assert.equal(r.calls, 50);
  assert.equal(due.length, 50);
  assert.ok(Math.abs(due[49] - due[0] - 245) < 1, "the 50th is due 245 ms after the first");
  assert.ok(r.endMs - r.startMs < 600);
});

Deno.test("latencySummary and parseRates", () => {
  assert.deepEqual(latencySummary([]), { count: 0, p50: 0, p95: 0, p99: 0, max: 0 });
  const s = latencySummary(Array.from({ length: 100 }, (_, i) => i + 1));
  assert.deepEqual([s.p50, s.p95, s.p99, s.max], [50, 95, 99, 100]);
  assert.deepEqual(parseRates("100, 200,500"), [100, 200, 500]);
  assert.throws(() => parseRates("200,100"), /ascending/);
  assert.throws(() => parseRates("0"), /ascending/);
  assert.throws(() => parseRates("10,x"), /'10,x'/);
});

function measured(name: string, offered: number, p99: number, missing = 0): Measured {
  return {
    name,
    offered,
    sentPerSec: offered,
    latency: { count: 10, p50: p99 / 2, p95: p99, p99, max: p99 },
    missing,
    failed: 0,
  };
}

function step(rate: number, pgP99: number, missing = 0): PlatformStep {
  return {
    shopRate: rate,
    clientRate: rate,
    seconds: 1,
    routes: [],
    hops: [measured(HOPS.pg, rate, pgP99, missing)],
    loadavg: 0,
    lateMs: { shop: 0, client: 0 },
  };
}

Deno.test("bench:platform: a hop holds with p99 under target and nothing missing", () => {
  assert.ok(sustained(measured(HOPS.pg, 100, 1_999)));
  assert.ok(!sustained(measured(HOPS.pg, 100, 2_001)));
  assert.ok(!sustained(measured(HOPS.pg, 100, 10, 1)));
  const steps = [step(100, 500), step(200, 1_500), step(400, 2_500), step(800, 900)];
  assert.equal(highestSustained(steps, HOPS.pg), 200, "stops at the first step that missed");
  assert.equal(highestSustained([step(100, 5_000)], HOPS.pg), undefined);
});

Deno.test("bench:mirror: the verdict names the hop, met or not", () => {
  const lat = (p99: number) => ({ count: 1, p50: p99, p95: p99, p99, max: p99 });
  const s = (rate: number, p99: number): MirrorStep => ({
    rate,
    seconds: 1,
    sent: rate,
    acked: rate,
    missing: 0,
    sentPerSec: rate,
    copyPerSec: rate,
    ack: lat(5),
    latency: lat(p99),
    fromAck: lat(p99 - 5),
    lateMs: 0,
  });
  assert.match(mirrorVerdict([s(5_000, 800)]), /\*\*met\*\* — hop MirrorMaker 2/);
  assert.match(mirrorVerdict([s(5_000, 1_200)]), /\*\*not met\*\*/);
  assert.match(mirrorVerdict([s(1_000, 100)]), /not measured/);
});

Deno.test("lineChartSvg: one polyline per series, targets dashed, text escaped", () => {
  const svg = lineChartSvg({
    title: "a < b",
    xLabel: "x",
    yLabel: "y",
    series: [
      { name: "one", points: [{ x: 1, y: 10 }, { x: 2, y: 100 }], target: 50 },
      { name: "two", points: [{ x: 1, y: 5 }, { x: 2, y: 7 }] },
    ],
  });
  assert.match(svg, /^<svg xmlns/);
  assert.equal(svg.match(/<polyline/g)?.length, 2);
  assert.equal(svg.match(/stroke-dasharray/g)?.length, 1);
  assert.match(svg, /a &lt; b/);
});
