/**
 * CPU profiles of a bench run under Deno, taken in-process through `node:inspector` (Deno 2.9
 * has no `--cpu-prof`), and their summary: top frames by self time and self time by owner
 * (kafkajs, another npm package, the project's own code, Deno/Node internals, GC, idle).
 *
 * @example
 * ```ts
 * import { profiled, summarize } from "./cpu_profile.ts";
 * const { result, profile } = await profiled(() => work());
 * console.log(summarize(profile, 20));
 * ```
 * @module
 */
import { Session } from "node:inspector/promises";

/** The parts of a V8 `.cpuprofile` read here. */
export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    hitCount?: number;
  }[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

/** Runs `fn` under the V8 sampling profiler (`intervalUs` between samples). */
export async function profiled<T>(
  fn: () => Promise<T>,
  intervalUs = 500,
): Promise<{ result: T; profile: CpuProfile }> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: intervalUs });
  await session.post("Profiler.start");
  const result = await fn();
  const stopped = (await session.post("Profiler.stop")) as unknown as { profile: CpuProfile };
  session.disconnect();
  return { result, profile: stopped.profile };
}

/** Who a frame's code belongs to. */
export function ownerOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith("(") ? functionName : "(native/V8 builtin)";
  const npm = url.match(/registry\.npmjs\.org\/((?:@[^/]+\/)?[^/]+)\//);
  if (npm) return `npm:${npm[1]}`;
  if (url.startsWith("file://")) {
    return url.includes("/lib/") || url.includes("/tasks/") ? "project" : "file";
  }
  if (url.startsWith("node:") || url.startsWith("ext:")) return "Deno/Node runtime (ext:, node:)";
  return url.split("/")[0];
}

/** Top `top` frames by self time, and self time by owner, as markdown tables. */
export function summarize(profile: CpuProfile, top = 25): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const hits = new Map<number, number>();
  if (profile.samples) { for (const s of profile.samples) hits.set(s, (hits.get(s) ?? 0) + 1); }
  else for (const n of profile.nodes) hits.set(n.id, n.hitCount ?? 0);
  let total = 0;
  const frames = new Map<string, { n: number; owner: string }>();
  const owners = new Map<string, number>();
  for (const [id, n] of hits) {
    const node = byId.get(id)!;
    const { functionName, url, lineNumber } = node.callFrame;
    const owner = ownerOf(url, functionName);
    const file = url.replace(/^.*registry\.npmjs\.org\/(?:@[^/]+\/)?[^/]+\/[^/]+\//, "")
      .replace(/^file:\/\/.*?\/(lib|tasks)\//, "$1/");
    const key = `${functionName || "(anonymous)"} ${file ? `${file}:${lineNumber + 1}` : ""}`;
    const f = frames.get(key) ?? { n: 0, owner };
    f.n += n;
    frames.set(key, f);
    owners.set(owner, (owners.get(owner) ?? 0) + n);
    total += n;
  }
  const pct = (n: number) => `${(100 * n / total).toFixed(1)} %`;
  const lines = ["| self | owner |", "| ---: | --- |"];
  for (const [o, n] of [...owners].sort((a, b) => b[1] - a[1])) lines.push(`| ${pct(n)} | ${o} |`);
  lines.push("", "| self | frame | owner |", "| ---: | --- | --- |");
  for (const [k, f] of [...frames].sort((a, b) => b[1].n - a[1].n).slice(0, top)) {
    lines.push(`| ${pct(f.n)} | \`${k.trim()}\` | ${f.owner} |`);
  }
  const seconds = (profile.endTime - profile.startTime) / 1e6;
  return `${total} samples over ${seconds.toFixed(1)} s\n\n${lines.join("\n")}`;
}
