/**
 * `deno task bench:recommendations [--users N] [--products N] [--seed N]` — how good the
 * recommendations are, and what each choice of the job costs: structured activity (the
 * generator's `structure: true`: category affinity, complementary products, best-sellers,
 * repeat purchases) loaded straight into DuckDB, then the evaluation of jobs/evaluate.ts (a
 * time-based split at 80 % of the events; precision@5, recall@5, NDCG@5, coverage) for each
 * variant of the recommendations job — the item similarity (cosine, Jaccard, lift, and the raw
 * co-occurrence count as the reference), and for the chosen one fewer and more neighbours — in
 * one run, beside the three baselines (most popular, popular in the user's favourite category,
 * random). Saves `bench-results/recommendations.{md,json}` for `bench:report`.
 * @module
 */
import { defineTask, flagInt, runMain } from "../../lib/env/mod.ts";
import { generateActivity } from "../../lib/marketplace/mod.ts";
import { openDuckDb } from "../../jobs/duckdb.ts";
import { loadActivityTables } from "../../jobs/activity_tables.ts";
import { evaluateDuckDb, type Evaluation, type QualityRow } from "../../jobs/evaluate.ts";
import { JOBS } from "../../jobs/marts.ts";
import { markdownTable, writeReport } from "../../lib/bench/mod.ts";

const SPEC = defineTask({
  task: "bench:recommendations",
  summary:
    "Recommendation quality and cost of each variant of the recommendations job (cosine, Jaccard, lift, raw counts; fewer and more neighbours) beside the baselines, on structured generated activity in DuckDB. No services needed.",
  flags: {
    users: { type: "string", default: "20000", valueName: "N", description: "users generated" },
    products: {
      type: "string",
      default: "2000",
      valueName: "N",
      description: "products generated",
    },
    seed: { type: "string", default: "7", valueName: "N", description: "generator seed" },
  },
  examples: ["deno task bench:recommendations", "deno task bench:recommendations --users 5000"],
});

/** One variant of the recommendations job: its parameters over the job's defaults. */
interface Variant {
  label: string;
  params: Record<string, number | string>;
}

const DEFAULTS = JOBS.find((j) => j.name === "recommendations")!;
const K = DEFAULTS.params!.neighbours;

/** The variants measured: each similarity at the default K, then the default at K/2 and K×2.5. */
const VARIANTS: Variant[] = [
  { label: `cosine, K ${K} (the job's default)`, params: {} },
  { label: `Jaccard, K ${K}`, params: { similarity: "jaccard" } },
  { label: `lift, K ${K}`, params: { similarity: "lift" } },
  { label: `raw co-occurrence count, K ${K}`, params: { similarity: "count" } },
  { label: `cosine, K ${K / 2}`, params: { neighbours: K / 2 } },
  { label: `cosine, K ${K * 2.5}`, params: { neighbours: K * 2.5 } },
];

/** A measured variant: the recommender's row and the evaluation's time. */
interface Measured {
  label: string;
  params: Variant["params"];
  seconds: number;
  row: QualityRow;
}

const f = (x: number) => x.toFixed(4);
const cells = (
  r: QualityRow,
) => [f(r.precision_at_5), f(r.recall_at_5), f(r.ndcg_at_5), f(r.coverage)];

/** The report: the variants, then the baselines, then the default against the best baseline. */
function reportMarkdown(
  setup: string,
  measured: Measured[],
  first: Evaluation,
): string {
  const baselines = first.rows.filter((r) => r.method !== "recommender");
  const table = markdownTable(
    ["method", "precision@5", "recall@5", "NDCG@5", "coverage", "evaluation (s)"],
    [
      ...measured.map((m) => [`recommender: ${m.label}`, ...cells(m.row), m.seconds.toFixed(1)]),
      ...baselines.map((b) => [`baseline: ${b.method}`, ...cells(b), ""]),
    ],
    ["left", "right", "right", "right", "right", "right"],
  );
  const chosen = measured[0].row;
  const best = (key: "recall_at_5" | "ndcg_at_5") =>
    baselines.reduce((a, b) => (b[key] > a[key] ? b : a));
  const ratio = (key: "recall_at_5" | "ndcg_at_5") => {
    const b = best(key);
    return `${key === "recall_at_5" ? "recall@5" : "NDCG@5"} ${f(chosen[key])} against ${
      f(b[key])
    } (${b.method}), ×${(chosen[key] / b[key]).toFixed(2)}`;
  };
  return [
    setup,
    "",
    table,
    "",
    `The job's default against the best baseline: ${ratio("recall_at_5")}; ${ratio("ndcg_at_5")}.`,
  ].join("\n");
}

await runMain(async (cli) => {
  const users = flagInt(cli, "users", 20_000);
  const products = flagInt(cli, "products", 2000);
  const seed = flagInt(cli, "seed", 7);
  const start = Date.UTC(2025, 0, 1);
  const data = generateActivity({ users, products, seed, start, days: 14, structure: true });
  const con = await openDuckDb();
  try {
    await loadActivityTables(con, data);
    const measured: Measured[] = [];
    let first: Evaluation | undefined;
    for (const v of VARIANTS) {
      const t = performance.now();
      const run = await evaluateDuckDb(con, { recommendations: v.params });
      const seconds = (performance.now() - t) / 1000;
      first ??= run;
      const row = run.rows.find((r) => r.method === "recommender")!;
      measured.push({ label: v.label, params: v.params, seconds, row });
      console.log(
        `${v.label}: recall@5 ${f(row.recall_at_5)}, NDCG@5 ${f(row.ndcg_at_5)}, ` +
          `coverage ${f(row.coverage)} (${seconds.toFixed(1)} s)`,
      );
    }
    const setup = `Structured generated activity (${users.toLocaleString("en")} users, ${
      products.toLocaleString("en")
    } products, 14 days, seed ${seed}: ${
      data.events.length.toLocaleString("en")
    } user events) in embedded DuckDB (2 threads); split at ${
      first!.cutoff
    } (80 % of the events before it): ${
      first!.rows[0].users.toLocaleString("en")
    } test users. Each row is the recommender's top 5 (history ${
      DEFAULTS.params!.history
    } products per user, K neighbours per product) or a baseline's; evaluation (s) is the whole evaluation (split, recommendations on the training part, scoring).`;
    const markdown = reportMarkdown(setup, measured, first!);
    console.log(`\n${markdown}`);
    const path = await writeReport("recommendations", {
      title: "bench:recommendations",
      markdown,
      json: { users, products, seed, events: data.events.length, evaluation: first, measured },
    });
    console.log(`\nsaved ${path}`);
  } finally {
    con.closeSync();
  }
}, SPEC);
