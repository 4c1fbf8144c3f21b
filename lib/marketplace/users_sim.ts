/**
 * Simulated marketplace users (the seed's `producer_client_api`): they use the CLIENT API as
 * people do, so the topics `user-requests`, `user-responses` and `user-events` fill with
 * realistic activity for the analytics.
 *
 * Behaviour, per user, in sessions (`s-<user>-<n>`):
 * - **popularity skew**: products are browsed by a Zipf law (exponent 1.1) over a popularity
 *   order of the catalogue, and a search result is opened by a Zipf law over its rank;
 * - **searches**: most queries are common words of the catalogue (Cyrillic, Latin, CJK),
 *   about one in ten finds nothing (an assortment gap: "телепорт", "iphone 27"…);
 * - **funnel**: a viewed product goes to the cart with probability 0.25, a cart to a purchase
 *   with 0.45, a purchase to a review with 0.35 (ratings skewed towards 4–5); some sessions
 *   also ask for the user's recommendations;
 * - think time between actions: exponential, mean `thinkMs`.
 *
 * Each user sends its own bearer token (`token(user)`, e.g. {@linkcode devTokens} of the
 * stack's identity key), so the API records every action as that user; the catalogue is
 * loaded by anonymous searches.
 *
 * Reproducible: each user's plan comes from a PRNG seeded by (`seed`, user number), and a
 * session is planned before it runs ({@linkcode planSession}), so the same seed against the
 * same catalogue makes the same requests (with `sessions` fixed rather than a duration, also
 * the same number of them).
 *
 * @example
 * ```ts
 * import { runSimulation } from "./users_sim.ts";
 * import { devTokens, ensureIdentityKey } from "./client_api.ts";
 * const token = devTokens(await ensureIdentityKey());
 * const report = await runSimulation({ baseUrl: "http://127.0.0.1:8280", token, users: 10, durationS: 20 });
 * console.log(report.events); // { view: 180, add_to_cart: 41, purchase: 17, review: 6 }
 * ```
 * @module
 */
import type { UserEventType } from "../schemas/mod.ts";
import { sleep } from "../env/mod.ts";

/** A PRNG of floats in [0, 1) (mulberry32): the same seed, the same sequence. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A think time (ms) drawn from the exponential distribution with mean `meanMs`, by inversion
 * of one uniform draw of `rng` (in [0, 1)): never negative, never NaN; 0 when `meanMs` is 0.
 */
export function thinkTime(rng: () => number, meanMs: number): number {
  return -Math.log(1 - rng()) * meanMs;
}

/** Zipf's law over ranks 0…n-1: rank r drawn with probability ∝ 1/(r+1)^s. */
export class Zipf {
  readonly #cdf: number[];
  constructor(readonly n: number, readonly s = 1.1) {
    if (!Number.isInteger(n) || n < 1) {
      throw new RangeError(`Cannot draw as 'n' must be a positive integer: current value is ${n}`);
    }
    let sum = 0;
    const weights = Array.from({ length: n }, (_, r) => (sum += 1 / Math.pow(r + 1, s)));
    this.#cdf = weights.map((w) => w / sum);
  }

  /** A rank drawn with `rng`. */
  sample(rng: () => number): number {
    const u = rng();
    let lo = 0, hi = this.n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** Queries people type that the sample catalogue answers (several scripts on purpose). */
export const COMMON_QUERIES: readonly string[] = [
  "смартфон",
  "наушники",
  "часы",
  "кроссовки",
  "книга",
  "тайга",
  "LEGO",
  "Samsung",
  "чайник",
  "пылесос",
  "Kafka",
  "мёд",
  "ёлка",
  "электроника",
  "спорт",
  "детские",
  "Xiaomi",
  "йога",
  "着物",
  "ушанка",
];

/** Queries that find nothing in the catalogue: what the marketplace lacks. */
export const NO_MATCH_QUERIES: readonly string[] = [
  "телепорт",
  "iphone 27",
  "машина времени",
  "единорог живой",
  "qwertyuiop",
  "🦄 plush",
];

/** One step of a session, decided before it runs. */
export type SessionStep =
  | { op: "search"; query: string; expectEmpty: boolean; pickRank: number; funnel: FunnelPlan }
  | { op: "browse"; productRank: number; funnel: FunnelPlan }
  | { op: "recommendations" };

/** What happens after a product is viewed: cart quantity, purchase, review rating. */
export interface FunnelPlan {
  cart?: number;
  purchase?: boolean;
  review?: number;
}

/** Probabilities of the funnel and of the session's other choices. */
export const USER_BEHAVIOUR = {
  search: 0.35,
  noMatch: 0.1,
  cart: 0.25,
  purchase: 0.45,
  review: 0.35,
  recommendations: 0.15,
  /** Mean steps of a session besides the first. */
  meanExtraSteps: 3,
} as const;

const RATINGS = [5, 5, 5, 5, 5, 4, 4, 4, 3, 2, 1];

function funnel(rng: () => number): FunnelPlan {
  const f: FunnelPlan = {};
  if (rng() < USER_BEHAVIOUR.cart) {
    const u = rng();
    f.cart = u < 0.7 ? 1 : u < 0.9 ? 2 : 3;
    if (rng() < USER_BEHAVIOUR.purchase) {
      f.purchase = true;
      if (rng() < USER_BEHAVIOUR.review) f.review = RATINGS[Math.floor(rng() * RATINGS.length)];
    }
  }
  return f;
}

/** Plans one session: its steps (pure; the same `rng` state gives the same plan). */
export function planSession(rng: () => number, catalogSize: number): SessionStep[] {
  const popularity = new Zipf(Math.max(1, catalogSize));
  const resultRank = new Zipf(10, 1.0);
  const steps: SessionStep[] = [];
  // 1 + geometric number of steps with the given mean.
  let n = 1;
  while (rng() < USER_BEHAVIOUR.meanExtraSteps / (USER_BEHAVIOUR.meanExtraSteps + 1) && n < 20) n++;
  for (let i = 0; i < n; i++) {
    if (rng() < USER_BEHAVIOUR.search) {
      const empty = rng() < USER_BEHAVIOUR.noMatch;
      const list = empty ? NO_MATCH_QUERIES : COMMON_QUERIES;
      // Popular queries are popular too: Zipf over the list.
      const query = list[new Zipf(list.length, 1.0).sample(rng)];
      steps.push({
        op: "search",
        query,
        expectEmpty: empty,
        pickRank: resultRank.sample(rng),
        funnel: funnel(rng),
      });
    } else {
      steps.push({ op: "browse", productRank: popularity.sample(rng), funnel: funnel(rng) });
    }
  }
  if (rng() < USER_BEHAVIOUR.recommendations) steps.push({ op: "recommendations" });
  return steps;
}

/** Options of {@linkcode runSimulation}. */
export interface SimulationOptions {
  /** Base URL of the CLIENT API. */
  baseUrl: string;
  /** The bearer token of a user (issued or renewed as needed). */
  token: (userId: string) => Promise<string>;
  /** Concurrent users. @default 20 */
  users?: number;
  /** How long to run, in seconds (ignored when `sessions` is set). @default 30 */
  durationS?: number;
  /** Sessions per user; when set, the run ends after them instead of after `durationS`. */
  sessions?: number;
  /** PRNG seed. @default 42 */
  seed?: number;
  /** Mean pause between a user's actions, in ms. @default 150 */
  thinkMs?: number;
  /** Number of the first user (`user-<n>`). @default 1000 */
  firstUser?: number;
  /** Called every few seconds with the report so far. */
  onProgress?: (report: SimulationReport) => void;
}

/** What a simulation did (counted from the API's answers). */
export interface SimulationReport {
  users: number;
  sessions: number;
  requests: number;
  /** Answers by route and HTTP status, e.g. `{ search: { "200": 40 } }`. */
  statuses: Record<string, Record<string, number>>;
  /** Actions accepted (202) by type. */
  events: Record<UserEventType, number>;
  searches: number;
  /** Searches answered with no product. */
  emptySearches: number;
  /** Requests that failed outright (network) or answered 5xx. */
  failures: number;
  /** Products in the catalogue the users found. */
  catalog: number;
  /** Most viewed products, most first. */
  topViewed: { product_id: string; views: number }[];
  durationMs: number;
  /** Request ids of every request, in the order they were answered. */
  requestIds: string[];
}

/** The options of a simulation with their defaults applied (after {@linkcode checkOptions}). */
type Settings =
  & Required<Omit<SimulationOptions, "sessions" | "onProgress">>
  & Pick<SimulationOptions, "sessions" | "onProgress">;

/** The options with their defaults; a RangeError naming the first one out of range. */
function checkOptions(options: SimulationOptions): Settings {
  const {
    baseUrl,
    token,
    users = 20,
    durationS = 30,
    sessions,
    seed = 42,
    thinkMs = 150,
    firstUser = 1000,
    onProgress,
  } = options;
  if (!Number.isInteger(users) || users < 1) {
    throw new RangeError(
      `Cannot simulate as 'users' must be a positive integer: current value is ${users}`,
    );
  }
  if (!(durationS > 0)) {
    throw new RangeError(
      `Cannot simulate as 'durationS' must be > 0: current value is ${durationS}`,
    );
  }
  if (!(thinkMs >= 0 && Number.isFinite(thinkMs))) {
    throw new RangeError(
      `Cannot simulate as 'thinkMs' must be a finite number ≥ 0: current value is ${thinkMs}`,
    );
  }
  if (sessions !== undefined && (!Number.isInteger(sessions) || sessions < 1)) {
    throw new RangeError(
      `Cannot simulate as 'sessions' must be a positive integer: current value is ${sessions}`,
    );
  }
  return { baseUrl, token, users, durationS, sessions, seed, thinkMs, firstUser, onProgress };
}

/** An answer of the CLIENT API: its status and JSON body (`{}` when it has none). */
type Answer = { status: number; body: Record<string, unknown> } | undefined;

/** The products of a search answer. */
function productIds(answer: Answer): string[] {
  return ((answer?.body.products as { product_id: string }[] | undefined) ?? [])
    .map((p) => String(p.product_id));
}

/** One run of simulated users: their requests, counted in {@linkcode Simulation.report}. */
class Simulation {
  readonly report: SimulationReport;
  readonly #views = new Map<string, number>();
  #catalog: string[] = [];
  readonly #started = performance.now();

  constructor(readonly settings: Settings) {
    this.report = {
      users: settings.users,
      sessions: 0,
      requests: 0,
      statuses: {},
      events: { view: 0, add_to_cart: 0, purchase: 0, review: 0 },
      searches: 0,
      emptySearches: 0,
      failures: 0,
      catalog: 0,
      topViewed: [],
      durationMs: 0,
      requestIds: [],
    };
  }

  /**
   * One request as `user` (with its bearer token; `null`: anonymous), counted by `route` and
   * status; undefined when it failed outright.
   */
  async call(
    route: string,
    user: string | null,
    path: string,
    init: RequestInit = {},
  ): Promise<Answer> {
    const report = this.report;
    // Outside the try: a token that cannot be issued is an error of the run, not of the API.
    const auth: Record<string, string> = user === null
      ? {}
      : { authorization: `Bearer ${await this.settings.token(user)}` };
    try {
      const res = await fetch(`${this.settings.baseUrl}${path}`, {
        ...init,
        headers: { ...auth, "content-type": "application/json", ...init.headers },
      });
      const body = await res.json().catch(() => ({}));
      report.requests++;
      const id = res.headers.get("x-request-id");
      if (id) report.requestIds.push(id);
      const byStatus = (report.statuses[route] ??= {});
      byStatus[res.status] = (byStatus[res.status] ?? 0) + 1;
      if (res.status >= 500) report.failures++;
      return { status: res.status, body };
    } catch {
      report.failures++;
      return undefined;
    }
  }

  /**
   * The catalogue, as users find it: everything the common queries answer, in a popularity
   * order shuffled by the seed (the same catalogue and seed give the same order).
   */
  async loadCatalog(): Promise<void> {
    const { seed } = this.settings;
    const found = new Set<string>();
    for (const q of COMMON_QUERIES) {
      const r = await this.call(
        "search",
        null,
        `/products/search?q=${encodeURIComponent(q)}&limit=100`,
      );
      for (const id of productIds(r)) found.add(id);
    }
    const catalog = [...found].sort();
    const shuffle = mulberry32(seed ^ 0x5eed);
    for (let i = catalog.length - 1; i > 0; i--) {
      const j = Math.floor(shuffle() * (i + 1));
      [catalog[i], catalog[j]] = [catalog[j], catalog[i]];
    }
    this.report.catalog = catalog.length;
    if (catalog.length === 0) {
      throw new Error(
        "The CLIENT API finds no products: load the catalogue first (deno task final:shop, with the filter and the products sink running)",
      );
    }
    this.#catalog = catalog;
  }

  /** Sends one user event; counted when the API accepts it (202). */
  async event(
    user: string,
    session: string,
    type: UserEventType,
    productId: string,
    extra: Record<string, unknown> = {},
  ): Promise<void> {
    const r = await this.call("event", user, "/events", {
      method: "POST",
      body: JSON.stringify({ type, product_id: productId, session_id: session, ...extra }),
    });
    if (r?.status === 202) this.report.events[type]++;
  }

  /** Opens a product, then goes as far down the funnel as `f` planned. */
  async view(user: string, session: string, productId: string, f: FunnelPlan): Promise<void> {
    await this.call("product", user, `/products/${encodeURIComponent(productId)}`);
    await this.event(user, session, "view", productId);
    this.#views.set(productId, (this.#views.get(productId) ?? 0) + 1);
    if (!f.cart) return;
    await this.event(user, session, "add_to_cart", productId, { quantity: f.cart });
    if (!f.purchase) return;
    await this.event(user, session, "purchase", productId, { quantity: f.cart });
    if (!f.review) return;
    await this.event(user, session, "review", productId, {
      rating: f.review,
      text: f.review >= 4 ? "Всё отлично 👍" : "Могло быть лучше",
    });
  }

  /** Runs one planned step of a session. */
  async step(user: string, session: string, step: SessionStep): Promise<void> {
    if (step.op === "recommendations") {
      await this.call("recommendations", user, `/users/${user}/recommendations`);
    } else if (step.op === "browse") {
      await this.view(user, session, this.#catalog[step.productRank], step.funnel);
    } else {
      this.report.searches++;
      const r = await this.call(
        "search",
        user,
        `/products/search?q=${encodeURIComponent(step.query)}`,
      );
      const ids = productIds(r);
      if (r?.status === 200 && ids.length === 0) this.report.emptySearches++;
      if (ids.length > 0) {
        await this.view(user, session, ids[step.pickRank % ids.length], step.funnel);
      }
    }
  }

  /** User number `n`: sessions until the deadline (or `sessions` of them), thinking between steps. */
  async runUser(n: number, deadline: number): Promise<void> {
    const { firstUser, seed, thinkMs, sessions } = this.settings;
    const user = `user-${firstUser + n}`;
    const rng = mulberry32((seed * 1_000_003 + n) >>> 0);
    for (let s = 0; sessions === undefined ? performance.now() < deadline : s < sessions; s++) {
      const session = `s-${user}-${s}`;
      this.report.sessions++;
      for (const step of planSession(rng, this.#catalog.length)) {
        if (sessions === undefined && performance.now() >= deadline) break;
        await this.step(user, session, step);
        await sleep(thinkTime(rng, thinkMs), "think time");
      }
    }
  }

  /** Runs every user (after the catalogue is loaded) and completes the report. */
  async run(): Promise<SimulationReport> {
    const { users, durationS, onProgress } = this.settings;
    const report = this.report;
    const deadline = this.#started + durationS * 1000;
    const progress = onProgress ? setInterval(() => onProgress(report), 5_000) : undefined;
    try {
      await Promise.all(Array.from({ length: users }, (_, n) => this.runUser(n, deadline)));
    } finally {
      if (progress !== undefined) clearInterval(progress);
    }
    report.topViewed = [...this.#views].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, 10).map(([product_id, v]) => ({ product_id, views: v }));
    report.durationMs = Math.round(performance.now() - this.#started);
    return report;
  }
}

/** Runs simulated users against the CLIENT API and reports what they did. */
export async function runSimulation(options: SimulationOptions): Promise<SimulationReport> {
  const simulation = new Simulation(checkOptions(options));
  await simulation.loadCatalog();
  return await simulation.run();
}
