/**
 * The platform as one job (`deno task demo`): brings up the final profile of the local stack,
 * runs the marketplace end to end in named stages and returns a summary that reconciles every
 * hop — so the task prints it and a test asserts the same code path.
 *
 * The run, stage by stage ({@linkcode Stages}; a failing stage stops the run, naming itself and
 * the tail of its service's log):
 *
 * 1. the stack: the user's saved shape plus what the platform needs (secure cluster A,
 *    PostgreSQL, Connect, HDFS, Prometheus + Alertmanager, cluster B + MirrorMaker 2);
 * 2. topics, ACLs and store keys (`final:setup`), the two connectors (Debezium CDC of the
 *    forbidden list, JDBC sink of products);
 * 3. two sample products forbidden in PostgreSQL, waited for in `forbidden-products` (CDC);
 * 4. the services as detached stack services ({@linkcode DenoService}: SHOP API, product
 *    filter, CLIENT API, lake sink, platform exporter) — they keep running after the job;
 *    `deno task stack down` stops them with the stack;
 * 5. the sample products through the SHOP API, plus a few bad ones (refused with reasons);
 * 6. the filter's outcome (products / products.blocked / DLQ, read_committed) and the JDBC
 *    sink's rows in PostgreSQL;
 * 7. simulated users through the CLIENT API;
 * 8. MirrorMaker 2 (A = B per mirrored topic), the lake on HDFS (B = lake per topic);
 * 9. the analytics (an engine given by the caller, e.g. DuckDB), recommendations published and
 *    served by the CLIENT API for one user.
 *
 * Everything is counted for THIS run only: Kafka records from the offsets the run started at
 * (and with this run's product ids, user ids and request ids), lake rows by the cluster-B
 * offsets they carry — so a second run, or other writers on the same stack, still reconcile.
 *
 * Before anything starts, {@linkcode preflight} refuses a machine without Java 17+, with a
 * port of a stopped service taken, with too little free disk under the stack folder, or a
 * second run on the same stack (the lock file `<stack>/demo.lock` names the pid holding it).
 *
 * @example
 * ```ts
 * import { runPlatform } from "./platform.ts";
 * const summary = await runPlatform({ stack, analytics: { run, readMart } });
 * console.log(summary.ok, summary.checks);
 * ```
 * @module
 */
import { join } from "node:path";
import type { Kafka } from "kafkajs";
import { ConfigError, pollUntil, sleep } from "../env/mod.ts";
import { createKafka, kafkaConfigFromEnv, secureKafkaConfigFromEnv } from "../kafka/mod.ts";
import { ConnectClient, withClient, withDatabase } from "../connect/mod.ts";
import { parseFileName, WebHdfs } from "../lake/mod.ts";
import { DenoService, isAlive, portOpen, type Stack, tailFile } from "../stack/mod.ts";
import { ANALYTICS_DB, MIRRORED_TOPICS, PRINCIPALS, SERVICE_PORTS, TOPICS } from "./topology.ts";
import { setupFinalTopology } from "./setup.ts";
import { ensureStoreKeys, storeKeysFile } from "./store_keys.ts";
import { sampleProducts, STORES } from "./catalog.ts";
import { sendToShopApi } from "./shop_api.ts";
import { addForbidden } from "./forbidden.ts";
import { jobStatusDir, recordJobRun } from "../monitoring/mod.ts";
import { registerFinalConnectors } from "./products_sink.ts";
import { runSimulation, type SimulationReport } from "./users_sim.ts";
import { publishRecommendations, type RecommendationRow } from "./publish.ts";
import { parquetRows } from "./marts.ts";
import { Stages } from "./stages.ts";

/** The analytics engine the caller brings (jobs/ lives above lib: e.g. DuckDB). */
export interface PlatformAnalytics {
  /** Runs every job over the lake and commits the marts; returns each mart's row count. */
  run: (hdfs: WebHdfs) => Promise<{ marts: { name: string; rows: number }[] }>;
  /** Reads a committed mart as rows. */
  readMart: (hdfs: WebHdfs, mart: string) => Promise<Record<string, unknown>[]>;
  /** Name shown in the summary and in the recommendations' `model`. @default "duckdb" */
  engine?: string;
}

/** Options of {@linkcode runPlatform}. */
export interface PlatformOptions {
  /** The stack to run on (its options are extended with {@linkcode platformStackOptions}). */
  stack: Stack;
  /** The analytics engine. */
  analytics: PlatformAnalytics;
  /** Appended to every sample product id (tests on a shared stack). @default "" */
  productIdSuffix?: string;
  /** Simulated users. @default 12 */
  users?: number;
  /** Seconds of simulated activity (ignored with `sessions`). @default 20 */
  durationS?: number;
  /** Sessions per user instead of a duration. */
  sessions?: number;
  /** Number of the first simulated user (`user-<n>`). @default from the clock, new each run */
  firstUser?: number;
  /** Free disk needed under the stack folder, in GiB. @default 4 */
  minFreeGiB?: number;
  /** Longest wait of any stage, in ms. @default 180000 */
  stageTimeoutMs?: number;
  /** Progress lines. @default console.log */
  out?: (line: string) => void;
  /**
   * Stop the platform's Deno services when the run ends (a test on a shared stack, where a
   * second product filter would pass other tests' products too). @default false
   */
  stopServices?: boolean;
}

/** One reconciliation line: what must equal what, OK or MISMATCH. */
export interface Check {
  what: string;
  left: number;
  right: number;
  ok: boolean;
  detail: string;
}

/** What {@linkcode runPlatform} returns: counts per stage, reconciliation, marts, URLs. */
export interface PlatformSummary {
  /** Every check OK. */
  ok: boolean;
  checks: Check[];
  /** Products of this run (sample + suffix) and the two forbidden ones. */
  productIds: string[];
  forbiddenIds: string[];
  /** Records per stage, for this run. */
  counts: {
    sent: number;
    accepted: number;
    refused: number;
    input: number;
    products: number;
    forbidden: number;
    dlq: number;
    postgresRows: number;
    postgresForbiddenRows: number;
    /** Per mirrored topic: records of this run on A, on B, in the lake. */
    mirrored: Record<string, { a: number; b: number; lake: number }>;
  };
  /** Why each bad product was refused. */
  refusals: { product: string; status: number; reason: string }[];
  simulation: Pick<SimulationReport, "users" | "sessions" | "requests" | "events" | "failures">;
  users: { first: number; count: number };
  marts: { name: string; rows: number; top: Record<string, unknown>[] }[];
  recommendations: { users: number; user: string; served: string[] };
  urls: Record<string, string>;
  stages: { stage: string; seconds: number }[];
  seconds: number;
}

/** The stack options the platform needs on top of the user's saved ones. */
export const PLATFORM_STACK_OPTIONS = {
  secure: true,
  postgres: true,
  connect: true,
  hdfs: true,
  monitoring: true,
  mirror: true,
} as const;

/** Name of the lock file in the stack folder while a run holds it. */
export const PLATFORM_LOCK = "demo.lock";

/** Refusal before anything started: what is wrong and what to do, one line each. */
export class PlatformRefused extends ConfigError {
  constructor(readonly problems: string[]) {
    super(
      `deno task demo cannot start — nothing was started:\n${
        problems.map((p) => `  - ${p}`).join("\n")
      }`,
    );
    this.name = "PlatformRefused";
  }
}

/** The platform's Deno services on a stack (detached; `stack down` stops them). */
export function platformServices(stack: Stack): DenoService[] {
  const { dir, portOffset } = stack.options;
  const port = (s: keyof typeof SERVICE_PORTS) => SERVICE_PORTS[s] + portOffset;
  const env = { STACK_DIR: dir, STACK_PORT_OFFSET: String(portOffset), LOG_LEVEL: "ERROR" };
  return [
    new DenoService({
      dir,
      name: "shop-api",
      flags: false,
      script: "tasks/final/shop_api.ts",
      port: port("shop-api"),
      env: { ...env, SHOP_API_PORT: String(port("shop-api")) },
    }),
    new DenoService({
      dir,
      name: "product-filter",
      flags: false,
      script: "tasks/final/filter.ts",
      port: port("product-filter"),
      env: { ...env, METRICS_PORT: String(port("product-filter")) },
    }),
    new DenoService({
      dir,
      name: "client-api",
      flags: false,
      script: "tasks/final/client_api.ts",
      port: port("client-api"),
      env: { ...env, CLIENT_API_PORT: String(port("client-api")) },
    }),
    new DenoService({
      dir,
      name: "lake-sink",
      flags: false,
      script: "tasks/final/lake.ts",
      port: port("lake-sink"),
      env: {
        ...env,
        LAKE_METRICS_PORT: String(port("lake-sink")),
        LAKE_ROLL_INTERVAL_MS: "3000",
      },
    }),
    new DenoService({
      dir,
      name: "platform-exporter",
      script: "tasks/final/exporter.ts",
      port: port("platform-exporter"),
      args: [`--stack-dir=${dir}`],
      env,
    }),
  ];
}

/** Free space under `dir` (or its nearest existing parent), in bytes. */
async function freeBytes(dir: string): Promise<number | undefined> {
  let d = dir;
  while (!(await Deno.stat(d).then(() => true, () => false))) {
    const up = join(d, "..");
    if (up === d) break;
    d = up;
  }
  const out = await new Deno.Command("df", { args: ["-Pk", d], stdout: "piped", stderr: "null" })
    .output().catch(() => undefined);
  const line = out?.success ? new TextDecoder().decode(out.stdout).trim().split("\n")[1] : "";
  const avail = Number(line?.split(/\s+/)[3]);
  return Number.isFinite(avail) ? avail * 1024 : undefined;
}

/** Java's major version, or undefined when `java` is not on PATH. */
async function javaMajor(): Promise<number | undefined> {
  try {
    const out = await new Deno.Command("java", {
      args: ["-version"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    const m = /version "(\d+)(?:\.(\d+))?/.exec(text);
    if (!m) return 0;
    return m[1] === "1" ? Number(m[2]) : Number(m[1]);
  } catch {
    return undefined;
  }
}

/**
 * Checks the machine before anything starts: Java 17+, the ports of every service that is
 * not running yet are free, enough free disk under the stack folder. Returns the problems,
 * each saying what to do (empty: go).
 */
export async function preflight(stack: Stack, minFreeGiB = 4): Promise<string[]> {
  const problems: string[] = [];
  const java = await javaMajor();
  if (java === undefined) {
    problems.push(
      "Java is missing (`java` is not on PATH): install Java 17+ (e.g. `sudo apt-get install " +
        "openjdk-17-jre-headless`) or put its bin/ folder on PATH",
    );
  } else if (java < 17) {
    problems.push(
      `Java ${java} is too old: Kafka 4 needs Java 17+; install it and put it first on PATH`,
    );
  }
  const statuses = [
    ...(await stack.status()),
    ...(await Promise.all(platformServices(stack).map((s) => s.status()))).flat(),
  ];
  for (const s of statuses) {
    if (s.state === "running") continue;
    for (const [purpose, port] of Object.entries(s.ports)) {
      if (await portOpen(port)) {
        problems.push(
          `port ${port} (${s.name} ${purpose}) is taken by another program: stop it (\`ss -ltnp ` +
            `'sport = :${port}'\` shows which) or run on other ports with STACK_PORT_OFFSET=N`,
        );
      }
    }
  }
  const free = await freeBytes(stack.options.dir);
  if (free !== undefined && free < minFreeGiB * 2 ** 30) {
    problems.push(
      `only ${(free / 2 ** 30).toFixed(1)} GiB free under ${stack.options.dir} (the platform ` +
        `needs ${minFreeGiB} GiB): free some space, or point STACK_DIR at a larger disk`,
    );
  }
  return problems;
}

/**
 * Takes the run's lock (`<stack>/demo.lock`, naming this pid); a lock held by a live process
 * refuses. Returns the release function.
 */
export async function acquirePlatformLock(dir: string): Promise<() => Promise<void>> {
  await Deno.mkdir(dir, { recursive: true });
  const file = join(dir, PLATFORM_LOCK);
  const body = JSON.stringify({ pid: Deno.pid, started: new Date().toISOString() }) + "\n";
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await Deno.writeTextFile(file, body, { createNew: true });
      return async () => {
        const now = await Deno.readTextFile(file).catch(() => "");
        if (now === body) await Deno.remove(file).catch(() => {});
      };
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
      let pid = 0, started = "?";
      try {
        ({ pid, started } = JSON.parse(await Deno.readTextFile(file)));
      } catch { /* torn or foreign file: treat as stale */ }
      if (pid && pid !== Deno.pid && isAlive(pid)) {
        throw new PlatformRefused([
          `another run holds ${file} (pid ${pid}, since ${started}): wait for it to finish, ` +
          `or stop it with \`kill ${pid}\`; remove the file only if that pid is not a demo`,
        ]);
      }
      await Deno.remove(file).catch(() => {}); // stale: its process is gone
    }
  }
  throw new PlatformRefused([`cannot take the lock ${file}: remove it if no demo runs`]);
}

type Offsets = Record<number, number>;

async function startOffsets(kafka: Kafka, topics: readonly string[]): Promise<
  Record<string, Offsets>
> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const out: Record<string, Offsets> = {};
    for (const t of topics) {
      out[t] = await admin.fetchTopicOffsets(t).then(
        (parts) => Object.fromEntries(parts.map((p) => [p.partition, Number(p.high)])),
        () => ({}), // not there yet (cluster B before the first mirror): from 0
      );
    }
    return out;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

interface Seen {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
}

/**
 * Reads every record of `topics` from the given offsets (read_committed) with a throw-away
 * group, until the ends known when the read began are reached or the topics go quiet.
 */
async function readSince(
  kafka: Kafka,
  from: Record<string, Offsets>,
  keep: (r: Seen) => boolean,
): Promise<Seen[]> {
  const topics = Object.keys(from);
  const ends = await startOffsets(kafka, topics);
  const pending = new Set<string>();
  for (const t of topics) {
    for (const [p, end] of Object.entries(ends[t])) {
      if (end > (from[t][Number(p)] ?? 0)) pending.add(`${t}/${p}`);
    }
  }
  const out: Seen[] = [];
  if (pending.size === 0) return out;
  const consumer = kafka.consumer({
    groupId: `platform-check-${crypto.randomUUID()}`,
    maxWaitTimeInMs: 200,
  });
  let last = Date.now();
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    const dec = new TextDecoder();
    await consumer.run({
      autoCommit: false,
      eachBatch: ({ batch }) => {
        last = Date.now();
        const end = ends[batch.topic]?.[batch.partition] ?? 0;
        for (const m of batch.messages) {
          const offset = Number(m.offset);
          const r: Seen = {
            topic: batch.topic,
            partition: batch.partition,
            offset,
            key: m.key ? dec.decode(m.key) : null,
            value: m.value ? dec.decode(m.value) : null,
          };
          if (offset >= (from[batch.topic][batch.partition] ?? 0) && offset < end && keep(r)) {
            out.push(r);
          }
        }
        // A transaction's commit marker may follow the last record: end - 2 is the end too.
        if (Number(batch.lastOffset()) >= end - 2) {
          pending.delete(`${batch.topic}/${batch.partition}`);
        }

        return Promise.resolve();
      },
    });
    for (const t of topics) {
      for (const p of Object.keys(ends[t])) {
        consumer.seek({ topic: t, partition: Number(p), offset: String(from[t][Number(p)] ?? 0) });
      }
    }
    const began = Date.now();
    while (Date.now() - began < 90_000) {
      await sleep(250);
      const quiet = Date.now() - last;
      if (pending.size === 0 && quiet > 300) break;
      if (quiet > 8_000 && Date.now() - began > 15_000) break; // markers only: nothing more comes
    }
  } finally {
    await consumer.disconnect().catch(() => {});
  }
  return out;
}

const count = (rs: Seen[], topic: string) => rs.filter((r) => r.topic === topic).length;

/** A few products the SHOP API must refuse, each for a reason it names. */
function badProducts(suffix: string): Record<string, unknown>[] {
  const base = sampleProducts()[0] as unknown as Record<string, unknown>;
  return [
    { ...base, product_id: `bad-no-name${suffix}`, name: undefined },
    { ...base, product_id: `bad-price${suffix}`, price: { amount: -5, currency: "RUB" } },
    { ...base, product_id: `bad-stock${suffix}`, stock: { available: "many", reserved: 0 } },
  ];
}

/**
 * Runs the platform end to end on `options.stack` and returns the reconciled summary. Throws
 * {@linkcode PlatformRefused} before anything starts when the machine cannot run it, and a
 * `StageError` naming the failing stage (with its log tail) when a stage fails.
 */
export async function runPlatform(options: PlatformOptions): Promise<PlatformSummary> {
  const {
    stack,
    analytics,
    productIdSuffix = "",
    users = 12,
    durationS = 20,
    sessions,
    firstUser = Math.floor(Date.now() / 1000) * 100 % 1e11,
    minFreeGiB = 4,
    stageTimeoutMs = 180_000,
    out = console.log,
    stopServices = false,
  } = options;
  if (!Number.isInteger(users) || users < 1 || users > 1000) {
    throw new RangeError(`Cannot run as 'users' must be 1 to 1000: current value is ${users}`);
  }
  const { dir, portOffset } = stack.options;
  const release = await acquirePlatformLock(dir);
  try {
    const problems = await preflight(stack, minFreeGiB);
    if (problems.length) throw new PlatformRefused(problems);
    // Clients and the services find this stack through these.
    Deno.env.set("STACK_DIR", dir);
    Deno.env.set("STACK_PORT_OFFSET", String(portOffset));
    return await run();
  } finally {
    if (stopServices) {
      for (const s of platformServices(stack)) await s.stop().catch(() => {});
    }
    await release();
  }

  async function run(): Promise<PlatformSummary> {
    const stages = new Stages(out);
    const wait = <T>(what: string, fn: () => T | Promise<T>) =>
      pollUntil(what, fn, { timeoutMs: stageTimeoutMs, intervalMs: 1_000 });
    const services = platformServices(stack);
    const svc = (name: string) => services.find((s) => s.name === name)!;
    const tail = (name: string) => () => tailFile(svc(name).log);

    await stages.stage(
      `the stack: ${stack.services.map((s) => s.name).join(", ")}`,
      () => stack.up(),
    );
    const admin = () =>
      createKafka(secureKafkaConfigFromEnv("admin", { clientId: "platform", logLevel: "NOTHING" }));
    const kafkaA = admin();
    const kafkaB = createKafka(kafkaConfigFromEnv({ clientId: "platform", logLevel: "NOTHING" }, {
      get: (n) => n === "KAFKA_BOOTSTRAP_SERVERS" ? stack.mirrorKafka!.bootstrap() : undefined,
    }));
    const hdfs = new WebHdfs({ url: stack.hdfs!.webhdfsUrl() });
    const postgresUrl = stack.postgres!.url();

    await stages.stage(
      "topics, ACLs and store keys; the forbidden-list CDC and JDBC sink",
      async () => {
        const a = kafkaA.admin();
        await a.connect();
        try {
          await setupFinalTopology(a);
        } finally {
          await a.disconnect().catch(() => {});
        }
        await ensureStoreKeys(STORES, storeKeysFile(dir));
        const st = await registerFinalConnectors(
          new ConnectClient({ url: stack.connect!.url() }),
          postgresUrl,
        );
        out(`  connectors: ${st.map((s) => `${s.name} ${s.connector.state}`).join(", ")}`);
      },
      { logTail: () => tailFile(stack.connect!.log) },
    );

    const aTopics = [
      TOPICS.inputProducts,
      TOPICS.products,
      TOPICS.productsBlocked,
      TOPICS.inputProductsDlq,
      TOPICS.forbiddenProducts,
      TOPICS.userEvents,
      TOPICS.userRequests,
      TOPICS.userResponses,
    ];
    const startA = await startOffsets(kafkaA, aTopics);
    const startB = await startOffsets(kafkaB, MIRRORED_TOPICS);
    const products = sampleProducts().map((p) => ({
      ...p,
      product_id: `${p.product_id}${productIdSuffix}`,
    }));
    const ids = new Set(products.map((p) => p.product_id));
    const forbiddenIds = [products[3].product_id, products[7].product_id];

    await stages.stage(
      `forbid ${forbiddenIds.join(", ")} in PostgreSQL; CDC delivers them`,
      async () => {
        await addForbidden(postgresUrl, forbiddenIds[0], "counterfeit (demo)");
        await addForbidden(postgresUrl, forbiddenIds[1], "recalled (demo)");
        await wait("both forbidden products in forbidden-products", async () => {
          const seen = await readSince(
            kafkaA,
            { [TOPICS.forbiddenProducts]: startA[TOPICS.forbiddenProducts] },
            (r) => forbiddenIds.includes(r.key ?? ""),
          );
          return forbiddenIds.every((id) => seen.some((r) => r.key === id && r.value !== "null"));
        });
      },
      { logTail: () => tailFile(stack.connect!.log) },
    );

    for (const s of services) {
      await stages.stage(`service ${s.name} (port ${s.port})`, () => s.start(), {
        logTail: tail(s.name),
      });
    }
    const shopUrl = `http://127.0.0.1:${svc("shop-api").port}`;
    const clientUrl = `http://127.0.0.1:${svc("client-api").port}`;

    const bad = badProducts(productIdSuffix);
    const sent = await stages.stage(
      `send ${products.length} products + ${bad.length} bad ones through the SHOP API`,
      async () => {
        const keys = await ensureStoreKeys(STORES, storeKeysFile(dir));
        const r = await sendToShopApi([...products, ...bad], { url: shopUrl, keys });
        out(`  accepted ${r.accepted}, refused ${r.refused}`);
        return r;
      },
      { logTail: tail("shop-api") },
    );
    const refusals = sent.results.filter((r) => r.status !== 202).map((r) => ({
      product: r.product_id ?? `#${r.index}`,
      status: r.status,
      reason: `${r.field ?? ""}: ${r.error ?? ""}`,
    }));
    for (const r of refusals) out(`  refused ${r.status} ${r.product} — ${r.reason}`);

    const mine = (r: Seen) => ids.has(r.key ?? "");
    const filtered = await stages.stage("the filter: products, products.blocked, DLQ", async () => {
      let rs: Seen[] = [];
      await wait("the filter's outcome for every accepted product", async () => {
        rs = await readSince(kafkaA, {
          [TOPICS.inputProducts]: startA[TOPICS.inputProducts],
          [TOPICS.products]: startA[TOPICS.products],
          [TOPICS.productsBlocked]: startA[TOPICS.productsBlocked],
          [TOPICS.inputProductsDlq]: startA[TOPICS.inputProductsDlq],
        }, mine);
        const done = count(rs, TOPICS.products) + count(rs, TOPICS.productsBlocked) +
          count(rs, TOPICS.inputProductsDlq);
        out(`  … ${done}/${sent.accepted} through the filter`);
        return done >= sent.accepted;
      });
      return {
        input: count(rs, TOPICS.inputProducts),
        products: count(rs, TOPICS.products),
        forbidden: count(rs, TOPICS.productsBlocked),
        dlq: count(rs, TOPICS.inputProductsDlq),
      };
    }, { logTail: tail("product-filter") });

    const allowed = [...ids].filter((id) => !forbiddenIds.includes(id));
    const pg = await stages.stage("the JDBC sink: products in PostgreSQL", async () => {
      // Counted in the table itself. (The sink group's committed offsets cannot tell: a
      // transactional topic ends in a commit marker the sink never commits past.)
      return await withClient(withDatabase(postgresUrl, ANALYTICS_DB), async (c) => {
        const q = async (list: string[]) =>
          Number(
            (await c.query("select count(*) as n from products where product_id = any($1)", [list]))
              .rows[0].n,
          );
        let rows = 0;
        await wait("every allowed product of this run in analytics.products", async () => {
          rows = await q(allowed);
          out(`  … ${rows}/${allowed.length} rows`);
          return rows >= allowed.length;
        });
        return { rows, forbiddenRows: await q(forbiddenIds) };
      });
    }, { logTail: () => tailFile(stack.connect!.log) });

    const sim = await stages.stage(
      `${users} simulated users through the CLIENT API (${
        sessions ? `${sessions} sessions each` : `${durationS} s`
      })`,
      async () => {
        const r = await runSimulation({
          baseUrl: clientUrl,
          users,
          durationS,
          sessions,
          firstUser,
          onProgress: (p) => out(`  … ${p.requests} requests, ${p.events.purchase} purchases`),
        });
        if (r.failures > 0) throw new Error(`${r.failures} requests failed (network or 5xx)`);
        return r;
      },
      { logTail: tail("client-api") },
    );
    const requestIds = new Set(sim.requestIds);
    const userIds = new Set(Array.from({ length: users }, (_, i) => `user-${firstUser + i}`));
    const ofRun = (topic: string) => (r: { key: string | null; value: string | null }) => {
      if (topic === TOPICS.products) return ids.has(r.key ?? "");
      if (topic === TOPICS.userEvents) {
        try {
          return userIds.has(JSON.parse(r.value ?? "{}").user_id);
        } catch {
          return false;
        }
      }
      return requestIds.has(r.key ?? "");
    };
    const keepOfRun = (r: Seen) => ofRun(r.topic)(r);

    const mirrored: PlatformSummary["counts"]["mirrored"] = {};
    await stages.stage("MirrorMaker 2: cluster A → cluster B", async () => {
      const fromA = Object.fromEntries(MIRRORED_TOPICS.map((t) => [t, startA[t]]));
      const a = await readSince(kafkaA, fromA, keepOfRun);
      for (const t of MIRRORED_TOPICS) mirrored[t] = { a: count(a, t), b: 0, lake: 0 };
      await wait("every record of this run on cluster B", async () => {
        const b = await readSince(kafkaB, startB, keepOfRun);
        for (const t of MIRRORED_TOPICS) mirrored[t].b = count(b, t);
        out(
          `  … ${MIRRORED_TOPICS.map((t) => `${t} ${mirrored[t].b}/${mirrored[t].a}`).join(", ")}`,
        );
        return MIRRORED_TOPICS.every((t) => mirrored[t].b >= mirrored[t].a);
      });
    }, { logTail: () => tailFile(stack.mirrorMaker!.log) });

    await stages.stage("the lake: Parquet on HDFS", async () => {
      await wait("every mirrored record of this run in the lake", async () => {
        for (const t of MIRRORED_TOPICS) {
          mirrored[t].lake = await lakeRows(hdfs, t, startB[t] ?? {}, ofRun(t));
        }
        out(
          `  … ${
            MIRRORED_TOPICS.map((t) => `${t} ${mirrored[t].lake}/${mirrored[t].b}`).join(", ")
          }`,
        );
        return MIRRORED_TOPICS.every((t) => mirrored[t].lake >= mirrored[t].b);
      });
    }, { logTail: tail("lake-sink") });

    const engine = analytics.engine ?? "duckdb";
    const marts = await stages.stage(`the analytics on ${engine}`, async () => {
      const job = `final-analytics-${engine}`;
      const r = await analytics.run(hdfs).catch(async (err) => {
        await recordJobRun(jobStatusDir(dir), { job, ok: false, error: String(err) }).catch(
          () => {},
        );
        throw err;
      });
      await recordJobRun(jobStatusDir(dir), {
        job,
        ok: true,
        rows: r.marts.reduce((n, m) => n + m.rows, 0),
      });
      const outMarts = [];
      for (const m of r.marts) {
        const rows = await analytics.readMart(hdfs, m.name);
        outMarts.push({ name: m.name, rows: m.rows, top: topRows(m.name, rows) });
      }
      return outMarts;
    });

    const recs = await stages.stage(
      "recommendations published and served by the CLIENT API",
      async () => {
        const rows = await analytics.readMart(
          hdfs,
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
        const served = await wait(`the CLIENT API serving ${user}'s recommendations`, async () => {
          const res = await fetch(`${clientUrl}/users/${user}/recommendations`, {
            headers: { "x-user-id": user },
          });
          const body = await res.json() as { recommendations?: { product_id: string }[] };
          const got = (body.recommendations ?? []).map((p) => p.product_id);
          return got.length && got.join() === want.join() ? got : undefined;
        });
        out(`  ${n} users published; ${user} is served ${served.join(", ")}`);
        return { users: n, user, served };
      },
      { logTail: tail("client-api") },
    );

    const checks: Check[] = [];
    const check = (what: string, left: number, right: number, detail: string) =>
      checks.push({ what, left, right, ok: left === right, detail });
    const c = filtered;
    check(
      "sent = products + forbidden + refused",
      products.length + bad.length,
      c.products + c.forbidden + c.dlq + refusals.length,
      `${products.length + bad.length} = ${c.products} + ${c.forbidden} + ${refusals.length}` +
        (c.dlq ? ` + ${c.dlq} DLQ` : ""),
    );
    check(
      "accepted = input-products",
      sent.accepted,
      c.input,
      `${sent.accepted} accepted, ${c.input} in input-products`,
    );
    check(
      "forbidden = the forbidden products sent",
      c.forbidden,
      products.filter((p) => forbiddenIds.includes(p.product_id)).length,
      `${c.forbidden} blocked`,
    );
    check(
      "products = PostgreSQL rows (allowed ids)",
      allowed.length,
      pg.rows,
      `${pg.rows} rows, ${pg.forbiddenRows} of forbidden ids`,
    );
    for (const t of MIRRORED_TOPICS) {
      check(`A = B ${t}`, mirrored[t].a, mirrored[t].b, `${mirrored[t].a} → ${mirrored[t].b}`);
    }
    for (const t of MIRRORED_TOPICS) {
      check(
        `B = lake ${t}`,
        mirrored[t].b,
        mirrored[t].lake,
        `${mirrored[t].b} → ${mirrored[t].lake} rows`,
      );
    }
    const urls: Record<string, string> = {
      "SHOP API": `${shopUrl}/products`,
      "CLIENT API": `${clientUrl}/products/search?q=часы`,
      Prometheus: stack.prometheus?.url() ?? "-",
      Alertmanager: stack.alertmanager?.url() ?? "-",
      "HDFS UI": `http://127.0.0.1:${stack.hdfs!.ports.http}/explorer.html#/lake`,
      Dashboard: `STACK_DIR=${dir} STACK_PORT_OFFSET=${portOffset} deno task final:dashboard`,
      Stop: `STACK_DIR=${dir} STACK_PORT_OFFSET=${portOffset} deno task stack down`,
    };
    return {
      ok: checks.every((x) => x.ok),
      checks,
      productIds: [...ids],
      forbiddenIds,
      counts: {
        sent: products.length + bad.length,
        accepted: sent.accepted,
        refused: refusals.length,
        input: c.input,
        products: c.products,
        forbidden: c.forbidden,
        dlq: c.dlq,
        postgresRows: pg.rows,
        postgresForbiddenRows: pg.forbiddenRows,
        mirrored,
      },
      refusals,
      simulation: {
        users: sim.users,
        sessions: sim.sessions,
        requests: sim.requests,
        events: sim.events,
        failures: sim.failures,
      },
      users: { first: firstUser, count: users },
      marts,
      recommendations: recs,
      urls,
      stages: stages.timings,
      seconds: stages.elapsed,
    };
  }
}

/** The first rows of a mart by its most telling measure. */
function topRows(name: string, rows: Record<string, unknown>[], n = 3): Record<string, unknown>[] {
  const measure = ["revenue", "purchases", "views", "searches", "score"].find((k) =>
    rows.length > 0 && typeof rows[0][k] === "number"
  );
  const sorted = measure ? [...rows].sort((a, b) => Number(b[measure]) - Number(a[measure])) : rows;
  void name;
  return sorted.slice(0, n);
}

/**
 * Rows of this run in a lake topic: files whose offset range reaches the run's first cluster-B
 * offset, rows with `_offset` from there on that `keep` accepts (read with parquet-wasm).
 */
async function lakeRows(
  hdfs: WebHdfs,
  topic: string,
  from: Offsets,
  keep: (r: { key: string | null; value: string | null }) => boolean,
): Promise<number> {
  const files = await hdfs.walk(`/lake/raw/${topic}`).catch(() => []);
  let n = 0;
  for (const f of files) {
    if (f.path.includes("/_tmp/")) continue;
    const parsed = parseFileName(f.path.split("/").pop()!);
    if (!parsed || Number(parsed.last) < (from[parsed.partition] ?? 0)) continue;
    const { rows } = parquetRows(await hdfs.read(f.path));
    for (const row of rows) {
      if (Number(row._offset) < (from[Number(row._partition)] ?? 0)) continue;
      const key = String((topic === TOPICS.products ? row.product_id : row.request_id) ?? "");
      if (keep({ key, value: JSON.stringify(row) })) n++;
    }
  }
  return n;
}

/** The summary as the lines a person reads at a glance. */
export function formatPlatformSummary(s: PlatformSummary): string {
  const lines: string[] = [];
  const pad = (t: string, n: number) => t.padEnd(n);
  lines.push("", "=== the platform, end to end (this run) ===", "");
  lines.push("records per stage");
  const c = s.counts;
  const rows: [string, string][] = [
    ["sent to the SHOP API", `${c.sent} (${c.accepted} accepted, ${c.refused} refused)`],
    ["input-products", String(c.input)],
    ["products (allowed)", String(c.products)],
    ["products.blocked (forbidden)", String(c.forbidden)],
    ["input-products.dlq", String(c.dlq)],
    [
      "PostgreSQL analytics.products",
      `${c.postgresRows} rows (${c.postgresForbiddenRows} forbidden)`,
    ],
    [
      "simulated users",
      `${s.simulation.users} users, ${s.simulation.sessions} sessions, ${s.simulation.requests} requests, ` +
      `events ${Object.entries(s.simulation.events).map(([k, v]) => `${k} ${v}`).join(", ")}`,
    ],
    ...Object.entries(c.mirrored).map(([t, m]): [string, string] => [
      `${t}: A → B → lake`,
      `${m.a} → ${m.b} → ${m.lake}`,
    ]),
  ];
  for (const [k, v] of rows) lines.push(`  ${pad(k, 34)} ${v}`);
  lines.push("", "reconciliation");
  for (const x of s.checks) {
    lines.push(`  ${x.ok ? "OK      " : "MISMATCH"}  ${pad(x.what, 42)} ${x.detail}`);
  }
  if (s.refusals.length) {
    lines.push("", "refused by the SHOP API");
    for (const r of s.refusals) lines.push(`  ${r.status} ${r.product}: ${r.reason}`);
  }
  lines.push("", "marts (rows; top rows)");
  for (const m of s.marts) {
    lines.push(`  ${pad(m.name, 20)} ${m.rows} rows`);
    for (const r of m.top) lines.push(`      ${compactRow(r)}`);
  }
  lines.push(
    "",
    `recommendations: ${s.recommendations.users} users; ${s.recommendations.user} is served ` +
      s.recommendations.served.join(", "),
  );
  lines.push("", "look at");
  for (const [k, v] of Object.entries(s.urls)) lines.push(`  ${pad(k, 13)} ${v}`);
  lines.push("", "stages (s)");
  lines.push(
    `  ${
      s.stages.map((t) => `${t.stage.split(/[:(]/)[0].trim()} ${t.seconds.toFixed(1)}`).join(" · ")
    }`,
  );
  lines.push(
    "",
    `${s.ok ? "ALL OK" : "MISMATCH"} in ${s.seconds.toFixed(0)} s. The services keep running; ` +
      `\`${s.urls.Stop}\` stops them with the stack.`,
  );
  return lines.join("\n");
}

function compactRow(r: Record<string, unknown>): string {
  return Object.entries(r).slice(0, 6).map(([k, v]) =>
    `${k}=${typeof v === "number" && !Number.isInteger(v) ? v.toFixed(2) : String(v).slice(0, 40)}`
  ).join(" ");
}
