/**
 * Generated marketplace activity for tests and benchmarks of the lake and the analytics jobs:
 * products, user events, requests and responses (valid by their schemas in lib/schemas),
 * deterministic for a seed, with a planted pattern — every "pattern" user buys both
 * `planted.x` and `planted.y`, every "target" user buys `planted.x` only, and no one else
 * touches either — so `planted.y` must be recommended to the targets. A few products are out
 * of stock. {@linkcode produceActivity} sends it all to Kafka with a few malformed records.
 *
 * By default the rest of the activity is random browsing (mostly in a favourite category) with
 * carts and purchases of whatever was viewed. With `structure: true` it has the shape real
 * shopping has, for measuring recommenders (jobs/evaluate.ts) — still seeded and deterministic,
 * and the default output for a seed is unchanged by the option's existence:
 * - **category affinity**: each user prefers one or two categories (drawn), where most of their
 *   views and their new purchases are;
 * - **complementary products**: the products of each category (but the best-sellers) form fixed
 *   groups of two or three, in catalogue order; a buyer of one often buys another of its group
 *   in a later session;
 * - **best-sellers**: the first three products in stock (after the planted pair) that anyone
 *   may buy whatever their categories — the popularity trap;
 * - **repeat purchases**: now and then a user buys again something they bought before.
 * The planted pattern holds in both modes (its targets only browse).
 *
 * @example
 * ```ts
 * import { generateActivity, produceActivity } from "./activity_gen.ts";
 * const data = generateActivity({ users: 50, products: 40, seed: 7 });
 * await produceActivity(kafka, data, { invalidPerTopic: 3 });
 * ```
 * @module
 */
import { mulberry32 } from "./users_sim.ts";
import type { Kafka, Message } from "kafkajs";
import { Buffer } from "node:buffer";
import type {
  Product,
  UserEvent,
  UserEventType,
  UserRequest,
  UserResponse,
} from "../schemas/mod.ts";
import {
  productCodec,
  userEventCodec,
  userRequestCodec,
  userResponseCodec,
} from "../schemas/mod.ts";
import { TOPICS } from "./topology.ts";

/** Options of {@linkcode generateActivity}. */
export interface ActivityOptions {
  /** Users. @default 60 */
  users?: number;
  /** Products. @default 40 */
  products?: number;
  /** Sessions per user (at most). @default 3 */
  sessions?: number;
  /** Events per session (at most). @default 8 */
  eventsPerSession?: number;
  /** Searches per user (at most). @default 2 */
  searches?: number;
  /** PRNG seed. @default 1 */
  seed?: number;
  /** Start of the activity (ms); it spans `days` days from here. @default two days ago, hour start */
  start?: number;
  /** Days the activity spans. @default 2 */
  days?: number;
  /** Hours it spans instead of `days` (fewer lake files: one per hour and partition). */
  hours?: number;
  /** Id prefix, so runs do not collide. @default "g" */
  prefix?: string;
  /**
   * Realistic structure: category affinity, complementary products, best-sellers and repeat
   * purchases (see the module doc) instead of random carts and purchases. @default false
   */
  structure?: boolean;
}

/** What {@linkcode generateActivity} made. */
export interface Activity {
  products: Product[];
  events: UserEvent[];
  requests: UserRequest[];
  responses: UserResponse[];
  /** Buyers of `x` also buy `y`: `targets` bought only `x`. */
  planted: { x: string; y: string; pattern: string[]; targets: string[] };
}

const CATEGORIES = ["Электроника", "Книги", "Дом", "Спорт", "Игрушки"];
const BRANDS = ["XYZ", "Acme", "Родник", "Nova"];

const HOUR = 3_600_000;

const iso = (ms: number) => new Date(ms).toISOString();

/** A seeded generator and what it has made so far: events, requests, responses. */
class ActivityWriter {
  readonly rnd: () => number;
  readonly events: UserEvent[] = [];
  readonly requests: UserRequest[] = [];
  readonly responses: UserResponse[] = [];
  #eventNo = 0;
  #requestNo = 0;

  constructor(seed: number, readonly prefix: string) {
    this.rnd = mulberry32(seed);
  }

  /** One of `xs`, drawn. */
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rnd() * xs.length)];
  }

  /** `n` products, created 30 days before `start`; every 7th out of stock. */
  products(n: number, start: number): Product[] {
    const prefix = this.prefix;
    return Array.from({ length: n }, (_, i) => {
      const created = iso(start - 30 * 24 * HOUR);
      return {
        product_id: `${prefix}-p${i}`,
        name: `Товар ${i} «${this.pick(["умные часы", "книга", "мяч", "лампа"])}»`,
        description: `Описание товара ${i} 🚀`,
        price: { amount: Math.round((5 + this.rnd() * 500) * 100) / 100, currency: "RUB" },
        category: CATEGORIES[i % CATEGORIES.length],
        brand: BRANDS[i % BRANDS.length],
        // Every 7th product is out of stock.
        stock: { available: i % 7 === 6 ? 0 : 1 + Math.floor(this.rnd() * 100), reserved: i % 3 },
        sku: `SKU-${prefix}-${i}`,
        tags: ["tag", CATEGORIES[i % CATEGORIES.length]],
        images: [{ url: `https://example.com/${i}.jpg`, alt: `image ${i}` }],
        specifications: { weight: `${i * 10} g` },
        created_at: created,
        updated_at: created,
        index: "products",
        store_id: `store-${i % 3}`,
      };
    });
  }

  /** One user event at `at` (quantity, price, rating and text as its type needs). */
  event(user: string, session: string, type: UserEventType, p: Product, at: number): void {
    const e: UserEvent = {
      event_id: `${this.prefix}-e${this.#eventNo++}`,
      user_id: user,
      session_id: session,
      type,
      product_id: p.product_id,
      at: iso(at),
    };
    if (type === "add_to_cart" || type === "purchase") e.quantity = 1 + Math.floor(this.rnd() * 3);
    if (type === "purchase") e.price = p.price.amount;
    if (type === "review") {
      e.rating = 1 + Math.floor(this.rnd() * 5);
      e.text = `Отзыв: ${this.pick(["отлично", "так себе", "👍"])}`;
    }
    this.events.push(e);
  }

  /** One search of `user` at `at` — its request and response — finding a product or not. */
  search(user: string, pool: Product[], at: number): void {
    const rnd = this.rnd;
    const request_id = `${this.prefix}-r${this.#requestNo++}`;
    const found = rnd() < 0.6;
    const query = found
      ? this.pick(["часы", "книга", "мяч"])
      : this.pick(["телепорт", "машина времени"]);
    this.requests.push({
      request_id,
      user_id: user,
      method: "GET",
      path: "/search",
      query,
      at: iso(at),
    });
    this.responses.push({
      request_id,
      user_id: user,
      status: 200,
      latency_ms: Math.round(rnd() * 5000) / 100,
      product_ids: found ? [this.pick(pool).product_id] : [],
      at: iso(at + 20),
    });
  }
}

/** Where the activity happens: the users, the products they may touch, the time window. */
interface ActivityPlan {
  settings: Required<Pick<ActivityOptions, "sessions" | "eventsPerSession" | "searches">>;
  /** Products random activity may touch (all but the planted pair). */
  pool: Product[];
  /** The planted pair. */
  x: Product;
  y: Product;
  /** Users who buy both (a set: a user's membership is looked up once per user). */
  pattern: ReadonlySet<string>;
  /** Users who buy `x` only. */
  targets: ReadonlySet<string>;
  start: number;
  /** Length of the window, ms (half an hour short of its end). */
  span: number;
}

/** A user's random sessions: views mostly in their favourite category, some carts, purchases. */
function randomSessions(w: ActivityWriter, plan: ActivityPlan, user: string, u: number): void {
  const { rnd } = w;
  const { pool, targets, start, span, settings } = plan;
  const favourite = CATEGORIES[u % CATEGORIES.length];
  const liked = pool.filter((p) => p.category === favourite);
  const nSessions = 1 + Math.floor(rnd() * settings.sessions);
  for (let s = 0; s < nSessions; s++) {
    const session = `${user}-s${s}`;
    let at = start + Math.floor(rnd() * span);
    const n = 1 + Math.floor(rnd() * settings.eventsPerSession);
    for (let k = 0; k < n; k++) {
      at += 1000 + Math.floor(rnd() * 60_000);
      const p = rnd() < 0.7 && liked.length ? w.pick(liked) : w.pick(pool);
      w.event(user, session, "view", p, at);
      // Targets only browse at random: their one cart and purchase is the planted `x`.
      const r = targets.has(user) ? 1 : rnd();
      if (r < 0.3) w.event(user, session, "add_to_cart", p, at + 500);
      if (r < 0.15) w.event(user, session, "purchase", p, at + 900);
      if (r < 0.05) w.event(user, session, "review", p, at + 950);
    }
  }
}

/** The fixed structure of a catalogue for `structure: true` (module doc). */
interface CatalogueStructure {
  /** Products anyone may buy: the popularity trap. */
  bestSellers: Product[];
  /** The other products (of the pool), by category. */
  byCategory: Map<string, Product[]>;
  /** Product id → the other products of its complementary group. */
  complements: Map<string, Product[]>;
}

/** Best-sellers and complementary groups of `pool`, from catalogue order alone (no draws). */
function catalogueStructure(pool: Product[]): CatalogueStructure {
  const bestSellers = pool.filter((p) => p.stock.available > 0).slice(0, 3);
  const byCategory = new Map<string, Product[]>();
  for (const p of pool) {
    if (bestSellers.includes(p)) continue;
    byCategory.set(p.category, [...(byCategory.get(p.category) ?? []), p]);
  }
  const complements = new Map<string, Product[]>();
  for (const products of byCategory.values()) {
    // Groups of 2, 3, 2, 3, … in catalogue order; a product left alone joins the last group.
    const groups: Product[][] = [];
    for (let i = 0, size = 2; i < products.length; i += size, size = 5 - size) {
      groups.push(products.slice(i, i + size));
    }
    if (groups.length > 1 && groups[groups.length - 1].length === 1) {
      groups[groups.length - 2].push(...groups.pop()!);
    }
    for (const g of groups) {
      for (const p of g) complements.set(p.product_id, g.filter((o) => o !== p));
    }
  }
  return { bestSellers, byCategory, complements };
}

/**
 * A user's sessions with structure (module doc): views mostly in one or two liked categories,
 * a few abandoned carts, and per session maybe a complement of an earlier purchase, a new
 * product of a liked category, a best-seller and a repeat purchase. Targets only browse.
 */
function structuredSessions(
  w: ActivityWriter,
  plan: ActivityPlan,
  shape: CatalogueStructure,
  user: string,
): void {
  const { rnd } = w;
  const { pool, targets, start, span, settings } = plan;
  const categories = [...shape.byCategory.keys()];
  const first = w.pick(categories);
  const liked = rnd() < 0.5 || categories.length < 2
    ? [first]
    : [first, w.pick(categories.filter((c) => c !== first))];
  const likedProducts = liked.flatMap((c) => shape.byCategory.get(c) ?? []);
  const browsesOnly = targets.has(user);
  const nSessions = 2 + Math.floor(rnd() * (settings.sessions + 1));
  const times = Array.from({ length: nSessions }, () => start + Math.floor(rnd() * span))
    .sort((a, b) => a - b);
  const bought: Product[] = [];
  for (const [s, begin] of times.entries()) {
    const session = `${user}-s${s}`;
    let at = begin;
    const next = () => (at += 1000 + Math.floor(rnd() * 60_000));
    const buy = (p: Product) => {
      w.event(user, session, "view", p, next());
      w.event(user, session, "add_to_cart", p, at + 500);
      w.event(user, session, "purchase", p, at + 900);
      if (rnd() < 0.1) w.event(user, session, "review", p, at + 950);
      if (!bought.includes(p)) bought.push(p);
    };
    const n = 1 + Math.floor(rnd() * settings.eventsPerSession);
    for (let k = 0; k < n; k++) {
      const p = rnd() < 0.8 && likedProducts.length ? w.pick(likedProducts) : w.pick(pool);
      w.event(user, session, "view", p, next());
      if (!browsesOnly && rnd() < 0.1) w.event(user, session, "add_to_cart", p, at + 500);
    }
    if (browsesOnly) continue;
    const pending = bought.flatMap((p) => shape.complements.get(p.product_id) ?? [])
      .filter((p) => !bought.includes(p));
    if (pending.length && rnd() < 0.6) buy(w.pick(pending));
    const fresh = likedProducts.filter((p) => !bought.includes(p));
    if (fresh.length && rnd() < 0.6) buy(w.pick(fresh));
    const hits = shape.bestSellers.filter((p) => !bought.includes(p));
    if (hits.length && rnd() < 0.3) buy(w.pick(hits));
    if (bought.length && rnd() < 0.15) buy(w.pick(bought));
  }
}

/** The planted pattern: "pattern" users buy `x` and `y`, "target" users `x` only. */
function plantedPurchases(w: ActivityWriter, plan: ActivityPlan, user: string): void {
  const { pattern, targets, x, y, start, span } = plan;
  if (!pattern.has(user) && !targets.has(user)) return;
  const at = start + Math.floor(w.rnd() * span);
  const session = `${user}-planted`;
  for (const p of pattern.has(user) ? [x, y] : [x]) {
    w.event(user, session, "view", p, at);
    w.event(user, session, "add_to_cart", p, at + 100);
    w.event(user, session, "purchase", p, at + 200);
  }
}

/** Generates a deterministic activity set; see the module doc. */
export function generateActivity(options: ActivityOptions = {}): Activity {
  const {
    users = 60,
    products: nProducts = 40,
    sessions = 3,
    eventsPerSession = 8,
    searches = 2,
    seed = 1,
    days = 2,
    prefix = "g",
  } = options;
  if (nProducts < 6) {
    throw new RangeError(`'products' must be at least 6: current value is ${nProducts}`);
  }
  if (users < 10) throw new RangeError(`'users' must be at least 10: current value is ${users}`);
  const start = options.start ?? Math.floor((Date.now() - days * 24 * HOUR) / HOUR) * HOUR;
  const w = new ActivityWriter(seed, prefix);
  const products = w.products(nProducts, start);
  const userIds = Array.from({ length: users }, (_, u) => `${prefix}-u${u}`);
  const pattern = userIds.slice(0, Math.max(3, Math.floor(users / 8)));
  const targets = userIds.slice(
    pattern.length,
    pattern.length + Math.max(2, Math.floor(users / 15)),
  );
  const plan: ActivityPlan = {
    settings: { sessions, eventsPerSession, searches },
    // Random activity never touches the planted pair.
    pool: products.slice(2),
    x: products[0],
    y: products[1],
    pattern: new Set(pattern),
    targets: new Set(targets),
    start,
    span: (options.hours ?? days * 24) * HOUR - HOUR / 2,
  };
  // Only with `structure` does anything below draw differently: the default stays as it was.
  const shape = options.structure ? catalogueStructure(plan.pool) : undefined;
  for (const [u, user] of userIds.entries()) {
    if (shape) structuredSessions(w, plan, shape, user);
    else randomSessions(w, plan, user, u);
    plantedPurchases(w, plan, user);
    const nSearches = Math.floor(w.rnd() * (searches + 1));
    for (let q = 0; q < nSearches; q++) {
      w.search(user, plan.pool, start + Math.floor(w.rnd() * plan.span));
    }
  }
  w.events.sort((a, b) => a.at.localeCompare(b.at));
  return {
    products,
    events: w.events,
    requests: w.requests,
    responses: w.responses,
    planted: { x: plan.x.product_id, y: plan.y.product_id, pattern, targets },
  };
}

/** Options of {@linkcode produceActivity}. */
export interface ProduceActivityOptions {
  /** Put before each topic name (a test's own topics). @default "" */
  topicPrefix?: string;
  /** Malformed records added to each topic (they must end in its DLQ). @default 0 */
  invalidPerTopic?: number;
}

/** How many records went to each topic, valid and not. */
export type ProducedCounts = Record<string, { valid: number; invalid: number }>;

/** Records of `items`, encoded by `codec`, keyed by `key`, with the Kafka timestamp `at`. */
function records<T>(
  items: T[],
  codec: { encode(value: T): Uint8Array },
  key: (item: T) => string,
  at: (item: T) => string,
): Message[] {
  return items.map((item) =>
    ({
      key: key(item),
      value: Buffer.from(codec.encode(item)),
      timestamp: String(Date.parse(at(item))),
    }) as Message
  );
}

/** `count` malformed records: broken JSON, or JSON of no schema. */
function malformed(count: number, kind: string, n: number, at: number): Message[] {
  return Array.from({ length: count }, (_, i) => ({
    key: `bad-${kind}-${i}`,
    timestamp: String(at),
    value: i % 3 === 0 ? "{not json" : JSON.stringify({ broken: true, n, i }),
  }));
}

/** Malformed events, one in three a review without rating (valid JSON, fails the schema's if/then). */
function malformedEvents(count: number, at: number): Message[] {
  return malformed(count, "event", 2, at).map((m, i) =>
    i % 3 === 1
      ? {
        ...m,
        value: JSON.stringify({
          event_id: `bad-${i}`,
          user_id: "u",
          session_id: "s",
          type: "review",
          product_id: "p",
          at: new Date(at).toISOString(),
        }),
      }
      : m
  );
}

/**
 * Produces an activity set to its topics (acks=all, idempotent; Kafka timestamp = the event's
 * time), keyed as the platform keys them, with `invalidPerTopic` malformed records in each.
 */
export async function produceActivity(
  kafka: Kafka,
  data: Activity,
  options: ProduceActivityOptions = {},
): Promise<ProducedCounts> {
  const { topicPrefix = "", invalidPerTopic = 0 } = options;
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const counts: ProducedCounts = {};
  const send = async (topic: string, messages: Message[], invalid: Message[]) => {
    const all = [...messages];
    // Spread the malformed records among the valid ones.
    invalid.forEach((m, i) =>
      all.splice(Math.floor(((i + 1) * all.length) / (invalid.length + 1)), 0, m)
    );
    for (let i = 0; i < all.length; i += 1000) {
      await producer.send({
        topic: topicPrefix + topic,
        acks: -1,
        messages: all.slice(i, i + 1000),
      });
    }
    counts[topic] = { valid: messages.length, invalid: invalid.length };
  };
  const t0 = Date.parse(data.events[0]?.at ?? new Date().toISOString());
  try {
    await send(
      TOPICS.products,
      records(data.products, productCodec, (p) => p.product_id, (p) => p.updated_at),
      malformed(invalidPerTopic, "product", 1, t0),
    );
    await send(
      TOPICS.userEvents,
      records(data.events, userEventCodec, (e) => e.user_id, (e) => e.at),
      malformedEvents(invalidPerTopic, t0),
    );
    await send(
      TOPICS.userRequests,
      records(data.requests, userRequestCodec, (r) => r.request_id, (r) => r.at),
      malformed(invalidPerTopic, "request", 3, t0),
    );
    await send(
      TOPICS.userResponses,
      records(data.responses, userResponseCodec, (r) => r.request_id, (r) => r.at),
      malformed(invalidPerTopic, "response", 4, t0),
    );
  } finally {
    await producer.disconnect();
  }
  return counts;
}
