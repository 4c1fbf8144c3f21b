/**
 * The final project's front door on the real secure cluster: `final:setup` (topics, ACLs, store
 * keys), the ACL matrix of cluster A against the requirement written out in the test (not the
 * table `final:setup` applies), and the SHOP API end to end — the sample and generated products
 * counted in `input-products` by an admin consumer, every bad input answered 4xx with its field
 * and never produced, 401/403, and the service still serving after all of it.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { Kafka } from "kafkajs";
import {
  createKafka,
  explainKafkaError,
  KafkaAccessError,
  type KafkaClientOptions,
  readTopicRange,
  tryDescribe,
} from "../../lib/kafka/mod.ts";
import {
  FINAL_TOPICS,
  loadStoreKeys,
  PRINCIPALS,
  sampleProducts,
  type ShopApiReply,
  storeKeysFile,
  TOPICS,
} from "../../lib/marketplace/mod.ts";
import type { Product } from "../../lib/schemas/mod.ts";
import {
  consoleRecords,
  runKafkaTool,
  type SecureKafkaCluster,
  type SecureUser,
} from "../../lib/stack/mod.ts";
import { eventually, runTask, spawnTask, TEST_ENV, testStack, unique } from "../_stack.ts";

async function secureCluster() {
  const stack = await testStack({ secure: true });
  assert.ok(stack.secureKafka, "the test stack runs the secure cluster");
  return stack.secureKafka;
}

let setupDone: Promise<void> | undefined;
/** `final:setup` once per file; asserts what it prints. */
function setup(): Promise<void> {
  setupDone ??= (async () => {
    await secureCluster();
    const out = await runTask("final:setup");
    assert.equal(out.code, 0, out.stdout + out.stderr);
    assert.match(out.stdout, /Topics ready: input-products, input-products\.dlq, products/);
    // The table is the cluster's, one row per principal × resource, within 100 columns:
    // shop-api's only row grants input-products, DESCRIBE and WRITE.
    const lines = out.stdout.split("\n");
    const table = lines.slice(lines.findIndex((l) => /PRINCIPAL\s+RESOURCE\s+OPERATIONS/.test(l)));
    assert.ok(table.length > 1, out.stdout);
    for (const l of table) assert.ok(l.length <= 100, `over 100 columns: ${l}`);
    const shop = table.findIndex((l) => /^\s+shop-api\s/.test(l));
    assert.match(table[shop], /^\s+shop-api\s+input-products\s+DESCRIBE, WRITE$/);
    assert.match(table[shop + 1], /^\s+product-filter\s/, "shop-api has one row only");
    assert.match(out.stdout, /Store keys of \d+ stores in .*store-keys\.json/);
  })();
  return setupDone;
}

// ---------------------------------------------------------------- ACL matrix

/**
 * Who may read and who may write each topic of cluster A, written out from the platform's
 * requirement — never derived from FINAL_ACLS, the table `final:setup` applies, so that an
 * over-grant there fails the matrix. Only `shop-api` writes `input-products`; only
 * `product-filter` reads it and writes what comes of it (`products`, `products.blocked`,
 * `products.connect`, the DLQ), reading the forbidden list; Connect writes the forbidden list
 * (Debezium) and reads `products.connect` (the JDBC sink); the CLIENT API writes the user
 * topics and reads the recommendations, which only analytics writes; MirrorMaker only reads,
 * the topics it mirrors. Every other principal × topic: no access at all, not even DESCRIBE.
 */
const EXPECTED_ACCESS: Record<string, { read: string[]; write: string[] }> = {
  "shop-api": { read: [], write: ["input-products"] },
  "product-filter": {
    read: ["input-products", "forbidden-products"],
    write: ["products", "products.blocked", "products.connect", "input-products.dlq"],
  },
  "client-api": {
    read: ["recommendations"],
    write: ["user-requests", "user-responses", "user-events"],
  },
  "connect": { read: ["products.connect"], write: ["forbidden-products"] },
  "mirror-maker": {
    read: ["products", "user-requests", "user-responses", "user-events"],
    write: [],
  },
  "analytics": { read: [], write: ["recommendations"] },
};

/** Whether the requirement lets `principal` read (or write) `topic`. */
function expected(principal: string, topic: string, op: "read" | "write"): boolean {
  const access = EXPECTED_ACCESS[principal];
  if (!access) throw new Error(`the test's EXPECTED_ACCESS says nothing of ${principal}`);
  return access[op].includes(topic);
}

/** Whether the requirement gives `principal` any access to `topic` (READ and WRITE imply DESCRIBE). */
function anyAccess(principal: string, topic: string): boolean {
  return expected(principal, topic, "read") || expected(principal, topic, "write");
}

/**
 * Whether `topic` accepts writes from this client, without writing: a record over every topic's
 * `max.message.bytes` is refused MESSAGE_TOO_LARGE after the broker authorized the write, and
 * TOPIC_AUTHORIZATION_FAILED before.
 */
async function probeWrite(kafka: Kafka, options: KafkaClientOptions, topic: string) {
  const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
  try {
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: [{ key: "acl-probe", value: Buffer.alloc(2 * 1_048_576, 0x61) }],
    });
    return { allowed: true as const, detail: "written (topic limit above 2 MB?)" };
  } catch (err) {
    const text = `${(err as Error).message} ${(err as { type?: string }).type ?? ""}`;
    if (/MESSAGE_TOO_LARGE|larger than|too large/i.test(text)) {
      return { allowed: true as const, detail: "authorized (refused as too large)" };
    }
    return { allowed: false as const, error: explainKafkaError(err, options, `write ${topic}`) };
  } finally {
    await producer.disconnect().catch(() => {});
  }
}

/** A record a read probe of `topic` can fetch: partition and offset. */
interface ProbeTarget {
  partition: number;
  offset: string;
}

/**
 * A partition of `topic` that holds a record, for a read probe that cannot pass quietly. An
 * empty topic gets one record in a transaction the admin aborts: visible to the probe (a
 * read_uncommitted consumer), invisible to every service of the platform (all of them read at
 * read_committed: the filter and lake sink on lib/streams/kafkajs, the JDBC sink, MM2).
 */
async function recordToRead(kafka: Kafka, topic: string): Promise<ProbeTarget> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    const full = offsets.find((o) => BigInt(o.high) > BigInt(o.low));
    if (full) return { partition: full.partition, offset: full.low };
    const producer = kafka.producer({
      transactionalId: unique("final-acl-probe"),
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
    await producer.connect();
    try {
      const tx = await producer.transaction();
      await tx.send({
        topic,
        acks: -1,
        messages: [{ partition: 0, key: "acl-probe", value: "aborted record of the ACL matrix" }],
      });
      await tx.abort();
    } finally {
      await producer.disconnect();
    }
    return { partition: 0, offset: offsets.find((o) => o.partition === 0)!.low };
  } finally {
    await admin.disconnect();
  }
}

/**
 * Whether `user` may read `topic`, by Kafka's own console consumer in assign mode (no group, so
 * only the topic's ACL decides), fetching a partition known to hold a record (see
 * {@linkcode recordToRead}). The console consumer ends with exit code 0 even when the broker
 * refused the fetch (it logs "Not authorized to read from partition …" and stops), so the
 * answer is read from its output: the record printed → allowed; TOPIC_AUTHORIZATION_FAILED →
 * denied by an ACL; anything else, an empty read above all, is a failure of the probe.
 */
async function probeRead(
  cluster: SecureKafkaCluster,
  user: SecureUser,
  topic: string,
  target: ProbeTarget,
) {
  let out: string;
  try {
    out = await runKafkaTool("org.apache.kafka.tools.consumer.ConsoleConsumer", [
      "--bootstrap-server",
      cluster.bootstrap(),
      "--consumer.config",
      cluster.secrets().javaClientProperties[user],
      "--topic",
      topic,
      "--partition",
      String(target.partition),
      "--offset",
      target.offset,
      "--max-messages",
      "1",
      "--timeout-ms",
      "10000",
      "--property",
      "print.partition=true",
      "--property",
      "print.offset=true",
    ], { what: `read ${topic} as ${user}` });
  } catch (err) {
    out = String((err as Error).message);
  }
  if (/TopicAuthorizationException|Not authorized to read from partition/.test(out)) {
    return {
      allowed: false as const,
      error: new KafkaAccessError(
        "authorization",
        out.split("\n").find((l) => /Not authorized|Exception/.test(l)) ?? out.slice(0, 300),
      ),
    };
  }
  const read = out.split("\n").filter((l) => /^Partition:\d+\s+Offset:\d+/.test(l));
  if (read.length > 0) return { allowed: true as const, detail: read[0].slice(0, 80) };
  return {
    allowed: false as const,
    error: new KafkaAccessError(
      "other",
      `probe read nothing from ${topic}-${target.partition} at ${target.offset} ` +
        `(a record is there): ${out.trim().slice(-300) || "(no output)"}`,
    ),
  };
}

async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

Deno.test({
  name: "final: ACL matrix — every principal, an unknown user and plaintext × every final topic",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const cluster = await secureCluster();
    await setup();
    const topics = FINAL_TOPICS.map((t) => t.topic);
    const principals = Object.values(PRINCIPALS);
    assert.deepEqual(Object.keys(EXPECTED_ACCESS).sort(), [...principals].sort());
    const mismatches: string[] = [];
    const note = (cell: string, expected: boolean, res: { allowed: boolean; error?: Error }) => {
      if (res.allowed !== expected) {
        mismatches.push(
          `${cell}: expected ${expected ? "allowed" : "denied"}, got ${
            res.allowed ? "allowed" : `denied (${res.error?.message})`
          }`,
        );
      } else if (!res.allowed && (res.error as { kind?: string })?.kind !== "authorization") {
        mismatches.push(`${cell}: denied, but not by an ACL: ${res.error?.message}`);
      }
    };
    const counted = { describeRefused: 0, writes: 0, readsAllowed: 0, readsRefused: 0 };
    /** Topic → the principals whose write probe the cluster authorized. */
    const writers = new Map<string, string[]>(topics.map((t) => [t, []]));
    // Every topic holds a record the read probes fetch (an aborted one where it was empty).
    const adminKafka = createKafka({ ...cluster.clientOptions("admin"), logLevel: "NOTHING" });
    const targets = new Map<string, ProbeTarget>();
    for (const t of topics) targets.set(t, await recordToRead(adminKafka, t));

    const jobs = principals.flatMap((p) => topics.map((t) => ({ p, t })));
    await pool(jobs, 3, async ({ p, t }) => {
      const opts = { ...cluster.clientOptions(p), logLevel: "NOTHING" as const, retries: 1 };
      const kafka = createKafka(opts);
      const read = expected(p, t, "read"), write = expected(p, t, "write");
      if (!anyAccess(p, t)) {
        // READ and WRITE both imply DESCRIBE: a refused DESCRIBE proves both denied.
        note(`${p} ${t} read+write`, false, await tryDescribe(kafka, opts, t));
        counted.describeRefused++;
        return;
      }
      const written = await probeWrite(kafka, opts, t);
      note(`${p} ${t} write`, write, written);
      if (written.allowed) writers.get(t)!.push(p);
      counted.writes++;
      // The principal may describe the topic: the fetch itself must be refused (or answered).
      note(`${p} ${t} read`, read, await probeRead(cluster, p, t, targets.get(t)!));
      if (read) counted.readsAllowed++;
      else counted.readsRefused++;
    });
    // An unknown user and a plaintext client reach no topic at all.
    const good = cluster.clientOptions("shop-api");
    const outsiders: [string, KafkaClientOptions, string][] = [
      ["unknown user", { ...good, username: "mallory", password: "guess" }, "authentication"],
      ["plaintext", { brokers: good.brokers, securityProtocol: "PLAINTEXT" }, "tls-expected"],
    ];
    for (const [who, o, kind] of outsiders) {
      const opts = { ...o, logLevel: "NOTHING" as const, retries: 0, connectionTimeout: 5_000 };
      const kafka = createKafka(opts);
      await pool(topics, 5, async (t) => {
        const d = await tryDescribe(kafka, opts, t);
        if (d.allowed) mismatches.push(`${who} ${t}: allowed`);
        else if (d.error.kind !== kind) {
          mismatches.push(
            `${who} ${t}: refused as ${d.error.kind}, not ${kind}: ${d.error.message}`,
          );
        }
      });
    }
    assert.deepEqual(mismatches, [], mismatches.join("\n"));
    // Every cell was probed, and the table is not vacuous: reads refused on topics the principal
    // may describe (e.g. shop-api on input-products, analytics on recommendations) were really
    // tried; exactly one principal writes input-products, one writes products.
    assert.equal(
      counted.describeRefused + counted.writes,
      principals.length * topics.length,
      JSON.stringify(counted),
    );
    assert.equal(counted.writes, counted.readsAllowed + counted.readsRefused);
    assert.ok(counted.readsRefused >= 2 && counted.readsAllowed >= 2, JSON.stringify(counted));
    // The requirement's headline, as the cluster answered the write probes.
    assert.deepEqual(writers.get(TOPICS.inputProducts), [PRINCIPALS.shopApi]);
    assert.deepEqual(writers.get(TOPICS.products), [PRINCIPALS.productFilter]);
    const mirrorWrites = topics.filter((t) => writers.get(t)!.includes(PRINCIPALS.mirrorMaker));
    assert.deepEqual(mirrorWrites, [], "mirror-maker only reads");
    console.log(`ACL matrix: ${JSON.stringify(counted)}`);
  },
});

// ---------------------------------------------------------------- SHOP API

interface Running {
  url: string;
  keys: Record<string, string>;
  stop: () => Promise<void>;
}

async function startShopApi(): Promise<Running> {
  await setup();
  const keys = await loadStoreKeys(storeKeysFile(TEST_ENV.STACK_DIR));
  const info = await Deno.stat(storeKeysFile(TEST_ENV.STACK_DIR));
  assert.equal(info.mode! & 0o077, 0, "store keys are readable by their owner only");
  const listener = Deno.listen({ port: 0, hostname: "127.0.0.1" });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const task = await spawnTask("final:shop-api", [], { SHOP_API_PORT: String(port) });
  const url = `http://127.0.0.1:${port}`;
  await eventually(
    () => fetch(`${url}/healthz`).then((r) => r.body?.cancel().then(() => r.ok), () => false),
    60_000,
    "the SHOP API's /healthz",
  );
  return {
    url,
    keys,
    stop: async () => {
      task.child.kill("SIGTERM");
      const { status, stderr } = await task.done();
      assert.equal(status.code, 0, `final:shop-api exits cleanly: ${stderr}`);
    },
  };
}

async function post(
  api: Running,
  body: BodyInit,
  opts: { key?: string | null; store?: string; requestId?: string; type?: string } = {},
): Promise<{ status: number; body: ShopApiReply & { error?: string } }> {
  const key = opts.key === undefined ? api.keys[opts.store ?? "store_001"] : opts.key;
  const headers: Record<string, string> = { "content-type": opts.type ?? "application/json" };
  if (key !== null) headers.authorization = `Bearer ${key}`;
  if (opts.requestId) headers["x-request-id"] = opts.requestId;
  const res = await fetch(`${api.url}/products`, { method: "POST", headers, body });
  return { status: res.status, body: await res.json() };
}

/** Records of input-products from `from` offsets to the current end, read as admin. */
async function readInputProducts(from: Map<number, string>) {
  const cluster = await secureCluster();
  const kafka = createKafka({ ...cluster.clientOptions("admin"), logLevel: "NOTHING" });
  const records = await readTopicRange(kafka, {
    topics: [TOPICS.inputProducts],
    from: { [TOPICS.inputProducts]: Object.fromEntries([...from].map(([p, o]) => [p, Number(o)])) },
  });
  return records.map((r) => ({
    partition: r.partition,
    offset: String(r.offset),
    key: r.key?.toString() ?? "",
    value: r.value?.toString() ?? "",
    headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, String(v)])),
  }));
}

async function endOffsets(): Promise<Map<number, string>> {
  const cluster = await secureCluster();
  const admin = createKafka({ ...cluster.clientOptions("admin"), logLevel: "NOTHING" }).admin();
  await admin.connect();
  try {
    return new Map(
      (await admin.fetchTopicOffsets(TOPICS.inputProducts)).map((o) => [o.partition, o.high]),
    );
  } finally {
    await admin.disconnect();
  }
}

function validProduct(store = "store_001", id = unique("p")): Product {
  return { ...sampleProducts()[0], product_id: id, store_id: store };
}

Deno.test({
  name:
    "final: SHOP API — sample and generated products land in input-products, bad input never does",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const api = await startShopApi();
    const run = unique("shop");
    try {
      const before = await endOffsets();
      const sample = sampleProducts();

      // 1. The sample, each store with its own key, as JSON arrays.
      const replies = new Map<string, { partition: number; offset: string }>();
      for (const store of new Set(sample.map((p) => p.store_id))) {
        const mine = sample.filter((p) => p.store_id === store);
        const res = await post(api, JSON.stringify(mine), { store, requestId: `${run}-sample` });
        assert.equal(res.status, 202, JSON.stringify(res.body));
        assert.equal(res.body.accepted, mine.length);
        res.body.results.forEach((r) => {
          assert.equal(r.status, 202);
          assert.ok(Number.isInteger(r.partition) && BigInt(r.offset!) >= 0n, JSON.stringify(r));
          replies.set(mine[r.index].product_id, { partition: r.partition!, offset: r.offset! });
        });
      }
      // NDJSON too.
      const nd = [validProduct(), validProduct()];
      const ndRes = await post(api, nd.map((p) => JSON.stringify(p)).join("\n") + "\n", {
        type: "application/x-ndjson",
        requestId: `${run}-ndjson`,
      });
      assert.equal(ndRes.status, 202, JSON.stringify(ndRes.body));
      assert.equal(ndRes.body.accepted, 2);

      // 2. Every bad input: 4xx naming the field, and the service keeps serving.
      const big = { ...validProduct(), description: "д".repeat(1_048_576) }; // 2 MB of UTF-8
      const { product_id: _, ...noId } = validProduct();
      const bad: [string, BodyInit, number, string, Parameters<typeof post>[2]?][] = [
        ["not JSON", "{not json", 400, "body"],
        ["[]", "[]", 400, "body"],
        ['""', '""', 400, "(record)"],
        ["empty body", "", 400, "body"],
        ["required field missing", JSON.stringify(noId), 400, "product_id"],
        [
          "product_id a number",
          JSON.stringify({ ...validProduct(), product_id: 78490 }),
          400,
          "product_id",
        ],
        [
          "price.amount a string",
          JSON.stringify({ ...validProduct(), price: { amount: "4999", currency: "RUB" } }),
          400,
          "price.amount",
        ],
        [
          "price.amount negative",
          JSON.stringify({ ...validProduct(), price: { amount: -1, currency: "RUB" } }),
          400,
          "price.amount",
        ],
        ["stock null", JSON.stringify({ ...validProduct(), stock: null }), 400, "stock"],
        ["2 MB description", JSON.stringify(big), 413, "description"],
        [
          "invalid UTF-8",
          new Uint8Array([
            ...new TextEncoder().encode(JSON.stringify(validProduct()).slice(0, -1) + ',"x":"'),
            0xff,
            0xfe,
            ...new TextEncoder().encode('"}'),
          ]),
          400,
          "body",
        ],
        [
          "another store's store_id",
          JSON.stringify(validProduct("store_002")),
          403,
          "store_id",
        ],
      ];
      for (const [what, body, status, field, opts] of bad) {
        const res = await post(api, body, { requestId: `${run}-bad`, ...opts });
        assert.equal(res.status, status, `${what}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.accepted, 0, what);
        assert.equal(res.body.results[0].field, field, `${what}: ${JSON.stringify(res.body)}`);
        assert.ok(res.body.results[0].error, what);
        const health = await fetch(`${api.url}/healthz`);
        assert.equal(health.status, 200, `still healthy after ${what}`);
        await health.body?.cancel();
      }
      // A mixed batch: the valid one produced, the invalid one said per record.
      const good = validProduct();
      const mixed = await post(
        api,
        JSON.stringify([good, { ...validProduct(), stock: null }, validProduct("store_003")]),
        { requestId: `${run}-mixed` },
      );
      assert.equal(mixed.status, 207, JSON.stringify(mixed.body));
      assert.deepEqual(mixed.body.results.map((r) => r.status), [202, 400, 403]);
      // 401: no key, a wrong key (nothing read, nothing produced).
      const noKey = await post(api, JSON.stringify(validProduct()), { key: null });
      assert.equal(noKey.status, 401);
      assert.match(noKey.body.error!, /missing store key/);
      const wrongKey = await post(api, JSON.stringify(validProduct()), { key: "x".repeat(43) });
      assert.equal(wrongKey.status, 401);
      assert.match(wrongKey.body.error!, /unknown store key/);
      const xKey = await fetch(`${api.url}/products`, {
        method: "POST",
        headers: { "x-store-key": api.keys.store_004, "x-request-id": `${run}-xkey` },
        body: JSON.stringify(validProduct("store_004")),
      });
      assert.equal(xKey.status, 202, "X-Store-Key works as well");
      await xKey.body?.cancel();

      // 3. final:shop (the seed's producer_shop_api) with generated products.
      const seed = Math.floor(Math.random() * 2 ** 31);
      const shop = await runTask("final:shop", [
        "--url",
        api.url,
        "--generate",
        "30",
        "--seed",
        String(seed),
      ]);
      assert.equal(shop.code, 0, shop.stdout + shop.stderr);
      assert.match(shop.stdout, /accepted 30, refused 0/);

      // 4. What input-products really holds, read as admin.
      const records = await readInputProducts(before);
      const ours = (id: string) => records.filter((r) => r.headers["request-id"] === id);
      const sampleRecords = ours(`${run}-sample`);
      assert.equal(sampleRecords.length, sample.length, "each sample product exactly once");
      assert.deepEqual(
        sampleRecords.map((r) => r.key).sort(),
        sample.map((p) => p.product_id).sort(),
      );
      for (const r of sampleRecords) {
        const p = sample.find((s) => s.product_id === r.key)!;
        assert.deepEqual(JSON.parse(r.value), p, `value of ${r.key} as sent (Unicode intact)`);
        assert.equal(r.headers["store-id"], p.store_id);
        assert.deepEqual(replies.get(r.key), { partition: r.partition, offset: r.offset });
      }
      assert.equal(ours(`${run}-ndjson`).length, 2);
      assert.equal(ours(`${run}-bad`).length, 0, "no bad input reached input-products");
      assert.deepEqual(ours(`${run}-mixed`).map((r) => r.key), [good.product_id]);
      assert.equal(ours(`${run}-xkey`).length, 1);
      const generated = records.filter((r) => r.key.startsWith(`gen-${seed}-`));
      assert.equal(new Set(generated.map((r) => r.key)).size, 30);
      assert.equal(generated.length, 30);

      // 5. Metrics count what happened.
      const metrics = await (await fetch(`${api.url}/metrics`)).text();
      const sum = (name: string) =>
        metrics.split("\n").filter((l) => l.startsWith(name)).reduce(
          (n, l) => n + Number(l.split(" ").at(-1)),
          0,
        );
      assert.equal(sum("shop_api_products_accepted_total"), sample.length + 2 + 1 + 1 + 30);
      assert.equal(sum("shop_api_products_refused_total"), bad.length + 2);
    } finally {
      await api.stop();
    }
  },
});

Deno.test({
  name:
    "final: stores without code — add → 202, rotate → old key 401 and new 202, revoke → 401, the SHOP API running throughout",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const api = await startShopApi();
    const run = unique("stores");
    const store = unique("store").replaceAll("-", "_");
    const file = storeKeysFile(TEST_ENV.STACK_DIR);
    /** Posts as `store` with `key`: a product (id `<run>-<tag>`), or `[]` (nothing to produce). */
    const send = async (key: string, tag: string, body?: string) => {
      const res = await fetch(`${api.url}/products`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${key}`,
          "content-type": "application/json",
          "x-request-id": `${run}-${tag}`,
        },
        body: body ?? JSON.stringify(validProduct(store, `${run}-${tag}`)),
      });
      await res.body?.cancel();
      return res.status;
    };
    /** A key the SHOP API refuses from now on: `[]` with it is 401, no more 400 (authorized). */
    const refused = (key: string, what: string) =>
      eventually(async () => await send(key, "poll", "[]") === 401, 10_000, what);
    const keyOf = (out: { code: number; stdout: string; stderr: string }) => {
      assert.equal(out.code, 0, out.stdout + out.stderr);
      const key = out.stdout.match(/^ {2}([A-Za-z0-9_-]{43})$/m)?.[1];
      assert.ok(key, `the key printed once: ${out.stdout}`);
      return key;
    };
    try {
      // add: the new store sends at once, no restart.
      const first = keyOf(await runTask("final:stores", ["add", store]));
      assert.equal(await send(first, "added"), 202, "a store just added sends at once");
      const list = await runTask("final:stores", ["list"]);
      assert.equal(list.code, 0, list.stderr);
      assert.match(
        list.stdout,
        new RegExp(`^ {2}${store}\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC$`, "m"),
      );
      assert.ok(!list.stdout.includes(first), "list never prints a key");
      assert.equal((await Deno.stat(file)).mode! & 0o077, 0, "still readable by its owner only");

      // rotate: the old key refused within seconds, the new one taken at once.
      const second = keyOf(await runTask("final:stores", ["rotate", store]));
      assert.notEqual(second, first);
      assert.equal(await send(second, "rotated"), 202, "the new key works at once");
      await refused(first, "the rotated-out key refused");
      assert.equal(await send(first, "old-key"), 401);

      // revoke: the store's key refused within seconds.
      const revoked = await runTask("final:stores", ["revoke", store]);
      assert.equal(revoked.code, 0, revoked.stdout + revoked.stderr);
      await refused(second, "the revoked key refused");
      assert.equal(await send(second, "revoked"), 401);
      assert.ok(!(await runTask("final:stores", ["list"])).stdout.includes(store));

      // What input-products holds, read by Kafka's own console consumer as admin: each 202
      // exactly once, with its store; nothing of a 401 or of the polls.
      const cluster = await secureCluster();
      const records = (await consoleRecords(TOPICS.inputProducts, {
        kafka: cluster.clientOptions("admin"),
        commandConfig: cluster.secrets().javaClientProperties.admin,
      })).filter((r) => r.headers["request-id"]?.startsWith(`${run}-`));
      const tags = records.map((r) => r.headers["request-id"].slice(run.length + 1)).sort();
      assert.deepEqual(tags, ["added", "rotated"], JSON.stringify(records));
      for (const r of records) {
        assert.equal(r.headers["store-id"], store);
        assert.equal(r.key, `${r.headers["request-id"]}`);
        assert.equal(JSON.parse(r.value!).store_id, store);
      }
    } finally {
      await runTask("final:stores", ["revoke", store]);
      await api.stop();
    }
  },
});
