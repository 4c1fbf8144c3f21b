/**
 * The platform run's stages, one named function each, in the order {@linkcode runPlatform}
 * calls them. Each takes the run's shared {@linkcode PlatformRun} (stack, clients, services,
 * the `Stages` printer) and what the stages before it returned, runs as one numbered stage
 * (a failure names the stage and the tail of its service's log) and returns what it counted.
 *
 * @example
 * ```ts
 * import { platformRun, stackUp, topologyAndConnectors } from "./stages.ts";
 * const run = platformRun(stack, { out: console.log, stageTimeoutMs: 180_000 });
 * await stackUp(run);
 * await topologyAndConnectors(run);
 * ```
 * @module
 */
import type { Kafka } from "kafkajs";
import { pollUntil } from "../../env/mod.ts";
import {
  createKafka,
  kafkaConfigFromEnv,
  offsetsNow,
  secureKafkaConfigFromEnv,
  type TopicOffsets,
} from "../../kafka/mod.ts";
import { ConnectClient, withClient, withDatabase } from "../../connect/mod.ts";
import { WebHdfs } from "../../lake/mod.ts";
import { type DenoService, type Stack, tailFile } from "../../stack/mod.ts";
import { jobStatusDir, recordJobRun } from "../../monitoring/mod.ts";
import { ANALYTICS_DB, MIRRORED_TOPICS, PRINCIPALS, TOPICS } from "../topology.ts";
import { setupFinalTopology } from "../setup.ts";
import { ensureStoreKeys, storeKeysFile } from "../store_keys.ts";
import type { Product } from "../../schemas/mod.ts";
import { sampleProducts, STORES } from "../catalog.ts";
import { sendToShopApi } from "../shop_api.ts";
import { addForbidden } from "../forbidden.ts";
import { registerFinalConnectors } from "../products_sink.ts";
import { runSimulation, type SimulationReport } from "../users_sim.ts";
import { publishRecommendations, type RecommendationRow } from "../publish.ts";
import { Stages } from "../stages.ts";
import { countOf, lakeRows, ofRun, readSince, type RunIds, type Seen } from "./records.ts";
import { platformServices } from "./services.ts";
import type { PlatformAnalytics, PlatformCounts, PlatformSummary } from "./types.ts";

/** What every stage of a run shares. */
export interface PlatformRun {
  stack: Stack;
  stages: Stages;
  out: (line: string) => void;
  /** Polls `fn` until truthy, for at most the stage timeout. */
  wait: <T>(what: string, fn: () => T | Promise<T>) => Promise<NonNullable<T>>;
  services: DenoService[];
  /** A platform service by name. */
  svc: (name: string) => DenoService;
  /** The tail of a platform service's log, for a failing stage. */
  tail: (name: string) => () => Promise<string>;
  /** The tail of Kafka Connect's log. */
  connectTail: () => Promise<string>;
}

/** The run's shared context on `stack`. */
export function platformRun(
  stack: Stack,
  o: { out: (line: string) => void; stageTimeoutMs: number },
): PlatformRun {
  const services = platformServices(stack);
  const svc = (name: string) => services.find((s) => s.name === name)!;
  return {
    stack,
    stages: new Stages(o.out),
    out: o.out,
    wait: (what, fn) => pollUntil(what, fn, { timeoutMs: o.stageTimeoutMs, intervalMs: 1_000 }),
    services,
    svc,
    tail: (name) => () => tailFile(svc(name).log),
    connectTail: () => tailFile(stack.connect!.log),
  };
}

/** The stack's clients: cluster A as admin, cluster B, HDFS, PostgreSQL. */
export interface PlatformClients {
  kafkaA: Kafka;
  kafkaB: Kafka;
  hdfs: WebHdfs;
  postgresUrl: string;
}

/** Stage: the stack up, with what the platform needs. */
export async function stackUp(run: PlatformRun): Promise<PlatformClients> {
  const { stack } = run;
  await run.stages.stage(
    `the stack: ${stack.services.map((s) => s.name).join(", ")}`,
    () => stack.up(),
  );
  return {
    kafkaA: createKafka(
      secureKafkaConfigFromEnv("admin", { clientId: "platform", logLevel: "NOTHING" }),
    ),
    kafkaB: createKafka(kafkaConfigFromEnv({ clientId: "platform", logLevel: "NOTHING" }, {
      get: (n) => n === "KAFKA_BOOTSTRAP_SERVERS" ? stack.mirrorKafka!.bootstrap() : undefined,
    })),
    hdfs: new WebHdfs({ url: stack.hdfs!.webhdfsUrl() }),
    postgresUrl: stack.postgres!.url(),
  };
}

/** Stage: topics, ACLs and store keys (`final:setup`); the forbidden-list CDC and JDBC sink. */
export async function topologyAndConnectors(
  run: PlatformRun,
  clients: PlatformClients,
): Promise<void> {
  await run.stages.stage(
    "topics, ACLs and store keys; the forbidden-list CDC and JDBC sink",
    async () => {
      const a = clients.kafkaA.admin();
      await a.connect();
      try {
        await setupFinalTopology(a);
      } finally {
        await a.disconnect().catch(() => {});
      }
      await ensureStoreKeys(STORES, storeKeysFile(run.stack.options.dir));
      const st = await registerFinalConnectors(
        new ConnectClient({ url: run.stack.connect!.url() }),
        clients.postgresUrl,
      );
      run.out(`  connectors: ${st.map((s) => `${s.name} ${s.connector.state}`).join(", ")}`);
    },
    { logTail: run.connectTail },
  );
}

/** The topics of cluster A the run counts from where they stood when it began. */
const A_TOPICS = [
  TOPICS.inputProducts,
  TOPICS.products,
  TOPICS.productsBlocked,
  TOPICS.inputProductsDlq,
  TOPICS.forbiddenProducts,
  TOPICS.userEvents,
  TOPICS.userRequests,
  TOPICS.userResponses,
];

/** Where the run's topics stood when it began, on A and on B. */
export interface RunStart {
  startA: TopicOffsets;
  startB: TopicOffsets;
}

/** The offsets the run counts from (not a stage: taken between two). */
export async function runStart(clients: PlatformClients): Promise<RunStart> {
  return {
    startA: await offsetsNow(clients.kafkaA, A_TOPICS),
    startB: await offsetsNow(clients.kafkaB, MIRRORED_TOPICS),
  };
}

/** The run's sample products (ids with the suffix) and the two of them forbidden. */
export function runProducts(suffix: string): { products: Product[]; forbiddenIds: string[] } {
  const products = sampleProducts().map((p) => ({ ...p, product_id: `${p.product_id}${suffix}` }));
  return { products, forbiddenIds: [products[3].product_id, products[7].product_id] };
}

/** A few products the SHOP API must refuse, each for a reason it names. */
export function badProducts(suffix: string): Record<string, unknown>[] {
  const base = sampleProducts()[0] as unknown as Record<string, unknown>;
  return [
    { ...base, product_id: `bad-no-name${suffix}`, name: undefined },
    { ...base, product_id: `bad-price${suffix}`, price: { amount: -5, currency: "RUB" } },
    { ...base, product_id: `bad-stock${suffix}`, stock: { available: "many", reserved: 0 } },
  ];
}

/** Stage: two sample products forbidden in PostgreSQL, waited for in forbidden-products. */
export async function forbidSamples(
  run: PlatformRun,
  clients: PlatformClients,
  start: RunStart,
  forbiddenIds: string[],
): Promise<void> {
  await run.stages.stage(
    `forbid ${forbiddenIds.join(", ")} in PostgreSQL; CDC delivers them`,
    async () => {
      await addForbidden(clients.postgresUrl, forbiddenIds[0], "counterfeit (demo)");
      await addForbidden(clients.postgresUrl, forbiddenIds[1], "recalled (demo)");
      await run.wait("both forbidden products in forbidden-products", async () => {
        const seen = await readSince(
          clients.kafkaA,
          { [TOPICS.forbiddenProducts]: start.startA[TOPICS.forbiddenProducts] },
          (r) => forbiddenIds.includes(r.key ?? ""),
        );
        return forbiddenIds.every((id) => seen.some((r) => r.key === id && r.value !== "null"));
      });
    },
    { logTail: run.connectTail },
  );
}

/** Stages: each platform service started (detached; it keeps running after the job). */
export async function startServices(run: PlatformRun): Promise<void> {
  for (const s of run.services) {
    await run.stages.stage(`service ${s.name} (port ${s.port})`, () => s.start(), {
      logTail: run.tail(s.name),
    });
  }
}

/** What the SHOP API said to the products sent. */
export interface Sent {
  accepted: number;
  refusals: PlatformSummary["refusals"];
}

/** Stage: the products (and the bad ones) through the SHOP API. */
export async function sendProducts(
  run: PlatformRun,
  products: Product[],
  bad: Record<string, unknown>[],
): Promise<Sent> {
  const shopUrl = `http://127.0.0.1:${run.svc("shop-api").port}`;
  const sent = await run.stages.stage(
    `send ${products.length} products + ${bad.length} bad ones through the SHOP API`,
    async () => {
      const keys = await ensureStoreKeys(STORES, storeKeysFile(run.stack.options.dir));
      const r = await sendToShopApi([...products, ...bad], { url: shopUrl, keys });
      run.out(`  accepted ${r.accepted}, refused ${r.refused}`);
      return r;
    },
    { logTail: run.tail("shop-api") },
  );
  const refusals = sent.results.filter((r) => r.status !== 202).map((r) => ({
    product: r.product_id ?? `#${r.index}`,
    status: r.status,
    reason: `${r.field ?? ""}: ${r.error ?? ""}`,
  }));
  for (const r of refusals) run.out(`  refused ${r.status} ${r.product} — ${r.reason}`);
  return { accepted: sent.accepted, refusals };
}

/** The filter's outcome for this run's products. */
export type FilterCounts = Pick<PlatformCounts, "input" | "products" | "forbidden" | "dlq">;

/** Stage: the filter's outcome (products / products.blocked / DLQ), read_committed. */
export async function filterOutcome(
  run: PlatformRun,
  clients: PlatformClients,
  start: RunStart,
  ids: ReadonlySet<string>,
  accepted: number,
): Promise<FilterCounts> {
  const mine = (r: Seen) => ids.has(r.key ?? "");
  const topics = [
    TOPICS.inputProducts,
    TOPICS.products,
    TOPICS.productsBlocked,
    TOPICS.inputProductsDlq,
  ];
  const from = Object.fromEntries(topics.map((t) => [t, start.startA[t]]));
  return await run.stages.stage("the filter: products, products.blocked, DLQ", async () => {
    let rs: Seen[] = [];
    await run.wait("the filter's outcome for every accepted product", async () => {
      rs = await readSince(clients.kafkaA, from, mine);
      const done = countOf(rs, TOPICS.products) + countOf(rs, TOPICS.productsBlocked) +
        countOf(rs, TOPICS.inputProductsDlq);
      run.out(`  … ${done}/${accepted} through the filter`);
      return done >= accepted;
    });
    return {
      input: countOf(rs, TOPICS.inputProducts),
      products: countOf(rs, TOPICS.products),
      forbidden: countOf(rs, TOPICS.productsBlocked),
      dlq: countOf(rs, TOPICS.inputProductsDlq),
    };
  }, { logTail: run.tail("product-filter") });
}

/** Stage: the JDBC sink's rows of this run in PostgreSQL. */
export async function sinkRows(
  run: PlatformRun,
  clients: PlatformClients,
  allowed: string[],
  forbiddenIds: string[],
): Promise<{ rows: number; forbiddenRows: number }> {
  return await run.stages.stage("the JDBC sink: products in PostgreSQL", async () => {
    // Counted in the table itself. (The sink group's committed offsets cannot tell: a
    // transactional topic ends in a commit marker the sink never commits past.)
    return await withClient(withDatabase(clients.postgresUrl, ANALYTICS_DB), async (c) => {
      const q = async (list: string[]) =>
        Number(
          (await c.query("select count(*) as n from products where product_id = any($1)", [list]))
            .rows[0].n,
        );
      let rows = 0;
      await run.wait("every allowed product of this run in analytics.products", async () => {
        rows = await q(allowed);
        run.out(`  … ${rows}/${allowed.length} rows`);
        return rows >= allowed.length;
      });
      return { rows, forbiddenRows: await q(forbiddenIds) };
    });
  }, { logTail: run.connectTail });
}

/** Who the simulation plays and for how long. */
export interface SimulationPlan {
  users: number;
  firstUser: number;
  durationS: number;
  sessions?: number;
}

/** Stage: simulated users through the CLIENT API. */
export async function simulateUsers(
  run: PlatformRun,
  plan: SimulationPlan,
): Promise<SimulationReport> {
  const { users, durationS, sessions, firstUser } = plan;
  return await run.stages.stage(
    `${users} simulated users through the CLIENT API (${
      sessions ? `${sessions} sessions each` : `${durationS} s`
    })`,
    async () => {
      const r = await runSimulation({
        baseUrl: `http://127.0.0.1:${run.svc("client-api").port}`,
        users,
        durationS,
        sessions,
        firstUser,
        onProgress: (p) => run.out(`  … ${p.requests} requests, ${p.events.purchase} purchases`),
      });
      if (r.failures > 0) throw new Error(`${r.failures} requests failed (network or 5xx)`);
      return r;
    },
    { logTail: run.tail("client-api") },
  );
}

/** Stage: MirrorMaker 2 until cluster B holds every record of this run that A holds. */
export async function mirrorToB(
  run: PlatformRun,
  clients: PlatformClients,
  start: RunStart,
  ids: RunIds,
): Promise<PlatformCounts["mirrored"]> {
  const mirrored: PlatformCounts["mirrored"] = {};
  const keep = (r: Seen) => ofRun(ids, r.topic)(r);
  await run.stages.stage("MirrorMaker 2: cluster A → cluster B", async () => {
    const fromA = Object.fromEntries(MIRRORED_TOPICS.map((t) => [t, start.startA[t]]));
    const a = await readSince(clients.kafkaA, fromA, keep);
    for (const t of MIRRORED_TOPICS) mirrored[t] = { a: countOf(a, t), b: 0, lake: 0 };
    await run.wait("every record of this run on cluster B", async () => {
      const b = await readSince(clients.kafkaB, start.startB, keep);
      for (const t of MIRRORED_TOPICS) mirrored[t].b = countOf(b, t);
      run.out(
        `  … ${MIRRORED_TOPICS.map((t) => `${t} ${mirrored[t].b}/${mirrored[t].a}`).join(", ")}`,
      );
      return MIRRORED_TOPICS.every((t) => mirrored[t].b >= mirrored[t].a);
    });
  }, { logTail: () => tailFile(run.stack.mirrorMaker!.log) });
  return mirrored;
}

/** Stage: the lake on HDFS until it holds every record of this run on B (fills `lake`). */
export async function lakeOnHdfs(
  run: PlatformRun,
  clients: PlatformClients,
  start: RunStart,
  ids: RunIds,
  mirrored: PlatformCounts["mirrored"],
): Promise<void> {
  await run.stages.stage("the lake: Parquet on HDFS", async () => {
    await run.wait("every mirrored record of this run in the lake", async () => {
      for (const t of MIRRORED_TOPICS) {
        mirrored[t].lake = await lakeRows(clients.hdfs, t, start.startB[t] ?? {}, ofRun(ids, t));
      }
      run.out(
        `  … ${MIRRORED_TOPICS.map((t) => `${t} ${mirrored[t].lake}/${mirrored[t].b}`).join(", ")}`,
      );
      return MIRRORED_TOPICS.every((t) => mirrored[t].lake >= mirrored[t].b);
    });
  }, { logTail: run.tail("lake-sink") });
}

/** Stage: the analytics jobs over the lake; each mart with its top rows. */
export async function runAnalytics(
  run: PlatformRun,
  clients: PlatformClients,
  analytics: PlatformAnalytics,
): Promise<PlatformSummary["marts"]> {
  const engine = analytics.engine ?? "duckdb";
  const statusDir = jobStatusDir(run.stack.options.dir);
  return await run.stages.stage(`the analytics on ${engine}`, async () => {
    const job = `final-analytics-${engine}`;
    const r = await analytics.run(clients.hdfs).catch(async (err) => {
      await recordJobRun(statusDir, { job, ok: false, error: String(err) }).catch(() => {});
      throw err;
    });
    await recordJobRun(statusDir, { job, ok: true, rows: r.marts.reduce((n, m) => n + m.rows, 0) });
    const outMarts = [];
    for (const m of r.marts) {
      const rows = await analytics.readMart(clients.hdfs, m.name);
      outMarts.push({ name: m.name, rows: m.rows, top: topRows(rows) });
    }
    return outMarts;
  });
}

/** The first rows of a mart by its most telling measure. */
function topRows(rows: Record<string, unknown>[], n = 3): Record<string, unknown>[] {
  const measure = ["revenue", "purchases", "views", "searches", "score"].find((k) =>
    rows.length > 0 && typeof rows[0][k] === "number"
  );
  const sorted = measure ? [...rows].sort((a, b) => Number(b[measure]) - Number(a[measure])) : rows;
  return sorted.slice(0, n);
}

/** Stage: recommendations published to Kafka and served by the CLIENT API for one user. */
export async function serveRecommendations(
  run: PlatformRun,
  clients: PlatformClients,
  analytics: PlatformAnalytics,
  userIds: ReadonlySet<string>,
): Promise<PlatformSummary["recommendations"]> {
  const engine = analytics.engine ?? "duckdb";
  const clientUrl = `http://127.0.0.1:${run.svc("client-api").port}`;
  return await run.stages.stage(
    "recommendations published and served by the CLIENT API",
    async () => {
      const rows = await analytics.readMart(
        clients.hdfs,
        "recommendations",
      ) as unknown as RecommendationRow[];
      const kafka = createKafka(
        secureKafkaConfigFromEnv(PRINCIPALS.analytics, {
          clientId: "platform",
          logLevel: "NOTHING",
        }),
      );
      const n = await publishRecommendations(kafka, rows, { model: `${engine}:recommendations` });
      const withRecs = new Set(rows.map((r) => r.user_id));
      const user = [...userIds].find((u) => withRecs.has(u)) ?? rows[0]?.user_id;
      if (!user) throw new Error("the recommendations mart is empty");
      const want = rows.filter((r) => r.user_id === user).sort((a, b) => a.rec_rank - b.rec_rank)
        .map((r) => r.product_id);
      const served = await run.wait(
        `the CLIENT API serving ${user}'s recommendations`,
        async () => {
          const res = await fetch(`${clientUrl}/users/${user}/recommendations`, {
            headers: { "x-user-id": user },
          });
          const body = await res.json() as { recommendations?: { product_id: string }[] };
          const got = (body.recommendations ?? []).map((p) => p.product_id);
          return got.length && got.join() === want.join() ? got : undefined;
        },
      );
      run.out(`  ${n} users published; ${user} is served ${served.join(", ")}`);
      return { users: n, user, served };
    },
    { logTail: run.tail("client-api") },
  );
}
