/**
 * The console's pure parts, without a stack: password hashes, CONSOLE_USERS, sessions and
 * their cookie, CSRF comparison, the login limiter, the form parsers (each failure names its
 * field), record decoding (schemas, dead letters), the offset-reset form, CONSOLE_CONNECT, and
 * HTML escaping of the Connect, ACL and reset views.
 */
import assert from "node:assert/strict";
import {
  aclsTable,
  connectorsTable,
  csrfMatches,
  decodeRecord,
  ensureConsoleUsers,
  esc,
  hashPassword,
  LoginLimiter,
  messagesList,
  parseBrowse,
  parseConsoleConnect,
  parseConsoleUsers,
  parseCreateTopic,
  parseOffsetReset,
  parseProduce,
  prettySchema,
  resetPreview,
  sessionIdOf,
  SessionStore,
  topicNameProblem,
  valueProblem,
  verifyPassword,
} from "../../lib/console/mod.ts";
import { deadLetter } from "../../lib/kafka/mod.ts";

Deno.test("password hashes: verify the right password only; salted; short passwords refused", async () => {
  const h = await hashPassword("correct horse", 10_000);
  assert.match(h, /^pbkdf2-sha256\$10000\$/);
  assert.equal(await verifyPassword("correct horse", h), true);
  assert.equal(await verifyPassword("correct hors", h), false);
  assert.equal(await verifyPassword("correct horse", "plain"), false);
  assert.notEqual(await hashPassword("correct horse", 10_000), h, "a fresh salt each time");
  await assert.rejects(() => hashPassword("short"), /8\+ characters/);
});

Deno.test("CONSOLE_USERS: name:role:hash entries; each mistake names the entry and what is wrong", async () => {
  const h = await hashPassword("password-1", 10_000);
  const users = parseConsoleUsers(`alice:admin:${h};\nbob:viewer:${h}`);
  assert.deepEqual([...users.values()].map((u) => [u.name, u.role]), [
    ["alice", "admin"],
    ["bob", "viewer"],
  ]);
  assert.throws(() => parseConsoleUsers(`alice:root:${h}`), /entry 1 \(alice\).*role.*'root'/);
  assert.throws(() => parseConsoleUsers("alice:admin:secret"), /hash must be pbkdf2-sha256/);
  assert.throws(() => parseConsoleUsers(`a b:admin:${h}`), /name must be/);
  assert.throws(() => parseConsoleUsers(`a:admin:${h};a:viewer:${h}`), /twice/);
  assert.throws(() => parseConsoleUsers(" ; "), /names no user/);
});

Deno.test("users file: generated once (0600) with admin and viewer whose passwords work", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/secrets/console/users.json`;
    const first = await ensureConsoleUsers(file, { get: () => undefined });
    assert.ok(first.generated);
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    const lines = (await Deno.readTextFile(first.generated!)).split("\n").filter((l) =>
      /^\w+ /.test(l)
    );
    for (const line of lines) {
      const [name, password] = line.split(" ");
      assert.equal(await verifyPassword(password, first.users.get(name)!.hash), true, name);
    }
    assert.deepEqual([...first.users.values()].map((u) => u.role), ["admin", "viewer"]);
    const again = await ensureConsoleUsers(file, { get: () => undefined });
    assert.equal(again.generated, undefined, "an existing file is kept");
    assert.equal(again.users.get("admin")!.hash, first.users.get("admin")!.hash);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sessions expire; the cookie is HttpOnly, SameSite=Strict, with Max-Age; CSRF compared exactly", () => {
  let now = 1_000;
  const store = new SessionStore(60_000, () => now);
  const s = store.open({ name: "alice", role: "admin", hash: "" });
  const cookie = store.cookie(s);
  assert.match(cookie, /^console_session=[\w-]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=60$/);
  assert.equal(sessionIdOf(`a=1; console_session=${s.id}; b=2`), s.id);
  assert.equal(store.get(s.id)?.user, "alice");
  assert.equal(csrfMatches(s, s.csrf), true);
  assert.equal(csrfMatches(s, s.csrf.slice(0, -1) + "x"), false);
  assert.equal(csrfMatches(s, null), false);
  now += 60_000;
  assert.equal(store.get(s.id), undefined, "expired");
  assert.match(store.cookie(undefined), /Max-Age=0/);
});

Deno.test("login limiter: N failures in the window, then a wait; it passes with the window", () => {
  let now = 0;
  const l = new LoginLimiter(3, 10_000, () => now);
  for (let i = 0; i < 3; i++) {
    assert.equal(l.retryAfter("k"), 0);
    l.fail("k");
    now += 1_000;
  }
  assert.equal(l.retryAfter("k"), 7);
  assert.equal(l.retryAfter("other"), 0);
  now = 10_001;
  assert.equal(l.retryAfter("k"), 0);
  assert.throws(() => new LoginLimiter(0, 1), /'max' must be >= 1/);
});

Deno.test("create-topic form: Kafka's name rule, numbers and configs, each failure naming its field", () => {
  const f = (q: string) => parseCreateTopic(new URLSearchParams(q), 3);
  assert.deepEqual(f("name=orders&partitions=3&configs=retention.ms%3D1000%0A"), {
    ok: true,
    value: {
      topic: "orders",
      numPartitions: 3,
      replicationFactor: 3,
      configEntries: [{ name: "retention.ms", value: "1000" }],
    },
  });
  assert.equal(topicNameProblem("a".repeat(250)), "is 250 characters long (Kafka allows 249)");
  assert.equal(topicNameProblem(".."), "cannot be '..'");
  const fields = [
    f("name=bad%20name"),
    f("name=x&partitions=0"),
    f("name=x&partitions=two"),
    f("name=x&replicationFactor=4"),
    f("name=x&configs=nonsense"),
  ].map((r) => r.ok ? "ok" : r.field);
  assert.deepEqual(fields, ["name", "partitions", "partitions", "replicationFactor", "configs"]);
});

Deno.test("produce form and browse query: partition range, headers JSON, offset needs a partition", () => {
  const p = (q: string) => parseProduce(new URLSearchParams(q), 3);
  assert.deepEqual(p("key=&value=v&headers=%7B%22a%22%3A%22b%22%7D"), {
    ok: true,
    value: { partition: undefined, key: null, value: "v", headers: { a: "b" } },
  });
  assert.deepEqual(
    [p("partition=3&value=v"), p("headers=%5B%5D"), p("headers=%7B%22a%22%3A1%7D"), p("headers={")]
      .map((r) => r.ok ? "ok" : r.field),
    ["partition", "headers", "headers", "headers"],
  );
  const b = (q: string) => parseBrowse(new URLSearchParams(q), 2);
  assert.deepEqual(b("partition=1&offset=5"), {
    ok: true,
    value: { partition: 1, offset: 5n, time: undefined, limit: 20 },
  });
  assert.equal(
    (b("time=2024-05-01T12:00:00Z") as { value: { time: number } }).value.time,
    1714564800000,
  );
  assert.deepEqual(
    [b("offset=5"), b("partition=1&offset=-1"), b("time=soon"), b("limit=0"), b("partition=x")]
      .map((r) => r.ok ? "ok" : r.field),
    ["offset", "offset", "time", "limit", "partition"],
  );
});

Deno.test("records: schema check by topic, dead-letter reason and source, HTML escaped", () => {
  const enc = new TextEncoder();
  const bad = decodeRecord("user-events", null, enc.encode('{"user_id":1}'), {});
  assert.equal(bad.schema?.name, "user event");
  assert.equal(bad.schema?.ok, false);
  assert.equal(bad.value.kind, "json");
  assert.equal(
    decodeRecord("free-topic", null, new Uint8Array([0xff, 0x00]), {}).value.kind,
    "binary",
  );
  const letter = deadLetter(
    { topic: "products", partition: 1, offset: "9", key: null, value: Buffer.from("<x>") },
    "bad <b>JSON</b>",
    "decode",
  );
  const headers = Object.fromEntries(
    Object.entries(letter.headers).map(([k, v]) => [k, String(v)]),
  );
  const view = decodeRecord("products.dlq", null, letter.value, headers);
  assert.deepEqual(
    [view.deadLetter?.error, view.deadLetter?.sourceTopic, view.deadLetter?.sourcePartition],
    ["bad <b>JSON</b>", "products", 1],
  );
  const html = messagesList("main", "products.dlq", [{
    partition: 0,
    offset: "3",
    timestamp: 0,
    key: null,
    value: letter.value,
    headers,
  }]);
  assert.ok(html.includes("bad &lt;b&gt;JSON&lt;/b&gt;") && !html.includes("<b>JSON"));
  assert.ok(html.includes('href="/c/main/t/products?partition=1&offset=9#messages"'));
  assert.equal(esc(`"'&`), "&quot;&#39;&amp;");
  assert.match(valueProblem("products", '{"product_id": 1}')!, /fails the product schema/);
  assert.match(valueProblem("products", "not json")!, /is not JSON/);
  assert.equal(valueProblem("free-topic", "anything"), undefined);
});

Deno.test("offset-reset form: strategy, topic, time, offset and partition, each failure naming its field", () => {
  const r = (q: string) => parseOffsetReset(new URLSearchParams(q));
  assert.deepEqual(r("topic=orders&strategy=earliest&partition="), {
    ok: true,
    value: { strategy: "earliest", topic: "orders" },
  });
  assert.deepEqual(r("topic=orders&strategy=offset&offset=42&partition=1"), {
    ok: true,
    value: { strategy: "offset", topic: "orders", offset: 42n, partition: 1 },
  });
  assert.deepEqual(r("topic=orders&strategy=timestamp&time=2024-05-01T12:00:00Z"), {
    ok: true,
    value: { strategy: "timestamp", topic: "orders", time: 1714564800000 },
  });
  assert.deepEqual(
    [
      r("topic=bad%20name&strategy=latest"),
      r("topic=orders&strategy=sideways"),
      r("topic=orders&strategy=offset&offset=ten"),
      r("topic=orders&strategy=offset&offset=-1"),
      r("topic=orders&strategy=timestamp&time=yesterday"),
      r("topic=orders&strategy=timestamp"),
      r("topic=orders&strategy=latest&partition=x"),
    ].map((x) => x.ok ? "ok" : x.field),
    ["topic", "strategy", "offset", "offset", "time", "time", "partition"],
  );
});

Deno.test("CONSOLE_CONNECT: cluster/name=url entries; a bad one names itself", () => {
  assert.deepEqual(parseConsoleConnect("main/cdc=http://127.0.0.1:8083/; secure/x=https://c:1"), [
    { cluster: "main", name: "cdc", url: "http://127.0.0.1:8083" },
    { cluster: "secure", name: "x", url: "https://c:1" },
  ]);
  assert.throws(() => parseConsoleConnect("cdc=http://h:1"), /'cdc=http:\/\/h:1'.*cluster\/name=/);
  assert.throws(() => parseConsoleConnect("main/cdc=ftp://h"), /URL must be http/);
  assert.deepEqual(parseConsoleConnect(" ; "), []);
});

Deno.test("operate views: Connect traces, ACL rows, reset preview escaped; schemas pretty-printed", () => {
  const session = { id: "s", user: "ada", role: "admin" as const, csrf: "tok", expires: 0 };
  const connect = connectorsTable("main", { name: "connect", url: "http://c" }, {
    "<sink>": {
      status: {
        name: "<sink>",
        connector: { state: "RUNNING", worker_id: "w" },
        tasks: [{ id: 0, state: "FAILED", worker_id: "w", trace: "org.X: <boom>\n\tat y" }],
        type: "sink",
      },
      config: { "connector.class": "io.X" },
    },
  }, session);
  assert.ok(connect.includes('data-connector="&lt;sink&gt;"') && !connect.includes("<boom>"));
  assert.ok(connect.includes('<details class="trace" data-task="0">'));
  assert.ok(connect.includes('action="/c/main/connect/connect/%3Csink%3E/pause"'));
  assert.ok(connect.includes('name="_csrf" value="tok"'));
  const viewer = connectorsTable("main", { name: "connect", url: "http://c" }, {}, {
    ...session,
    role: "viewer",
  });
  assert.equal(viewer, '<p id="no-connectors">No connectors.</p>');
  const acls = aclsTable([{
    principal: "User:<x>",
    host: "*",
    resourceType: "TOPIC",
    resourceName: "t",
    pattern: "LITERAL",
    operation: "READ",
    permission: "ALLOW",
  }]);
  assert.ok(acls.includes('data-acl="User:&lt;x&gt;|TOPIC|t|LITERAL|READ|ALLOW"'));
  const preview = resetPreview(
    "main",
    "g",
    session,
    new URLSearchParams("topic=t&strategy=offset&offset=%22x"),
    [{ partition: 0, current: "-1", target: "5", low: "0", high: "9" }],
  );
  assert.ok(preview.includes('name="offset" value="&quot;x"'));
  assert.ok(preview.includes('<td class="current">none</td><td class="target">5</td>'));
  assert.equal(prettySchema('{"type":"string"}'), '{\n  "type": "string"\n}');
  assert.equal(prettySchema("syntax = proto3;"), "syntax = proto3;");
});
