/**
 * The CLIENT API (`final:client-api`) and the simulated users (`final:clients`) against the
 * real secure cluster and the real PostgreSQL: searches (Cyrillic, emoji, CJK, literal `%`)
 * answer from `analytics.products` and agree with psql's own ILIKE; actions land in
 * `user-events`; every request and its answer are in `user-requests`/`user-responses` with the
 * same request id; recommendations produced as principal `analytics` are served to their user
 * only; every bad input — and every forged, expired or other user's token — is a 4xx naming the
 * field, is still recorded, and produces no event; anonymous search answers and is recorded
 * without a user; the service stays up. Topics are read back by a separate consumer as `admin`
 * and Kafka's console consumer, never through the API's own counters. Tokens come from the dev
 * issuer with the test stack's identity key, as `deno task final:token` signs them.
 *
 * The products searched are this run's rows (ids `ct-<run>-…`, a run token in each
 * description), written with psql into the table the products sink owns and deleted at the
 * end; when the sink has not created the table yet, the test creates it with the sink's
 * column layout (PRODUCT_ROW_SCHEMA of lib/marketplace/products_sink.ts).
 */
import assert from "node:assert/strict";
import type { Kafka } from "kafkajs";
import { eventually, runTask, spawnTask, testStack, unique } from "../_stack.ts";
import { consoleRecords } from "../_console.ts";
import type { ConsoleRecordsOptions } from "../../lib/stack/mod.ts";
import {
  createKafka,
  readTopicUntil,
  secureKafkaConfigFromEnv,
  type TopicRecord,
} from "../../lib/kafka/mod.ts";
import { ensureDatabase, postgresUrlFromEnv, withDatabase } from "../../lib/connect/mod.ts";
import {
  ANALYTICS_DB,
  devTokens,
  identitySecretFromEnv,
  issueToken,
  newIdentitySecret,
  PRINCIPALS,
  PRODUCT_ROW_SCHEMA,
  searchIndexName,
  searchSql,
  setupFinalTopology,
  TOPICS,
} from "../../lib/marketplace/mod.ts";
import {
  type Recommendation,
  recommendationCodec,
  type UserEvent,
  userEventCodec,
  type UserRequest,
  userRequestCodec,
  type UserResponse,
  userResponseCodec,
} from "../../lib/schemas/mod.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const RUN = unique("ct").replaceAll("-", "");
const TOKEN = `tok${RUN}`; // in every description of this run: searches stay within our rows
const pid = (n: string) => `ct-${RUN}-${n}`;
const USER = `user-${Math.floor(Math.random() * 1e9)}`;
const SESSION = `s-${RUN}`;

let admin: Kafka;
/** Kafka's console consumer as admin on the secure cluster. */
let reader: ConsoleRecordsOptions;
let pgUrl: string;
let api: Awaited<ReturnType<typeof spawnTask>>;
let base: string;
/** The stack's identity key (the API's), and a user's bearer token signed with it. */
let secret: string;
let tokenOf: (user: string) => Promise<string>;
const startOffsets: Record<string, Map<number, string>> = {};
/** HTTP status of every request this test made, by request id. */
const sent = new Map<string, { status: number; productIds?: string[] }>();
/** Request ids of the anonymous searches (recorded without a user). */
const anonymous = new Set<string>();

async function psql(sql: string): Promise<string[]> {
  const out = await new Deno.Command("psql", {
    args: [withDatabase(pgUrl, ANALYTICS_DB), "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  if (!out.success) throw new Error(`psql failed: ${dec.decode(out.stderr)}`);
  return dec.decode(out.stdout).split("\n").filter((l) => l !== "");
}
const lit = (s: string) => `'${s.replaceAll("'", "''")}'`;

const PRODUCTS = [
  {
    n: "phone",
    name: "Смартфон Ёжик Pro 8/256 ГБ",
    brand: "Samsung",
    category: "Электроника",
    price: 34990.5,
  },
  {
    n: "shirt",
    name: "Футболка 👕 Летняя",
    brand: "Uniqlo",
    category: "Одежда и обувь",
    price: 990,
  },
  {
    n: "kimono",
    name: "Кимоно 着物 «Сакура»",
    brand: "無印良品 (MUJI)",
    category: "Одежда и обувь",
    price: 7500,
  },
  {
    n: "sale",
    name: "Чайник Скидка 50% Tefal",
    brand: "Tefal",
    category: "Дом и кухня",
    price: 2590,
  },
  {
    n: "band",
    name: "Фитнес-браслет Mi Band 8",
    brand: "Xiaomi",
    category: "Электроника",
    price: 3490,
  },
  {
    n: "book",
    name: "Kafka: The Definitive Guide",
    brand: "O'Reilly",
    category: "Книги",
    price: 4200,
  },
];

/** Creates the products table with the sink's layout when the sink has not yet. */
async function ensureProductsTable(): Promise<boolean> {
  const exists = await psql("select to_regclass('public.products') is not null");
  if (exists[0] === "t") return false;
  const type = (f: { type: string; name?: string }) =>
    f.name === "io.debezium.data.Json"
      ? "json"
      : f.name === "io.debezium.time.ZonedTimestamp"
      ? "timestamptz"
      : ({ string: "text", double: "double precision", int64: "bigint" } as Record<string, string>)[
        f.type
      ];
  const cols = PRODUCT_ROW_SCHEMA.fields.map((f) =>
    `"${f.field}" ${type(f as { type: string; name?: string })} NOT NULL`
  );
  await psql(`create table if not exists products (${cols.join(", ")}, primary key (product_id))`);
  return true;
}

async function setup(): Promise<void> {
  if (admin) return;
  const stack = await testStack({ secure: true, postgres: true });
  reader = {
    kafka: stack.secureKafka!.clientOptions("admin"),
    commandConfig: stack.secureKafka!.secrets().javaClientProperties.admin,
  };
  admin = createKafka(
    secureKafkaConfigFromEnv("admin", { clientId: "final-client-test", logLevel: "NOTHING" }),
  );
  const a = admin.admin();
  await a.connect();
  await setupFinalTopology(a);
  for (const t of [TOPICS.userRequests, TOPICS.userResponses, TOPICS.userEvents]) {
    const offs = await a.fetchTopicOffsets(t);
    startOffsets[t] = new Map(offs.map((o) => [o.partition, o.high]));
  }
  await a.disconnect();
  pgUrl = postgresUrlFromEnv();
  await ensureDatabase(pgUrl, ANALYTICS_DB);
  const created = await ensureProductsTable();
  if (created) console.log("products table created by this test (the sink had not yet)");
  const values = PRODUCTS.map((p) =>
    `(${lit(pid(p.n))}, ${lit(p.name)}, ${
      lit(`${p.name} — описание ${TOKEN}`)
    }, ${p.price}, 'RUB', ` +
    `${lit(p.category)}, ${lit(p.brand)}, 5, 0, ${
      lit(`SKU-${p.n}`)
    }, '[]', '[]', '{}', now(), now(), ` +
    `'products', 'store_001')`
  );
  await psql(
    `insert into products (product_id, name, description, price_amount, price_currency, category, brand, ` +
      `stock_available, stock_reserved, sku, tags, images, specifications, created_at, updated_at, "index", store_id) ` +
      `values ${values.join(", ")}`,
  );
  ({ secret } = await identitySecretFromEnv());
  tokenOf = devTokens(secret);
  api = await spawnTask("final:client-api", [], { CLIENT_API_PORT: "0" });
  const line = await eventually(
    () => api.lines.find((l) => l.startsWith("CLIENT API on ")),
    60_000,
    "the CLIENT API to listen",
  );
  base = /on (http:\/\/[^ ]+) /.exec(line)![1];
  await eventually(async () => (await fetch(`${base}/healthz`)).status === 200, 30_000, "healthz");
}

/**
 * One request as `user` (its bearer token; default USER), anonymous (`user: null`), or with
 * `auth` as the whole Authorization header.
 */
async function call(
  path: string,
  init: RequestInit & { user?: string | null; auth?: string } = {},
): Promise<{ status: number; body: Record<string, unknown>; id: string; headers: Headers }> {
  const headers = new Headers(init.headers);
  const user = init.user === undefined ? USER : init.user;
  if (init.auth !== undefined) headers.set("authorization", init.auth);
  else if (user !== null) headers.set("authorization", `Bearer ${await tokenOf(user)}`);
  const res = await fetch(`${base}${path}`, { ...init, headers });
  const body = await res.json();
  const id = res.headers.get("x-request-id")!;
  assert.ok(id, "every answer names its request id");
  assert.equal(body.request_id, id);
  const ids = Array.isArray(body.products)
    ? (body.products as { product_id: string }[]).map((p) => p.product_id)
    : undefined;
  sent.set(id, { status: res.status, productIds: ids });
  return { status: res.status, body, id, headers: res.headers };
}

const search = (q: string) => call(`/products/search?q=${encodeURIComponent(q)}`);
const ids = (body: Record<string, unknown>) =>
  (body.products as { product_id: string }[]).map((p) => p.product_id);

/** psql's own answer: every word in name, description, brand or category (ILIKE). */
async function psqlSearch(words: string[]): Promise<string[]> {
  const cond = words.map((w) => {
    const pat = lit(`%${w.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    return `(name ilike ${pat} or description ilike ${pat} or brand ilike ${pat} or category ilike ${pat})`;
  });
  return (await psql(`select product_id from products where ${cond.join(" and ")}`)).sort();
}

interface Read<T> {
  key: string | null;
  value: T;
}

/** Reads what was written to `topic` since the test began, as admin, decoded by `decode`. */
async function readSince<T>(
  topic: string,
  decode: (b: Buffer) => T,
  done: (rows: Read<T>[]) => boolean,
  timeoutMs = 30_000,
): Promise<Read<T>[]> {
  const from = Object.fromEntries([...(startOffsets[topic] ?? [])].map(([p, o]) => [p, Number(o)]));
  const read = (r: TopicRecord): Read<T> => ({
    key: r.key?.toString() ?? null,
    value: decode(r.value!),
  });
  const records = await readTopicUntil(admin, {
    topics: [topic],
    from: { [topic]: from },
    until: (rs) => done(rs.map(read)),
    what: `records in ${topic}`,
    timeoutMs,
  });
  return records.map(read);
}

Deno.test("CLIENT API: searches answer from analytics.products, Unicode-aware", opts, async () => {
  await setup();
  const cases: [string, string[]][] = [
    ["СМАРТФОН", ["phone"]], // case-insensitive Cyrillic
    ["ежик", ["phone"]], // ё matches е
    ["👕", ["shirt"]], // emoji
    ["着物", ["kimono"]], // CJK
    ["50%", ["sale"]], // % is literal
    ["электроника", ["band", "phone"]], // category
    ["xiaomi", ["band"]], // brand, case-insensitive Latin
    ["kafka definitive", ["book"]], // every word must match
    ["одежда", ["kimono", "shirt"]],
  ];
  for (const [q, expected] of cases) {
    const r = await search(`${q} ${TOKEN}`);
    assert.equal(r.status, 200, `q=${q}: ${JSON.stringify(r.body)}`);
    const got = ids(r.body).sort();
    assert.deepEqual(got, expected.map(pid).sort(), `q=${q}`);
    if (q !== "ежик") {
      // Independent check: psql's ILIKE finds the same rows in the same table.
      assert.deepEqual(got, await psqlSearch([...q.split(" "), TOKEN]), `q=${q} vs psql`);
    }
    assert.equal(r.body.count, expected.length);
  }
  // Ranking: a word in the name (4) ranks above a word in the category only (2).
  const ranked = await search(`смартфон ${TOKEN}`);
  assert.equal(ids(ranked.body)[0], pid("phone"));
  // Nothing found: 200, an empty list and a plain message.
  const none = await search(`телепорт ${TOKEN}`);
  assert.equal(none.status, 200);
  assert.deepEqual(none.body.products, []);
  assert.match(String(none.body.message), /No products match/);
  // The searches ran on the trigram index the API made: it is in PostgreSQL (psql), and
  // PostgreSQL's plan of the API's own query uses it once a sequential scan is ruled out (a
  // search whose WHERE differed from the index's expression could never use it).
  const indexdef = (await psql(
    `select indexdef from pg_indexes where indexname = ${lit(searchIndexName())}`,
  )).join("\n"); // its expression holds newlines
  assert.match(indexdef, /USING gin .*gin_trgm_ops/s, "the search index exists");
  const plan = await psql(
    `set enable_seqscan = off; prepare q as ${searchSql(["смартфон", TOKEN], 10).text}; ` +
      `explain execute q(${lit("%смартфон%")}, ${lit(`%${TOKEN.toLowerCase()}%`)}, 10)`,
  );
  assert.match(plan.join("\n"), new RegExp(`Bitmap Index Scan on ${searchIndexName()}`));
  // The product row as stored, compared with psql.
  const one = await call(`/products/${pid("kimono")}`);
  assert.equal(one.status, 200);
  const row = one.body.product as Record<string, unknown>;
  const [name, price] = (await psql(
    `select name || '|' || price_amount from products where product_id = ${lit(pid("kimono"))}`,
  ))[0].split("|");
  assert.equal(row.name, name);
  assert.equal(row.price_amount, Number(price));
  const missing = await call(`/products/${pid("nope")}`);
  assert.equal(missing.status, 404);
  assert.equal(missing.body.field, "product_id");
});

const EVENTS = [
  { type: "view", product_id: pid("phone") },
  { type: "add_to_cart", product_id: pid("phone"), quantity: 2 },
  { type: "purchase", product_id: pid("phone"), quantity: 2, price: 1 }, // price: the catalog's
  { type: "review", product_id: pid("phone"), rating: 5, text: "Отличный 📱, «рекомендую»" },
  { type: "view", product_id: pid("shirt"), session_id: `${SESSION}-b` },
];

Deno.test("CLIENT API: actions land in user-events (read back as admin)", opts, async () => {
  await setup();
  const accepted: string[] = [];
  for (const e of EVENTS) {
    const r = await call("/events", {
      method: "POST",
      headers: { "content-type": "application/json", "x-session-id": SESSION },
      body: JSON.stringify(e),
    });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    accepted.push(String(r.body.event_id));
  }
  const rows = await readSince(
    TOPICS.userEvents,
    (b) => userEventCodec.decode(b),
    (rows) => accepted.every((id) => rows.some((r) => r.value.event_id === id)),
  );
  const mine = rows.filter((r) => accepted.includes(r.value.event_id));
  assert.equal(mine.length, EVENTS.length, "each action exactly once");
  for (const r of mine) assert.equal(r.key, USER, "key = user_id");
  const byType = (t: string) => mine.filter((r) => r.value.type === t).map((r) => r.value);
  const purchase: UserEvent = byType("purchase")[0];
  const [catalogPrice] = await psql(
    `select price_amount from products where product_id = ${lit(pid("phone"))}`,
  );
  assert.equal(purchase.price, Number(catalogPrice), "purchase price comes from the catalog");
  assert.equal(purchase.quantity, 2);
  assert.equal(byType("review")[0].rating, 5);
  assert.equal(byType("review")[0].text, EVENTS[3].text);
  assert.deepEqual(
    mine.map((r) => r.value.session_id).sort(),
    [SESSION, SESSION, SESSION, SESSION, `${SESSION}-b`],
  );
});

Deno.test("CLIENT API: recommendations produced as 'analytics' are served", opts, async () => {
  await setup();
  const user = `user-${Math.floor(Math.random() * 1e9)}`;
  const before = await call(`/users/${user}/recommendations`, { user });
  assert.equal(before.status, 200);
  assert.deepEqual(before.body.recommendations, []);
  assert.match(String(before.body.message), /No recommendations/);
  const analytics = createKafka(
    secureKafkaConfigFromEnv(PRINCIPALS.analytics, { clientId: "final-client-test-analytics" }),
  );
  const producer = analytics.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const rec = (model: string, ids: string[]): Recommendation => ({
    user_id: user,
    products: ids.map((id, i) => ({ product_id: id, score: 1 - i / 10, reason: "co-purchase" })),
    model,
    generated_at: new Date().toISOString(),
  });
  const send = async (value: Buffer | null, key = user) =>
    await producer.send({ topic: TOPICS.recommendations, acks: -1, messages: [{ key, value }] });
  await send(Buffer.from(recommendationCodec.encode(rec("test:v1", [pid("shirt")]))));
  await send(Buffer.from(recommendationCodec.encode(rec("test:v2", [pid("band"), pid("book")]))));
  // A malformed record later for another user is skipped, never served; the table keeps going.
  const other = `user-${Math.floor(Math.random() * 1e9)}`;
  await send(Buffer.from('{"user_id": 1}'), other);
  const served = await eventually(
    async () => {
      const r = await call(`/users/${user}/recommendations`, { user });
      return r.body.model === "test:v2" ? r : undefined;
    },
    30_000,
    "the latest recommendations",
  );
  assert.deepEqual(
    (served.body.recommendations as { product_id: string }[]).map((p) => p.product_id),
    [pid("band"), pid("book")],
  );
  const bad = await call(`/users/${other}/recommendations`, { user: other });
  assert.deepEqual(bad.body.recommendations, []);
  // A tombstone removes the user's recommendations.
  await send(null);
  await eventually(
    async () => {
      const r = await call(`/users/${user}/recommendations`, { user });
      return (r.body.recommendations as unknown[]).length === 0;
    },
    30_000,
    "the tombstone to apply",
  );
  await producer.disconnect();
});

/** End offsets of `topic` now: partition → offset. */
async function endOffsets(topic: string): Promise<Map<number, number>> {
  const a = admin.admin();
  await a.connect();
  try {
    return new Map((await a.fetchTopicOffsets(topic)).map((o) => [o.partition, +o.high]));
  } finally {
    await a.disconnect();
  }
}

Deno.test(
  "CLIENT API: bad input and forged, expired or other users' tokens are 4xx naming the field, recorded, never produced as an event; anonymous search answers; service stays up",
  opts,
  async () => {
    await setup();
    // Tokens of a user no request of this run acts as: forged (another key), expired, valid.
    const other = `user-${Math.floor(Math.random() * 1e9)}`;
    const forged = `Bearer ${await issueToken(other, newIdentitySecret())}`;
    const expired = `Bearer ${await issueToken(other, secret, {
      ttlSeconds: 60,
      now: new Date(Date.now() - 3_600_000),
    })}`;
    // Nothing else writes user-events while this test runs: what lands there from now on is
    // what its requests produced.
    const eventsBefore = await endOffsets(TOPICS.userEvents);
    const json = { "content-type": "application/json" };
    const post = (body: BodyInit, extra: Record<string, string> = {}, user?: string | null) =>
      call("/events", { method: "POST", headers: { ...json, ...extra }, body, user });
    const ev = (e: Record<string, unknown>) => JSON.stringify({ session_id: SESSION, ...e });
    const view = ev({ type: "view", product_id: pid("phone") });
    const act = (init: { user?: string | null; auth?: string }) =>
      call("/events", { method: "POST", headers: json, body: view, ...init });
    const bad: [string, () => ReturnType<typeof call>, number, string][] = [
      ["no token on an action", () => act({ user: null }), 401, "Authorization"],
      ["forged token", () => act({ auth: forged }), 401, "Authorization"],
      ["expired token", () => act({ auth: expired }), 401, "Authorization"],
      ["not a bearer token", () => act({ auth: "Basic dXNlcjpwdw==" }), 401, "Authorization"],
      [
        "forged token on a search",
        () => call(`/products/search?q=x`, { auth: forged }),
        401,
        "Authorization",
      ],
      [
        "no token for recommendations",
        () => call(`/users/${USER}/recommendations`, { user: null }),
        401,
        "Authorization",
      ],
      [
        "another user's token for recommendations",
        () => call(`/users/${other}/recommendations`),
        403,
        "user_id",
      ],
      [
        "X-User-Id not the token's user",
        () => call(`/products/search?q=x`, { headers: { "x-user-id": other } }),
        403,
        "X-User-Id",
      ],
      [
        "X-User-Id without a token",
        () => call(`/products/search?q=x`, { user: null, headers: { "x-user-id": "user-1" } }),
        401,
        "Authorization",
      ],
      ["unknown user in path", () => call(`/users/robert'); drop/recommendations`), 400, "user_id"],
      ["missing q", () => call(`/products/search`), 400, "q"],
      ["blank q", () => call(`/products/search?q=%20%20`), 400, "q"],
      ["q too long", () => call(`/products/search?q=${"я".repeat(201)}`), 400, "q"],
      ["bad limit", () => call(`/products/search?q=x&limit=-3`), 400, "limit"],
      ["not JSON", () => post("{type: view"), 400, "body"],
      ["empty body", () => post(""), 400, "body"],
      ["array", () => post("[]"), 400, "body"],
      ["invalid UTF-8", () => post(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), 400, "body"],
      ["unknown type", () => post(ev({ type: "like", product_id: pid("phone") })), 400, "type"],
      ["missing type", () => post(ev({ product_id: pid("phone") })), 400, "type"],
      ["missing product", () => post(ev({ type: "view" })), 400, "product_id"],
      [
        "unknown product",
        () => post(ev({ type: "view", product_id: pid("ghost") })),
        400,
        "product_id",
      ],
      [
        "review without rating",
        () => post(ev({ type: "review", product_id: pid("phone") })),
        400,
        "rating",
      ],
      [
        "rating 7",
        () => post(ev({ type: "review", product_id: pid("phone"), rating: 7 })),
        400,
        "rating",
      ],
      [
        "rating on a view",
        () => post(ev({ type: "view", product_id: pid("phone"), rating: 4 })),
        400,
        "rating",
      ],
      [
        "cart without quantity",
        () => post(ev({ type: "add_to_cart", product_id: pid("phone") })),
        400,
        "quantity",
      ],
      [
        "quantity as string",
        () => post(ev({ type: "purchase", product_id: pid("phone"), quantity: "2" })),
        400,
        "quantity",
      ],
      [
        "unknown field",
        () => post(ev({ type: "view", product_id: pid("phone"), colour: "red" })),
        400,
        "colour",
      ],
      [
        "no session",
        () => post(JSON.stringify({ type: "view", product_id: pid("phone") })),
        400,
        "session_id",
      ],
      [
        "another user's event",
        () => post(ev({ type: "view", product_id: pid("phone"), user_id: "user-1" })),
        403,
        "user_id",
      ],
      [
        "body over 64 KiB",
        () =>
          post(
            ev({ type: "review", product_id: pid("phone"), rating: 3, text: "ы".repeat(40_000) }),
          ),
        413,
        "body",
      ],
      ["unknown route", () => call(`/admin`), 404, "path"],
      ["wrong method", () => call(`/events`), 405, "method"],
    ];
    const refused: { id: string; status: number; field: string }[] = [];
    for (const [what, run, status, field] of bad) {
      const r = await run();
      assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.field, field, `${what}: ${JSON.stringify(r.body)}`);
      assert.ok(String(r.body.error).length > 0, what);
      if (status === 401) {
        assert.match(r.headers.get("www-authenticate") ?? "", /^Bearer realm="client-api"/, what);
      }
      refused.push({ id: r.id, status, field });
    }
    // Anonymous search answers, and is recorded without a user (checked below).
    const anon = await call(`/products/search?q=${encodeURIComponent(`смартфон ${TOKEN}`)}`, {
      user: null,
    });
    assert.equal(anon.status, 200, JSON.stringify(anon.body));
    assert.deepEqual(ids(anon.body), [pid("phone")]);
    anonymous.add(anon.id);
    // Still up and still answering.
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    const ok = await search(`смартфон ${TOKEN}`);
    assert.equal(ok.status, 200);
    // Every refused request is in user-requests, its refusal (naming the field) in user-responses.
    const wanted = new Set([...refused.map((r) => r.id), anon.id]);
    const reqs = await readSince(
      TOPICS.userRequests,
      (b) => userRequestCodec.decode(b),
      (rows) => [...wanted].every((id) => rows.some((r) => r.value.request_id === id)),
    );
    const resps = await readSince(
      TOPICS.userResponses,
      (b) => userResponseCodec.decode(b),
      (rows) => [...wanted].every((id) => rows.some((r) => r.value.request_id === id)),
    );
    for (const r of refused) {
      assert.equal(reqs.filter((x) => x.value.request_id === r.id).length, 1, `request ${r.id}`);
      const out = resps.filter((x) => x.value.request_id === r.id);
      assert.equal(out.length, 1, `response ${r.id}`);
      assert.equal(out[0].value.status, r.status);
      assert.ok(out[0].value.error?.startsWith(`${r.field}:`), String(out[0].value.error));
    }
    // A 401 is recorded without a user (none was proven), a 403 with the token's user who tried;
    // the anonymous search without a user.
    for (const r of refused.filter((r) => r.status === 401 || r.status === 403)) {
      const recorded = reqs.find((x) => x.value.request_id === r.id)!.value.user_id;
      assert.equal(recorded, r.status === 401 ? undefined : USER, `user of ${r.status} ${r.field}`);
    }
    const anonRecord = reqs.find((x) => x.value.request_id === anon.id)!.value;
    assert.equal(anonRecord.user_id, undefined, "anonymous search recorded without a user");
    assert.equal(resps.find((x) => x.value.request_id === anon.id)!.value.status, 200);
    // No refused event was produced: the API answers only once Kafka acknowledged what it
    // wrote, so after the answers user-events holds all of it. One accepted event after the
    // refused ones shows the read sees what the API writes; it must be the only new event.
    const accepted = await post(ev({ type: "view", product_id: pid("phone") }));
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    const since = (await consoleRecords(TOPICS.userEvents, reader))
      .filter((r) => r.offset >= (eventsBefore.get(r.partition) ?? 0));
    const theirs = since.filter((r) => r.key === other || r.value?.includes(other));
    assert.deepEqual(theirs, [], "no event of the forged, expired or other user's tokens");
    assert.deepEqual(
      since.map((r) => {
        try {
          return JSON.parse(r.value!).event_id;
        } catch {
          return r.value; // not an event at all: shown as it is
        }
      }),
      [accepted.body.event_id],
      `user-events since the refused requests: ${since.map((r) => r.value).join(" | ")}`,
    );
  },
);

Deno.test(
  "CLIENT API: every request and response of this run pair up by request_id",
  opts,
  async () => {
    await setup();
    const all = new Set(sent.keys());
    const reqs = await readSince(
      TOPICS.userRequests,
      (b) => userRequestCodec.decode(b),
      (rows) => [...all].every((id) => rows.some((r) => r.value.request_id === id)),
    );
    const resps = await readSince(
      TOPICS.userResponses,
      (b) => userResponseCodec.decode(b),
      (rows) => [...all].every((id) => rows.some((r) => r.value.request_id === id)),
    );
    const reqById = new Map<string, UserRequest[]>();
    for (const r of reqs) {
      assert.equal(r.key, r.value.request_id, "key = request_id");
      reqById.set(r.value.request_id, [...(reqById.get(r.value.request_id) ?? []), r.value]);
    }
    const respById = new Map<string, UserResponse[]>();
    for (const r of resps) {
      assert.equal(r.key, r.value.request_id, "key = request_id");
      respById.set(r.value.request_id, [...(respById.get(r.value.request_id) ?? []), r.value]);
    }
    for (const [id, s] of sent) {
      assert.equal(reqById.get(id)?.length, 1, `request ${id} exactly once`);
      const out = respById.get(id) ?? [];
      assert.equal(out.length, 1, `response ${id} exactly once`);
      assert.equal(out[0].status, s.status, `status of ${id}`);
      assert.ok(out[0].latency_ms >= 0);
      if (s.productIds) assert.deepEqual(out[0].product_ids, s.productIds, `product ids of ${id}`);
    }
    const searches = [...reqById.values()].flat().filter((r) =>
      all.has(r.request_id) && r.path.startsWith("/products/search") && r.query?.includes(TOKEN)
    );
    assert.ok(searches.length >= 10, "searches carry their query");
    assert.ok(
      searches.every((r) => r.user_id === (anonymous.has(r.request_id) ? undefined : USER)),
    );
  },
);

Deno.test(
  "final:clients: simulated users go through the API; their events land",
  opts,
  async () => {
    await setup();
    const first = 700_000_000 + Math.floor(Math.random() * 1e8);
    const out = await runTask("final:clients", [
      "--users",
      "3",
      "--sessions",
      "3",
      "--seed",
      "7",
      "--think-ms",
      "0",
      "--url",
      base,
      "--first-user",
      String(first),
    ]);
    assert.equal(out.code, 0, out.stderr + out.stdout);
    const m = /events: view (\d+), add_to_cart (\d+) .*purchase (\d+) .*review (\d+)/.exec(
      out.stdout,
    );
    assert.ok(m, out.stdout);
    const [view, cart, purchase, review] = m.slice(1).map(Number);
    assert.ok(view > 0, out.stdout);
    assert.ok(view >= cart && cart >= purchase && purchase >= review, "the funnel narrows");
    assert.match(out.stdout, /searches: \d+, found nothing: \d+/);
    const users = new Set([0, 1, 2].map((i) => `user-${first + i}`));
    const total = view + cart + purchase + review;
    const rows = await readSince(
      TOPICS.userEvents,
      (b) => userEventCodec.decode(b),
      (rows) => rows.filter((r) => users.has(r.value.user_id)).length >= total,
    );
    const mine = rows.filter((r) => users.has(r.value.user_id)).map((r) => r.value);
    assert.equal(mine.length, total, "every action the simulation reports is in user-events");
    assert.equal(mine.filter((e) => e.type === "purchase").length, purchase);
    assert.ok(mine.every((e) => e.session_id.startsWith(`s-${e.user_id}-`)));
  },
);

Deno.test(
  "CLIENT API: cleanup (this run's products; the service stops cleanly)",
  opts,
  async () => {
    await setup();
    assert.equal((await fetch(`${base}/healthz`)).status, 200, "still up after everything");
    await psql(`delete from products where product_id like ${lit(`ct-${RUN}-%`)}`);
    api.child.kill("SIGTERM");
    const { status, stderr } = await api.done();
    assert.equal(status.code, 0, stderr);
    assert.ok(api.lines.some((l) => l.startsWith("CLIENT API stopped")), api.lines.join("\n"));
  },
);
