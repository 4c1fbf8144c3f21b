/**
 * Pure parts of the CLIENT API and the simulated users: user ids, search words and SQL,
 * event bodies (each refusal names its field), routes, catalogue prices, the recommendations
 * table's upsert/delete/skip, and the simulation's PRNG, Zipf law and session plans.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { Kafka } from "kafkajs";
import {
  checkUserId,
  ClientRequestError,
  likePattern,
  matchClientRoute,
  mulberry32,
  parseEventBody,
  planSession,
  priceOf,
  RecommendationsTable,
  runSimulation,
  searchIndexSql,
  searchSql,
  searchTerms,
  thinkTime,
  Zipf,
} from "../../lib/marketplace/mod.ts";
import { recommendationCodec } from "../../lib/schemas/mod.ts";

function refusal(fn: () => unknown): ClientRequestError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ClientRequestError, String(err));
    return err;
  }
  assert.fail("expected a refusal");
}

Deno.test("checkUserId: known ids pass; missing and unknown ones name the field", () => {
  assert.equal(checkUserId("user-42", "X-User-Id"), "user-42");
  assert.equal(refusal(() => checkUserId(null, "X-User-Id")).field, "X-User-Id");
  assert.equal(refusal(() => checkUserId("  ", "X-User-Id")).field, "X-User-Id");
  const r = refusal(() => checkUserId("bob", "user_id"));
  assert.equal(r.field, "user_id");
  assert.match(r.message, /not a known user/);
  assert.equal(refusal(() => checkUserId("user-1234567890123", "u")).status, 400);
  assert.equal(checkUserId("bob", "u", /^[a-z]+$/), "bob");
});

Deno.test("searchTerms: NFC words; missing, blank, long and wordy q refused", () => {
  assert.deepEqual(searchTerms("  Смартфон   Galaxy "), ["Смартфон", "Galaxy"]);
  // "й" typed as и + combining breve becomes one character.
  assert.deepEqual(searchTerms("чаи\u0306"), ["чай"]);
  assert.equal(refusal(() => searchTerms(null)).field, "q");
  assert.equal(refusal(() => searchTerms(" \t")).field, "q");
  assert.equal(refusal(() => searchTerms("я".repeat(201))).field, "q");
  assert.doesNotThrow(() => searchTerms("😀".repeat(200))); // characters, not UTF-16 units
  assert.equal(refusal(() => searchTerms("a b c d e f g h i")).field, "q");
});

Deno.test("likePattern and searchSql: wildcards literal, one parameter per word, limit last", () => {
  assert.equal(likePattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
  const sql = searchSql(["смартфон", "50%"], 7);
  assert.deepEqual(sql.values, ["%смартфон%", "%50\\%%", 7]);
  assert.match(sql.text, /LIMIT \$3\)/);
  assert.match(sql.text, /FROM products p/);
  // Each word: once in the WHERE (on the indexed search text), four times in the rank.
  assert.equal((sql.text.match(/LIKE translate\(lower\(\$1\)/g) ?? []).length, 5);
  assert.match(
    sql.text,
    /WHERE p\.search_text LIKE translate\(lower\(\$1\)[\s\S]* AND p\.search_text LIKE translate\(lower\(\$2\)/,
  );
  assert.throws(() => searchSql(["x"], 1, "products; drop"), /identifier/);
  // A named statement: one name per text (pg refuses a name reused for another text).
  assert.equal(sql.name, searchSql(["a", "b"], 20).name);
  assert.notEqual(sql.name, searchSql(["a"], 7).name);
  assert.notEqual(sql.name, searchSql(["a", "b"], 7, "other").name);
  // The index is over exactly the search text the WHERE matches (else PostgreSQL ignores it):
  // the stored column, which every word of the WHERE compares, and nothing else.
  const [ext, column, index] = searchIndexSql("products");
  assert.equal(ext, "CREATE EXTENSION IF NOT EXISTS pg_trgm");
  const indexed = /USING gin \((.*) gin_trgm_ops\)$/.exec(index)![1];
  const where = /WHERE ([\s\S]*)\n {2}ORDER BY/.exec(sql.text)![1].split(/\s+AND\s+/);
  assert.equal(where.length, 2);
  for (const w of where) assert.equal(/^(\S+) LIKE /.exec(w.trim())![1], `p.${indexed}`);
  assert.match(column, new RegExp(`ADD COLUMN IF NOT EXISTS ${indexed} text GENERATED ALWAYS AS`));
  assert.match(column, /\) STORED$/);
  assert.throws(() => searchIndexSql("products; drop"), /identifier/);
});

Deno.test("priceOf: the sink's flattened column, nested or JSON text", () => {
  assert.equal(priceOf({ price_amount: 12.5 }), 12.5);
  assert.equal(priceOf({ price: { amount: 3, currency: "RUB" } }), 3);
  assert.equal(priceOf({ price: '{"amount": 7}' }), 7);
  assert.equal(priceOf({ price_amount: -1 }), undefined);
  assert.equal(priceOf({ name: "x" }), undefined);
});

Deno.test("parseEventBody: valid events; each malformed one names its field", () => {
  const now = new Date("2025-05-01T10:00:00Z");
  const view = parseEventBody({ type: "view", product_id: "p1" }, "user-1", "s1", now);
  assert.equal(view.user_id, "user-1");
  assert.equal(view.session_id, "s1");
  assert.equal(view.at, now.toISOString());
  assert.ok(view.event_id.length > 0);
  const review = parseEventBody(
    { type: "review", product_id: "p1", session_id: "s2", rating: 4, text: "Хорошо 👍" },
    "user-1",
  );
  assert.equal(review.session_id, "s2");
  assert.equal(review.rating, 4);
  const cases: [unknown, string][] = [
    [[], "body"],
    ["view", "body"],
    [null, "body"],
    [{ product_id: "p1", session_id: "s" }, "type"],
    [{ type: "like", product_id: "p1", session_id: "s" }, "type"],
    [{ type: "view", session_id: "s" }, "product_id"],
    [{ type: "view", product_id: 42, session_id: "s" }, "product_id"],
    [{ type: "view", product_id: "p1" }, "session_id"],
    [{ type: "view", product_id: "p1", session_id: "a b" }, "session_id"],
    [{ type: "add_to_cart", product_id: "p1", session_id: "s" }, "quantity"],
    [{ type: "purchase", product_id: "p1", session_id: "s", quantity: 0 }, "quantity"],
    [{ type: "purchase", product_id: "p1", session_id: "s", quantity: 1.5 }, "quantity"],
    [{ type: "view", product_id: "p1", session_id: "s", quantity: 1 }, "quantity"],
    [{ type: "review", product_id: "p1", session_id: "s" }, "rating"],
    [{ type: "review", product_id: "p1", session_id: "s", rating: 6 }, "rating"],
    [{ type: "view", product_id: "p1", session_id: "s", rating: 3 }, "rating"],
    [{ type: "view", product_id: "p1", session_id: "s", text: "hi" }, "text"],
    [{ type: "purchase", product_id: "p1", session_id: "s", quantity: 1, price: -2 }, "price"],
    [{ type: "view", product_id: "p1", session_id: "s", at: "now" }, "at"],
  ];
  for (const [body, field] of cases) {
    const r = refusal(() => parseEventBody(body, "user-1", null, now));
    assert.equal(r.field, field, `${JSON.stringify(body)}: ${r.message}`);
    assert.equal(r.status, 400);
  }
  // Another user's event: the token's user acts only as itself (403).
  const other = { type: "view", product_id: "p1", session_id: "s", user_id: "user-2" };
  const r = refusal(() => parseEventBody(other, "user-1", null, now));
  assert.deepEqual([r.field, r.status], ["user_id", 403]);
  assert.equal(parseEventBody({ ...other, user_id: "user-1" }, "user-1").user_id, "user-1");
});

Deno.test("matchClientRoute: routes, path parameters decoded", () => {
  assert.equal(matchClientRoute("GET", "/products/search")?.route, "search");
  assert.deepEqual(matchClientRoute("GET", "/products/%D0%BF1"), {
    route: "product",
    param: "п1",
    allowed: "GET",
  });
  assert.equal(matchClientRoute("GET", "/users/user-1/recommendations")?.param, "user-1");
  assert.equal(matchClientRoute("POST", "/events")?.allowed, "POST");
  assert.equal(matchClientRoute("GET", "/users/user-1"), undefined);
  assert.equal(matchClientRoute("GET", "/products/%E0%A4%A")?.param, "%E0%A4%A");
});

Deno.test("RecommendationsTable.apply: latest per user, tombstone deletes, bad records skipped", () => {
  const skipped: string[] = [];
  const table = new RecommendationsTable({} as Kafka, { onSkip: (s) => skipped.push(s.error) });
  const rec = (user: string, model: string) =>
    Buffer.from(recommendationCodec.encode({
      user_id: user,
      products: [{ product_id: "p1", score: 0.9, reason: "co-purchase" }],
      model,
      generated_at: "2025-05-01T10:00:00Z",
    }));
  table.apply(0, "0", Buffer.from("user-1"), rec("user-1", "v1"));
  table.apply(0, "1", Buffer.from("user-1"), rec("user-1", "v2"));
  table.apply(1, "0", Buffer.from("user-2"), rec("user-2", "v1"));
  assert.equal(table.get("user-1")?.model, "v2");
  assert.equal(table.size, 2);
  table.apply(1, "1", Buffer.from("user-2"), null);
  assert.equal(table.get("user-2"), undefined);
  table.apply(0, "2", Buffer.from("user-3"), Buffer.from("{not json"));
  table.apply(0, "3", null, rec("user-4", "v1"));
  table.apply(0, "4", Buffer.from("user-5"), rec("user-6", "v1")); // key ≠ user_id
  assert.equal(table.skipped, 3);
  assert.equal(skipped.length, 3);
  assert.equal(table.size, 1);
  assert.equal(table.caughtUp, false, "not caught up before start() learned the end offsets");
});

Deno.test("mulberry32 and Zipf: reproducible, skewed towards the first ranks", () => {
  const a = mulberry32(7), b = mulberry32(7), c = mulberry32(8);
  const seqA = Array.from({ length: 5 }, a);
  assert.deepEqual(seqA, Array.from({ length: 5 }, b));
  assert.notDeepEqual(seqA, Array.from({ length: 5 }, c));
  const zipf = new Zipf(100, 1.1);
  const rng = mulberry32(1);
  const counts = new Array(100).fill(0);
  for (let i = 0; i < 20_000; i++) counts[zipf.sample(rng)]++;
  // P(rank 0) = 1 / H(100, 1.1) ≈ 0.22; rank 0 beats rank 9 by about 10^1.1 ≈ 12.6×.
  assert.ok(counts[0] / 20_000 > 0.18 && counts[0] / 20_000 < 0.26, String(counts[0]));
  assert.ok(counts[0] / counts[9] > 8 && counts[0] / counts[9] < 18, `${counts[0]}/${counts[9]}`);
  assert.ok(counts[0] > counts[1] && counts[1] > counts[5] && counts[5] > counts[50]);
  assert.throws(() => new Zipf(0), /'n' must be a positive integer/);
});

Deno.test("thinkTime: exponential with the asked mean, never NaN or negative; bad means refused", async () => {
  const rng = mulberry32(5);
  const draws = Array.from({ length: 20_000 }, () => thinkTime(rng, 150));
  assert.ok(draws.every((d) => Number.isFinite(d) && d >= 0), "finite, ≥ 0");
  const mean = draws.reduce((s, d) => s + d, 0) / draws.length;
  assert.ok(mean > 142 && mean < 158, `mean ${mean} (asked 150)`);
  // Exponential: P(d > mean) = 1/e ≈ 0.37, and the median ≈ 0.69 × mean.
  const above = draws.filter((d) => d > 150).length / draws.length;
  assert.ok(above > 0.34 && above < 0.40, `P(> mean) ${above}`);
  assert.equal(thinkTime(mulberry32(5), 0), 0);
  for (const thinkMs of [NaN, -1, Infinity]) {
    await assert.rejects(
      runSimulation({ baseUrl: "http://127.0.0.1:1", token: () => Promise.resolve(""), thinkMs }),
      /'thinkMs' must be a finite number ≥ 0/,
    );
  }
});

Deno.test("planSession: same seed same plan; the funnel only narrows; some searches find nothing", () => {
  const plans = (seed: number) => {
    const rng = mulberry32(seed);
    return Array.from({ length: 400 }, () => planSession(rng, 50));
  };
  assert.deepEqual(plans(3), plans(3));
  assert.notDeepEqual(plans(3), plans(4));
  const steps = plans(3).flat();
  const viewed = steps.filter((s) => s.op !== "recommendations") as Extract<
    typeof steps[number],
    { funnel: unknown }
  >[];
  const carts = viewed.filter((s) => s.funnel.cart).length;
  const purchases = viewed.filter((s) => s.funnel.purchase).length;
  const reviews = viewed.filter((s) => s.funnel.review).length;
  assert.ok(viewed.length > carts && carts > purchases && purchases > reviews && reviews > 0);
  assert.ok(viewed.every((s) => !s.funnel.purchase || s.funnel.cart));
  assert.ok(viewed.every((s) => !s.funnel.review || s.funnel.purchase));
  const searches = steps.filter((s) => s.op === "search");
  const empty = searches.filter((s) => s.op === "search" && s.expectEmpty).length;
  assert.ok(empty > 0 && empty < searches.length * 0.25, `${empty}/${searches.length}`);
  assert.ok(steps.some((s) => s.op === "recommendations"));
  assert.ok(
    viewed.every((s) => s.op !== "browse" || (s.productRank >= 0 && s.productRank < 50)),
  );
});
