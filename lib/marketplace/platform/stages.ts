/**
 * The platform run's stages, one named function each, in the order {@linkcode runPlatform}
 * calls them. Each takes the run's shared {@linkcode PlatformRun} (stack, clients, services,
 * the `Stages` printer; `./context.ts`) and what the stages before it returned, runs as one
 * numbered stage and returns what it counted. A stage that waits says what it sees as it
 * goes; a failure names the stage, what it waited for, what it saw last and where to look.
 *
 * @example
 * ```ts
 * import { platformRun } from "./context.ts";
 * import { stackUp, topologyAndConnectors } from "./stages.ts";
 * const run = platformRun(stack, { out: console.log, stageTimeoutMs: 180_000 });
 * const clients = await stackUp(run);
 * await topologyAndConnectors(run, clients);
 * ```
 * @module
 */
import type { Kafka } from "kafkajs";
import {
  createKafka,
  kafkaConfigFromEnv,
  offsetsNow,
  secureKafkaConfigFromEnv,
  type TopicOffsets,
} from "../../kafka/mod.ts";
import { ConnectClient, withClient, withDatabase } from "../../connect/mod.ts";
import { WebHdfs } from "../../lake/mod.ts";
import { jobStatusDir, recordJobRun } from "../../monitoring/mod.ts";
import { ANALYTICS_DB, MIRRORED_TOPICS, PRINCIPALS, TOPICS } from "../topology.ts";
import { setupFinalTopology } from "../setup.ts";
import { ensureStoreKeys, storeKeysFile } from "../store_keys.ts";
import type { Product } from "../../schemas/mod.ts";
import { sampleProducts, STORES } from "../catalog.ts";
import { sendToShopApi } from "../shop_api.ts";
import { addForbidden, FORBIDDEN_CONNECTOR, forbiddenAmong } from "../forbidden.ts";
import { PRODUCTS_SINK_CONNECTOR, registerFinalConnectors } from "../products_sink.ts";
import { runSimulation, type SimulationReport } from "../users_sim.ts";
import { devClaimsFromEnv, devTokens, identitySecretFromEnv } from "../client_api/identity.ts";
import { publishRecommendations, type RecommendationRow } from "../publish.ts";
import { countOf, lakeRows, ofRun, readSince, type RunIds, type Seen } from "./records.ts";
import type { PlatformRun } from "./context.ts";
import { describeDifference, forbiddenInTopic, idList, listDifference } from "./forbidden_state.ts";
import type {
  ForbiddenOfRun,
  PlatformAnalytics,
  PlatformCounts,
  PlatformSummary,
} from "./types.ts";

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
    { look: run.connectLook(FORBIDDEN_CONNECTOR, PRODUCTS_SINK_CONNECTOR) },
  );
}

/** The topics of cluster A the run counts from where they stood when it began. */
const A_TOPICS = [
  TOPICS.inputProducts,
  TOPICS.products,
  TOPICS.productsBlocked,
  TOPICS.inputProductsDlq,
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

/** The run's sample products (ids with the suffix) and the two of them the run forbids. */
export function runProducts(suffix: string): { products: Product[]; demoForbidden: string[] } {
  const products = sampleProducts().map((p) => ({ ...p, product_id: `${p.product_id}${suffix}` }));
  return { products, demoForbidden: [products[3].product_id, products[7].product_id] };
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

/**
 * Stage: two sample products forbidden in PostgreSQL; then the forbidden list as it stands —
 * every product of this run on it, whoever put it there (`final:forbid`, psql, this run) — and
 * a wait until the compacted `forbidden-products`, the filter's table, agrees with it for
 * every product of this run. The run expects exactly these to be blocked.
 */
export async function forbiddenList(
  run: PlatformRun,
  clients: PlatformClients,
  productIds: readonly string[],
  demoForbidden: readonly string[],
): Promise<ForbiddenOfRun[]> {
  return await run.stages.stage(
    `forbid ${
      demoForbidden.join(", ")
    } in PostgreSQL; the forbidden list reaches the filter's table`,
    async () => {
      await addForbidden(clients.postgresUrl, demoForbidden[0], "counterfeit (demo)");
      await addForbidden(clients.postgresUrl, demoForbidden[1], "recalled (demo)");
      const listed = (await forbiddenAmong(clients.postgresUrl, productIds)).map((f) => ({
        product_id: f.product_id,
        reason: f.reason,
        byThisRun: demoForbidden.includes(f.product_id),
      }));
      const others = listed.filter((f) => !f.byThisRun);
      run.out(
        `  forbidden_products holds ${listed.length} of this run's ${productIds.length} products` +
          (others.length ? `, ${idList(others.map((f) => f.product_id))} forbidden before` : ""),
      );
      const want = new Set(listed.map((f) => f.product_id));
      const runIds = new Set(productIds);
      await run.wait(
        `${TOPICS.forbiddenProducts} (the filter's table) to hold exactly the ${want.size} ` +
          `forbidden products of this run that PostgreSQL lists`,
        async (saw) => {
          const records = await readSince(
            clients.kafkaA,
            { [TOPICS.forbiddenProducts]: {} }, // from the start: the whole table
            (r) => runIds.has(r.key ?? ""),
          );
          const diff = listDifference(want, forbiddenInTopic(records));
          saw(`${TOPICS.forbiddenProducts}: ${describeDifference(want, diff)}`);
          return diff.agree;
        },
      );
      return listed;
    },
    { look: run.connectLook(FORBIDDEN_CONNECTOR) },
  );
}

/** Stages: each platform service started (detached; it keeps running after the job). */
export async function startServices(run: PlatformRun): Promise<void> {
  for (const s of run.services) {
    await run.stages.stage(`service ${s.name} (port ${s.port})`, () => s.start(), {
      look: run.look(s.name),
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
    { look: run.look("shop-api") },
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
    const outcomes: string[] = [TOPICS.products, TOPICS.productsBlocked, TOPICS.inputProductsDlq];
    await run.wait(
      `the filter's outcome (${outcomes.join(", ")}) for each of the ${accepted} accepted products`,
      async (saw) => {
        rs = await readSince(clients.kafkaA, from, mine);
        const done = new Set(rs.filter((r) => outcomes.includes(r.topic)).map((r) => r.key));
        const missing = [...ids].filter((id) => !done.has(id));
        saw(
          `${done.size}/${accepted} through the filter (` +
            outcomes.map((t) => `${t} ${countOf(rs, t)}`).join(", ") + ")" +
            (missing.length && done.size ? `; not yet: ${idList(missing)}` : ""),
        );
        return done.size >= accepted;
      },
    );
    return {
      input: countOf(rs, TOPICS.inputProducts),
      products: countOf(rs, TOPICS.products),
      forbidden: countOf(rs, TOPICS.productsBlocked),
      dlq: countOf(rs, TOPICS.inputProductsDlq),
    };
  }, { look: run.look("product-filter") });
}

/**
 * Stage: the JDBC sink's rows of this run in PostgreSQL — every allowed product there and
 * none of the forbidden ones (a row an earlier run left for a product forbidden since is
 * deleted by the filter's tombstone).
 */
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
      const present = async (list: string[]) =>
        (await c.query("select product_id from products where product_id = any($1)", [list]))
          .rows.map((r: { product_id: string }) => r.product_id);
      let rows = 0;
      let forbiddenRows = 0;
      await run.wait(
        `each of the ${allowed.length} allowed products of this run in ${ANALYTICS_DB}.products ` +
          `and none of its ${forbiddenIds.length} forbidden ones`,
        async (saw) => {
          const got = new Set(await present(allowed));
          const missing = allowed.filter((id) => !got.has(id));
          const stale = await present(forbiddenIds);
          [rows, forbiddenRows] = [got.size, stale.length];
          saw(
            `${rows}/${allowed.length} rows` +
              (missing.length ? ` (missing ${idList(missing)})` : "") +
              `, ${forbiddenRows} of forbidden ids` + (forbiddenRows ? ` (${idList(stale)})` : ""),
          );
          return missing.length === 0 && forbiddenRows === 0;
        },
      );
      return { rows, forbiddenRows };
    });
  }, { look: run.connectLook(PRODUCTS_SINK_CONNECTOR) });
}

/** Who the simulation plays and for how long. */
export interface SimulationPlan {
  users: number;
  firstUser: number;
  durationS: number;
  sessions?: number;
}

/**
 * Bearer tokens of the run's users from the dev issuer: the stack's identity key (or the file
 * CLIENT_API_JWT_SECRET_FILE names), the one the CLIENT API service verifies with.
 */
async function userTokens(run: PlatformRun): Promise<(userId: string) => Promise<string>> {
  const claims = devClaimsFromEnv();
  const { secret } = await identitySecretFromEnv(run.stack.options.dir);
  return devTokens(secret, claims);
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
        token: await userTokens(run),
        users,
        durationS,
        sessions,
        firstUser,
        onProgress: (p) => run.out(`  … ${p.requests} requests, ${p.events.purchase} purchases`),
      });
      if (r.failures > 0) throw new Error(`${r.failures} requests failed (network or 5xx)`);
      return r;
    },
    { look: run.look("client-api") },
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
    await run.wait("every record of this run on cluster B", async (saw) => {
      const b = await readSince(clients.kafkaB, start.startB, keep);
      for (const t of MIRRORED_TOPICS) mirrored[t].b = countOf(b, t);
      saw(MIRRORED_TOPICS.map((t) => `${t} ${mirrored[t].b}/${mirrored[t].a}`).join(", "));
      return MIRRORED_TOPICS.every((t) => mirrored[t].b >= mirrored[t].a);
    });
  }, { look: run.logOf(run.stack.mirrorMaker!.name, run.stack.mirrorMaker!.log) });
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
    await run.wait("every mirrored record of this run in the lake", async (saw) => {
      for (const t of MIRRORED_TOPICS) {
        mirrored[t].lake = await lakeRows(clients.hdfs, t, start.startB[t] ?? {}, ofRun(ids, t));
      }
      saw(MIRRORED_TOPICS.map((t) => `${t} ${mirrored[t].lake}/${mirrored[t].b} rows`).join(", "));
      return MIRRORED_TOPICS.every((t) => mirrored[t].lake >= mirrored[t].b);
    });
  }, { look: run.look("lake-sink") });
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
      const token = await userTokens(run);
      const withRecs = new Set(rows.map((r) => r.user_id));
      const user = [...userIds].find((u) => withRecs.has(u)) ?? rows[0]?.user_id;
      if (!user) throw new Error("the recommendations mart is empty");
      const want = rows.filter((r) => r.user_id === user).sort((a, b) => a.rec_rank - b.rec_rank)
        .map((r) => r.product_id);
      const served = await run.wait(
        `the CLIENT API serving ${user}'s recommendations (${want.join(", ")})`,
        async (saw) => {
          const res = await fetch(`${clientUrl}/users/${user}/recommendations`, {
            headers: { authorization: `Bearer ${await token(user)}` },
          });
          const body = await res.json() as { recommendations?: { product_id: string }[] };
          const got = (body.recommendations ?? []).map((p) => p.product_id);
          saw(`HTTP ${res.status}, served [${got.join(", ")}]`);
          return got.length && got.join() === want.join() ? got : undefined;
        },
      );
      run.out(`  ${n} users published; ${user} is served ${served.join(", ")}`);
      return { users: n, user, served };
    },
    { look: run.look("client-api") },
  );
}
