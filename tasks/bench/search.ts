/**
 * `deno task bench:search [--products 2000,20000] [--rounds N] [--http]` — the CLIENT API's
 * product search (lib/marketplace/client_api/search.ts: the folded search text stored in a
 * generated column, its trigram index, ranking on the rows the index returns, a named
 * statement) beside the search before it (client_api/search_baseline.ts: an index over an
 * expression folding four columns, recomputed for every row the index returns and again to rank
 * it, an unnamed statement planned on every call), in one run on the same rows: PostgreSQL's
 * planning and execution time per search (`EXPLAIN ANALYZE`) and the client's time, per query
 * class and catalogue size, and both plans of `часы`. It fails when the two searches return
 * different rows, order or ranks, or when the current plan does not use its index.
 *
 * `--http` then measures the CLIENT API itself over HTTP on the largest catalogue with `hey`
 * (a load generator no one here wrote): `/healthz` (Deno's HTTP alone),
 * `/users/:id/recommendations` (plus recording the request and answer in Kafka) and
 * `/products/search?q=часы` (plus PostgreSQL) at fixed concurrencies, the API started in this
 * process on the bench's table. Needs the secure cluster and the final topology:
 * `deno task stack up --secure`, `deno task final:setup`.
 *
 * The products are generated (lib/marketplace's catalogue generator) into tables of the run's
 * own in the analytics database (`bench_search_<run>_<n>`, the JDBC sink's column layout),
 * dropped at the end. Needs PostgreSQL: `deno task stack up`.
 */
import pg from "pg";
import { ConfigError, defineTask, flagInt, runMain } from "../../lib/env/mod.ts";
import { ensureDatabase, postgresUrlFromEnv, withDatabase } from "../../lib/connect/mod.ts";
import { createKafka, secureKafkaConfigFromEnv } from "../../lib/kafka/mod.ts";
import {
  findHey,
  type HttpLoadResult,
  markdownTable,
  runHey,
  writeReport,
} from "../../lib/bench/mod.ts";
import { profiled, summarize } from "../../lib/bench/clients/mod.ts";
import {
  ANALYTICS_DB,
  COMMON_QUERIES,
  createProductsTable,
  explainText,
  generateProducts,
  indexBoth,
  insertProducts,
  issueToken,
  measureSearch,
  newIdentitySecret,
  NO_MATCH_QUERIES,
  PRINCIPALS,
  searchIndexName,
  type SearchMeasure,
  searchTerms,
  startClientApi,
  tokenVerifier,
} from "../../lib/marketplace/mod.ts";
import type { Product } from "../../lib/schemas/mod.ts";

const SPEC = defineTask({
  task: "bench:search",
  summary:
    "The CLIENT API's search (stored search text, named statement) beside the search before it: EXPLAIN ANALYZE planning and execution per search at each catalogue size, same rows checked; --http: the API's capacity with hey. Needs PostgreSQL (and for --http the secure cluster + final:setup).",
  flags: {
    products: {
      type: "string",
      default: "2000,20000",
      description: "catalogue sizes, comma-separated",
    },
    rounds: { type: "string", default: "12", description: "times each query runs per search" },
    http: { type: "boolean", description: "also measure the CLIENT API over HTTP with hey" },
    seconds: { type: "string", default: "15", description: "--http: seconds per load point" },
    "pg-pool": {
      type: "string",
      default: "10",
      description: "--http: the API's PostgreSQL connections",
    },
  },
  env: {
    POSTGRES_URL: { description: "PostgreSQL URL", default: "the stack's" },
    HEY: { description: "path of the hey binary", default: "found on GOBIN, ~/go/bin, PATH" },
  },
  examples: [
    "deno task bench:search",
    "deno task bench:search --products 20000,100000",
    "deno task bench:search --http",
  ],
});

/** The query whose plans the report shows, and the HTTP search. */
const PLAN_QUERY = "часы";

interface QueryClass {
  name: string;
  queries: readonly string[];
}

/**
 * The search of the plans (and of the HTTP load), what users search for most, what finds
 * nothing, and two words of one product.
 */
function queryClasses(all: readonly Product[]): QueryClass[] {
  const step = Math.floor(all.length / 8);
  return [
    { name: `'${PLAN_QUERY}' alone`, queries: [PLAN_QUERY] },
    { name: "common words", queries: COMMON_QUERIES.slice(0, 8) },
    { name: "words the catalogue lacks", queries: NO_MATCH_QUERIES.slice(0, 8) },
    {
      name: "two words of a product",
      queries: all.filter((_, i) => i % step === 0).slice(0, 8)
        .map((p) => `${p.name.split(/\s+/u)[0]} ${p.brand}`),
    },
  ];
}

/**
 * Means of one search's measures over a class (the milliseconds a search of the class costs;
 * a median would hide the queries that find rows behind those that find none).
 */
function summary(ms: SearchMeasure[]) {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    planningMs: mean(ms.map((m) => m.planningMs)),
    executionMs: mean(ms.map((m) => m.executionMs)),
    wallMs: mean(ms.map((m) => m.wallMs)),
  };
}

/**
 * Every query of a class `rounds` times, the two searches alternating; throws when they
 * return different rows, order or ranks.
 */
async function measureClass(
  client: pg.Client,
  table: string,
  c: QueryClass,
  rounds: number,
  prepared: Set<string>,
) {
  const before: SearchMeasure[] = [], now: SearchMeasure[] = [];
  let hits = 0;
  for (let r = 0; r < rounds; r++) {
    for (const q of c.queries) {
      const terms = searchTerms(q);
      const b = await measureSearch(client, "baseline", terms, table, prepared);
      const n = await measureSearch(client, "current", terms, table, prepared);
      const answer = (m: SearchMeasure) => m.ids.map((id, i) => `${id}:${m.ranks[i]}`).join(", ");
      if (answer(b) !== answer(n)) {
        throw new Error(
          `'${q}' on ${table}: the search before returned [${answer(b)}], ` +
            `the current one [${answer(n)}] (id:rank)`,
        );
      }
      if (r === 0) hits += n.ids.length;
      before.push(b);
      now.push(n);
    }
  }
  return {
    name: c.name,
    queries: c.queries.length,
    hits,
    before: summary(before),
    now: summary(now),
  };
}

/** Loads `n` products into a table of the run's own and indexes it for both searches. */
async function loadCatalogue(client: pg.Client, table: string, n: number) {
  console.log(`Loading ${n} generated products into ${ANALYTICS_DB}.${table}…`);
  await createProductsTable(client, table);
  const all = generateProducts(n, { seed: 7 });
  await insertProducts(client, table, all);
  return { all, build: await indexBoth(client, table) };
}

/** Both plans of {@linkcode PLAN_QUERY}; throws when the current one skips its index. */
async function plansOf(client: pg.Client, table: string) {
  const terms = searchTerms(PLAN_QUERY);
  const before = await explainText(client, "baseline", terms, table);
  const now = await explainText(client, "current", terms, table);
  if (!now.includes(`Bitmap Index Scan on ${searchIndexName(table)}`)) {
    throw new Error(`the plan of '${PLAN_QUERY}' does not use ${searchIndexName(table)}:\n${now}`);
  }
  // The run's table name would make the report differ from run to run.
  return { before: before.replaceAll(table, "products"), now: now.replaceAll(table, "products") };
}

/** One catalogue size: load, index, measure every class, show the plans. */
async function benchSize(client: pg.Client, table: string, n: number, rounds: number) {
  const { all, build } = await loadCatalogue(client, table, n);
  const classes = [];
  const prepared = new Set<string>(); // the statements this session PREPAREd
  for (const c of queryClasses(all)) {
    classes.push(await measureClass(client, table, c, rounds, prepared));
  }
  return { products: n, build, classes, plans: await plansOf(client, table) };
}

type SizeResult = Awaited<ReturnType<typeof benchSize>>;

/** The plan/timing table: one row per size × class. */
function planTable(sizes: SizeResult[]): string {
  const f = (x: number) => x.toFixed(2);
  return markdownTable(
    [
      "products",
      "queries",
      "rows found",
      "before: planning + execution (ms)",
      "now: planning + execution (ms)",
      "before / now, client (ms/search)",
      "before ÷ now (PostgreSQL)",
    ],
    sizes.flatMap((s) =>
      s.classes.map((c) => [
        s.products,
        `${c.name} (${c.queries})`,
        c.hits,
        `${f(c.before.planningMs)} + ${f(c.before.executionMs)}`,
        `${f(c.now.planningMs)} + ${f(c.now.executionMs)}`,
        `${f(c.before.wallMs)} / ${f(c.now.wallMs)}`,
        `**${
          ((c.before.planningMs + c.before.executionMs) / (c.now.planningMs + c.now.executionMs))
            .toFixed(1)
        }×**`,
      ])
    ),
    ["right", "left", "right", "right", "right", "right", "right"],
  );
}

/** The HTTP load points: route, path, concurrency. */
const HTTP_POINTS = [
  { route: "healthz (Deno HTTP only)", path: "/healthz", concurrency: 50 },
  {
    route: "recommendations (+ Kafka record)",
    path: "/users/user-1/recommendations",
    concurrency: 100,
  },
  ...[10, 50, 200].map((concurrency) => ({
    route: `search '${PLAN_QUERY}' (+ PostgreSQL)`,
    path: `/products/search?q=${encodeURIComponent(PLAN_QUERY)}`,
    concurrency,
  })),
];

type HttpPoint = (typeof HTTP_POINTS)[number] & HttpLoadResult & { load: number };

/** The concurrency at which the search's target is set (and the API's CPU is profiled). */
const TARGET_CONCURRENCY = 50;

/** The CLIENT API started here on `table`, measured at every point of {@linkcode HTTP_POINTS}. */
async function benchHttp(
  postgresUrl: string,
  table: string,
  seconds: number,
  pgPoolSize: number,
): Promise<{ points: HttpPoint[]; profile: string }> {
  const hey = await findHey();
  const options = secureKafkaConfigFromEnv(PRINCIPALS.clientApi, {
    clientId: "bench-search",
    logLevel: "ERROR",
  });
  // A key of this run only: the load sends user-1's token, each request verified as in service.
  const secret = newIdentitySecret();
  const authorization = `Bearer ${await issueToken("user-1", secret, { ttlSeconds: 86_400 })}`;
  const api = await startClientApi({
    kafka: createKafka(options),
    identity: tokenVerifier({ secret }),
    postgresUrl,
    productsTable: table,
    pgPoolSize,
  });
  const points: HttpPoint[] = [];
  let profile = "";
  try {
    for (const p of HTTP_POINTS) {
      console.log(`hey: ${p.route}, ${p.concurrency} at once, ${seconds} s…`);
      const load = {
        url: api.url + p.path,
        concurrency: p.concurrency,
        seconds,
        headers: { Authorization: authorization },
      };
      // The search at the target's concurrency runs under V8's profiler: where the API's own
      // CPU goes (pg, kafkajs, Deno's HTTP) and how long it idles waiting for the others.
      const searchAtTarget = p.path.includes("search") && p.concurrency === TARGET_CONCURRENCY;
      const r = searchAtTarget
        ? await profiled(() => runHey(hey, load)).then(({ result, profile: cpu }) => {
          profile = summarize(cpu, 12);
          return result;
        })
        : await runHey(hey, load);
      points.push({ ...p, ...r, load: Deno.loadavg()[0] });
    }
  } finally {
    await api.close();
  }
  return { points, profile };
}

/**
 * Where the search's rate goes, hop by hop: the three routes differ by one hop each — Deno's
 * HTTP alone (`/healthz`), plus the Kafka record of request and answer (recommendations, from
 * memory), plus PostgreSQL (the search) — so each step's fall in requests/s is that hop's.
 */
function hopChain(health: HttpPoint, recs: HttpPoint, search: HttpPoint): string {
  const rate = (p: HttpPoint) => Math.round(p.perSecond).toLocaleString("en");
  const fall = (from: HttpPoint, to: HttpPoint) => (from.perSecond / to.perSecond).toFixed(1);
  const steps = [
    { hop: "Deno's HTTP alone", cost: health.perSecond < 1_000 ? 1_000 / health.perSecond : 1 },
    { hop: "the Kafka record", cost: health.perSecond / recs.perSecond },
    { hop: "PostgreSQL", cost: recs.perSecond / search.perSecond },
  ];
  const worst = steps.reduce((a, b) => (b.cost > a.cost ? b : a));
  const load = Math.max(health.load, recs.load, search.load);
  return `Hop by hop: Deno's HTTP alone (\`/healthz\`, concurrency ${health.concurrency}) ` +
    `${rate(health)} requests/s; + the Kafka record of request and answer (recommendations, ` +
    `concurrency ${recs.concurrency}) ${rate(recs)} (÷${fall(health, recs)}); + PostgreSQL ` +
    `(search, concurrency ${search.concurrency}) ${rate(search)} (÷${fall(recs, search)}). ` +
    `The hop that costs most: ${worst.hop}. Load average up to ${load.toFixed(0)} on ` +
    `${navigator.hardwareConcurrency} cores while measured.`;
}

/** The HTTP table, the target, the hops and the API's CPU profile. */
function httpReport(
  { points, profile }: { points: HttpPoint[]; profile: string },
  pgPoolSize: number,
  products: number,
): string {
  const table = markdownTable(
    ["route", "concurrency", "requests/s", "p50 (ms)", "p99 (ms)", "not 2xx", "load (1 min)"],
    points.map((p) => [
      p.route,
      p.concurrency,
      Math.round(p.perSecond),
      p.p50Ms.toFixed(1),
      p.p99Ms.toFixed(1),
      p.failed,
      p.load.toFixed(1),
    ]),
    ["left", "right", "right", "right", "right", "right", "right"],
  );
  const [health, recs] = points;
  const search50 = points.find((p) =>
    p.path.includes("search") && p.concurrency === TARGET_CONCURRENCY
  )!;
  const met = search50.perSecond >= 1_000 && search50.p99Ms <= 100;
  const hops = hopChain(health, recs, search50);
  return [
    `The CLIENT API over HTTP (\`--http\`, hey, closed loop, ${
      points[0].requests && (points[0].requests / points[0].perSecond).toFixed(0)
    } s per point; ${products} products; PostgreSQL pool ${pgPoolSize}; ${navigator.hardwareConcurrency} cores):`,
    "",
    table,
    "",
    met
      ? `Target met: search at concurrency 50 ${
        Math.round(search50.perSecond)
      } requests/s (≥ 1,000), p99 ${search50.p99Ms.toFixed(0)} ms (≤ 100).`
      : `Target missed (search at concurrency 50: ≥ 1,000 requests/s with p99 ≤ 100 ms; got ${
        Math.round(search50.perSecond)
      } requests/s, p99 ${search50.p99Ms.toFixed(0)} ms).`,
    "",
    hops,
    "",
    `The CLIENT API's own CPU during the search at concurrency ${TARGET_CONCURRENCY} (V8 profile; ` +
    "`(idle)` is the API waiting for PostgreSQL, Kafka or the next request):",
    "",
    profile,
  ].join("\n");
}

function parseSizes(raw: string): number[] {
  const sizes = raw.split(",").map((s) => Number(s.trim()));
  if (sizes.some((n) => !Number.isInteger(n) || n < 100 || n > 5_000_000)) {
    throw new ConfigError(
      `Cannot bench as '--products' must be sizes of 100..5000000, comma-separated: current value is '${raw}'`,
    );
  }
  return sizes;
}

/** The report's markdown: what ran, the plan table, both plans, the HTTP table if measured. */
function reportMarkdown(sizes: SizeResult[], rounds: number, http?: string): string {
  const largest = sizes[sizes.length - 1];
  const builds = sizes.map((s) =>
    `${s.products.toLocaleString("en")}: ${
      (s.build.currentMs / 1000).toFixed(1)
    } s (column + index), ${(s.build.baselineMs / 1000).toFixed(1)} s (expression index before)`
  ).join("; ");
  return [
    `\`deno task bench:search --rounds ${rounds}${
      http ? " --http" : ""
    }\`: the CLIENT API's search (limit 20) on generated ` +
    "products in the JDBC sink's column layout — now: the folded text stored once per row in a generated " +
    "column with its trigram index, ranked on the rows the index returns, a named statement; before: " +
    "the index over an expression folding four columns, which PostgreSQL recomputed for every row the " +
    "index returned and again to rank it, an unnamed statement planned on every call. Means over " +
    `every query of a class × ${rounds} rounds, the two alternating; PostgreSQL's own times from ` +
    "`EXPLAIN ANALYZE` (the current search as `EXECUTE` of its prepared statement). The bench fails if " +
    "the two return different rows, order or ranks, or the current plan skips its index.",
    "",
    planTable(sizes),
    "",
    `Building: ${builds}. Load average (1 min) at the end: ${
      Deno.loadavg()[0].toFixed(1)
    } on ${navigator.hardwareConcurrency} cores.`,
    "",
    `The plans of \`${PLAN_QUERY}\` at ${largest.products.toLocaleString("en")} products, before:`,
    "",
    "```",
    largest.plans.before,
    "```",
    "",
    "now:",
    "",
    "```",
    largest.plans.now,
    "```",
    ...(http ? ["", http] : []),
  ].join("\n");
}

await runMain(async (cli) => {
  const sizes = parseSizes(cli.values.products ?? "2000,20000");
  const rounds = flagInt(cli, "rounds", 12, { min: 1, max: 1_000 });
  const seconds = flagInt(cli, "seconds", 15, { min: 1, max: 600 });
  const pgPoolSize = flagInt(cli, "pg-pool", 10, { min: 1, max: 200 });
  const base = postgresUrlFromEnv();
  await ensureDatabase(base, ANALYTICS_DB);
  const url = withDatabase(base, ANALYTICS_DB);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const run = Date.now().toString(36);
  const tables = sizes.map((n) => `bench_search_${run}_${n}`);
  try {
    const results: SizeResult[] = [];
    for (const [i, n] of sizes.entries()) {
      results.push(await benchSize(client, tables[i], n, rounds));
    }
    const measured = cli.booleans.http
      ? await benchHttp(url, tables[tables.length - 1], seconds, pgPoolSize)
      : undefined;
    const http = measured && httpReport(measured, pgPoolSize, sizes[sizes.length - 1]);
    const markdown = reportMarkdown(results, rounds, http);
    const saved = await writeReport("search", {
      title: "bench:search",
      markdown,
      json: { sizes, rounds, results, http: measured?.points, pgPoolSize, loadavg: Deno.loadavg() },
    });
    console.log(`\n${markdown}\n\nSaved ${saved} and search.json`);
  } finally {
    for (const t of tables) await client.query(`DROP TABLE IF EXISTS ${t}`).catch(() => {});
    await client.end();
  }
}, SPEC);
