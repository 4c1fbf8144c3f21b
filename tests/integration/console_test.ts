/**
 * `deno task console` in a real headless browser (Debian's Chromium driven by puppeteer-core)
 * against the test stack's clusters: the login form and its rate limit, the session cookie,
 * brokers of the 3-node cluster and the SASL_SSL cluster, a cluster that is down, an admin who
 * creates a topic and produces a message (checked in Kafka with a separate kafkajs client, not
 * on the page), a viewer and a forged form that cannot write (the topic's end offsets do not
 * move), a dead letter showing its reason, and every bad input answering 4xx naming its field.
 * What the console operates: the Connect page (connectors, a failed task's trace, an admin's
 * pause and resume checked through Connect's REST API), the schema registry page (a subject
 * registered here, its versions and schema), the secure cluster's ACLs (one created here), and a
 * group's offset reset (dry run, refused while a consumer is in the group, applied once it left —
 * checked with a separate kafkajs admin); a viewer and a CSRF-less request cannot do any of it.
 *
 * `CONSOLE_SCREENSHOTS=docs/console` saves screenshots of the main pages there.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  type Admin,
  type Consumer,
  type Kafka,
  ResourcePatternTypes,
} from "kafkajs";
import {
  createKafka,
  deadLetter,
  kafkaConfigFromEnv,
  readTopicUntil,
  secureKafkaConfigFromEnv,
} from "../../lib/kafka/mod.ts";
import { setupFinalTopology } from "../../lib/marketplace/mod.ts";
import { hashPassword } from "../../lib/console/mod.ts";
import { ConnectClient, jdbcSinkConfig } from "../../lib/connect/mod.ts";
import {
  createRegistry,
  registerSchema,
  registryConfigFromEnv,
  subjectVersions,
} from "../../lib/registry/mod.ts";
import { type AclGrant, applyAcls } from "../../lib/kafka/mod.ts";
import type { Stack } from "../../lib/stack/mod.ts";
import { eventually, spawnTask, testStack, unique } from "../_stack.ts";

const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
const SHOTS = Deno.env.get("CONSOLE_SCREENSHOTS");

// Code run inside the page (puppeteer's evaluate): the DOM's names, untyped here.
// deno-lint-ignore no-explicit-any
declare const document: any;
// deno-lint-ignore no-explicit-any
type Dom = any;

const PASSWORDS = { ada: "ada-admin-pass", vic: "vic-viewer-pass", rita: "rita-viewer-pass" };

async function endOffsets(admin: import("kafkajs").Admin, topic: string): Promise<string> {
  const o = await admin.fetchTopicOffsets(topic);
  return o.sort((a, b) => a.partition - b.partition).map((x) => x.high).join(",");
}

/** Submits the login form and returns the HTTP status of the answer. */
async function logIn(page: Page, base: string, user: string, password: string): Promise<number> {
  await page.goto(`${base}/login`);
  await page.type("input[name=user]", user);
  await page.type("input[name=password]", password);
  const [res] = await Promise.all([page.waitForNavigation(), page.click("#login")]);
  return res?.request().redirectChain().length ? 303 : res?.status() ?? 0;
}

/** Field named by the page's error box, and its text. */
async function errorOf(page: Page): Promise<{ field: string | null; text: string }> {
  return await page.$eval("#error", (e) => ({
    field: e.getAttribute("data-field"),
    text: e.textContent ?? "",
  }));
}

/** Sets form fields of `form` (by name) and submits it; returns the answer's status. */
async function submit(page: Page, form: string, fields: Record<string, string>): Promise<number> {
  await page.evaluate(
    (form, fields) => {
      const f = document.querySelector(form) as Dom;
      (f.closest("details") as Dom)?.setAttribute("open", "");
      for (const [k, v] of Object.entries(fields)) {
        (f.elements.namedItem(k) as Dom).value = v;
      }
    },
    form,
    fields,
  );
  const [res] = await Promise.all([
    page.waitForNavigation(),
    page.$eval(form, (f) => (f as Dom).requestSubmit()),
  ]);
  return res?.status() ?? 0;
}

/** Two versions of an Avro record, the second backward compatible (a field with a default). */
const USER_V1 = {
  type: "record",
  name: "ConsoleUser",
  namespace: "console.test",
  fields: [{ name: "name", type: "string" }],
};
const USER_V2 = {
  ...USER_V1,
  fields: [...USER_V1.fields, { name: "email", type: ["null", "string"], default: null }],
};

/** The console's audit lines (JSON) that `keep` selects. */
function auditOf(
  lines: string[],
  keep: (a: Record<string, unknown>) => boolean,
): Record<string, unknown>[] {
  return lines.flatMap((l) => {
    try {
      const a = JSON.parse(l);
      return a && typeof a === "object" && keep(a) ? [a] : [];
    } catch {
      return [];
    }
  });
}

/**
 * What the operate steps work on, made with clients other than the console: two JDBC sink
 * connectors (one idle, one failed by a record without a schema envelope), a registry subject,
 * an ACL on the secure cluster, and a topic whose group an offset reset moves.
 */
function operateFixture(stack: Stack, kafka: Kafka) {
  const id = unique("console-ops");
  const rest = new ConnectClient({ url: stack.connect!.url() });
  const sink = `${id}-sink`, failing = `${id}-failing`, topic = `${id}-reset`;
  const secure = createKafka(secureKafkaConfigFromEnv("admin", { logLevel: "ERROR" })).admin();
  const acl: AclGrant = {
    principal: `User:${id}`,
    resourceType: "topic",
    resourceName: `${id}-acl`,
    operation: "READ",
  };
  const topics = [`${id}-idle`, `${id}-bad`, topic];
  const base = Date.now() - 120_000;
  let consumer: Consumer | undefined;
  const connector = (topic: string) =>
    jdbcSinkConfig({ url: stack.postgres!.url(), topics: [topic] });
  return {
    rest,
    sink,
    failing,
    secure,
    acl,
    topic,
    base,
    group: `${id}-group`,
    subject: `${id}-value`,
    /** The idle sink RUNNING, the other's task FAILED on its record. */
    async connectors() {
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({
        topics: topics.slice(0, 2).map((t) => ({
          topic: t,
          numPartitions: 1,
          replicationFactor: 3,
        })),
      });
      await admin.disconnect();
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({
        topic: topics[1],
        acks: -1,
        messages: [{ value: '{"no":"envelope"}' }],
      });
      await producer.disconnect();
      await rest.putConfig(sink, connector(topics[0]));
      await rest.putConfig(failing, connector(topics[1]));
      await rest.waitRunning(sink);
      await eventually(
        async () => (await rest.status(failing)).tasks[0]?.state === "FAILED",
        60_000,
        `a failed task of ${failing}`,
      );
    },
    /** 2 partitions of 6 records each: 3 stamped `base`, then 3 stamped a minute later. */
    async resetTopic() {
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({
        topics: [{ topic, numPartitions: 2, replicationFactor: 3 }],
        waitForLeaders: true,
      });
      await admin.disconnect();
      const producer = kafka.producer();
      await producer.connect();
      const messages = [0, 1].flatMap((partition) =>
        [0, 0, 0, 60_000, 60_000, 60_000].map((dt, i) => ({
          partition,
          value: `r${i}`,
          timestamp: String(base + dt),
        }))
      );
      await producer.send({ topic, acks: -1, messages });
      await producer.disconnect();
    },
    /** A consumer in the group that has read and committed everything, Stable with 1 member. */
    async joinGroup(): Promise<Consumer> {
      consumer = kafka.consumer({ groupId: this.group, heartbeatInterval: 500 });
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({ eachMessage: async () => {} });
      const admin = kafka.admin();
      await admin.connect();
      try {
        await eventually(
          async () => {
            const { groups: [g] } = await admin.describeGroups([this.group]);
            const done = (await this.committed(admin)).join() === "6,6";
            return g.state === "Stable" && g.members.length === 1 && done;
          },
          60_000,
          `group ${this.group} Stable with everything committed`,
        );
      } finally {
        await admin.disconnect();
      }
      return consumer;
    },
    /** The group's committed offsets on the topic by partition, read with kafkajs' admin. */
    async committed(admin: Admin): Promise<string[]> {
      const [t] = await admin.fetchOffsets({ groupId: this.group, topics: [topic] });
      return t.partitions.sort((a, b) => a.partition - b.partition).map((p) => p.offset);
    },
    async cleanup(admin: Admin) {
      await consumer?.disconnect().catch(() => {});
      for (const name of [sink, failing]) await rest.delete(name).catch(() => {});
      await secure.deleteAcls({
        filters: [{
          resourceType: AclResourceTypes.TOPIC,
          resourceName: acl.resourceName,
          resourcePatternType: ResourcePatternTypes.LITERAL,
          principal: acl.principal,
          host: "*",
          operation: AclOperationTypes.ANY,
          permissionType: AclPermissionTypes.ANY,
        }],
      }).catch(() => {});
      await secure.disconnect().catch(() => {});
      await admin.deleteTopics({ topics }).catch(() => {});
    },
  };
}

Deno.test("console: login, live cluster views, admin writes, viewer and forged writes refused, DLQ reasons, bad input", async (t) => {
  // The console shows every cluster the stack runs: the SASL_SSL one must be up too, and the
  // Connect worker and schema registry it operates.
  const stack = await testStack({ secure: true, connect: true, registry: true });
  // The produce step checks a value against the product schema of the platform's input-products.
  {
    const secure = createKafka(secureKafkaConfigFromEnv("admin", { logLevel: "ERROR" })).admin();
    await secure.connect();
    await setupFinalTopology(secure);
    await secure.disconnect();
  }
  // testKafka() would bring the stack up a second time (a full check of every service).
  const kafka = createKafka(kafkaConfigFromEnv({ clientId: "console-test", logLevel: "ERROR" }));
  const admin = kafka.admin();
  await admin.connect();
  const hashes = await Promise.all(
    Object.values(PASSWORDS).map((p) => hashPassword(p, 20_000)),
  );
  const closedPort = (() => {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const p = (l.addr as Deno.NetAddr).port;
    l.close();
    return p;
  })();
  const task = await spawnTask("console", ["--port", "0"], {
    CONSOLE_USERS: `ada:admin:${hashes[0]};vic:viewer:${hashes[1]};rita:viewer:${hashes[2]}`,
    CONSOLE_LOGIN_MAX_ATTEMPTS: "3",
    CONSOLE_CLUSTERS: `down=127.0.0.1:${closedPort}`,
    CONSOLE_CONNECT: `down/gone=http://127.0.0.1:${closedPort}`,
  });
  const topic = unique("console");
  const dlq = `${unique("console-src")}.dlq`;
  const ops = operateFixture(stack, kafka);
  let browser: Browser | undefined;
  try {
    const started = await eventually(
      () => task.lines.find((l) => l.startsWith("Console on ")),
      30_000,
      "the console to listen",
    );
    const base = started.match(/http:\/\/[^/ ]+/)![0];
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    const outside: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(base) && !r.url().startsWith("data:")) outside.push(r.url());
    });

    await t.step("no session: every page redirects to the login form", async () => {
      const res = await page.goto(`${base}/c/main`);
      assert.match(page.url(), /\/login\?next=%2Fc%2Fmain$/);
      assert.equal(res?.status(), 200);
      const forged = await fetch(`${base}/c/main/topics`, {
        method: "POST",
        body: new URLSearchParams({ name: unique("nosession") }),
        redirect: "manual",
      });
      await forged.body?.cancel();
      assert.equal(forged.status, 303);
    });

    await t.step("wrong password or unknown user: the same generic line, no session", async () => {
      for (const [user, password] of [["ada", "not-her-password"], ["nobody", "whatever-pass"]]) {
        const status = await logIn(page, base, user, password);
        assert.equal(status, 401);
        const text = await page.$eval("#login-error", (e) => e.textContent);
        assert.equal(text, "Wrong user name or password.");
        assert.equal((await page.cookies()).length, 0, "no cookie after a refused login");
      }
    });

    await t.step(
      "login attempts are rate-limited (3 failures, then even the right password waits)",
      async () => {
        for (let i = 0; i < 3; i++) {
          assert.equal(await logIn(page, base, "rita", "wrong-pass-" + i), 401);
        }
        const status = await logIn(page, base, "rita", PASSWORDS.rita);
        assert.equal(status, 429);
        assert.match(
          await page.$eval("#login-error", (e) => e.textContent ?? ""),
          /Too many failed logins: try again in \d+ s/,
        );
        assert.equal((await page.cookies()).length, 0);
      },
    );

    await t.step(
      "admin logs in: HttpOnly SameSite=Strict session cookie with an expiry",
      async () => {
        const status = await logIn(page, base, "ada", PASSWORDS.ada);
        assert.equal(status, 303);
        assert.match(page.url(), /\/c\/main$/);
        const [cookie] = await page.cookies();
        assert.equal(cookie.name, "console_session");
        assert.equal(cookie.httpOnly, true);
        assert.equal(cookie.sameSite, "Strict");
        assert.ok(cookie.expires > Date.now() / 1000 + 3000, `expires ${cookie.expires}`);
      },
    );

    await t.step(
      "brokers of the 3-node main cluster and of the SASL_SSL cluster, live",
      async () => {
        await page.waitForSelector("#brokers-table tbody tr", { timeout: 20_000 });
        const first = await page.$eval("#brokers small", (e) => e.textContent);
        const rows = await page.$$eval(
          "#brokers-table tbody tr",
          (trs) => trs.map((tr) => [tr.getAttribute("data-broker"), tr.getAttribute("data-up")]),
        );
        const cluster = await admin.describeCluster();
        assert.deepEqual(
          rows,
          cluster.brokers.map((b) => [String(b.nodeId), "true"]).sort(),
          "the page lists the brokers kafkajs sees, all up",
        );
        assert.equal(rows.length, 3);
        // Refreshed without a page reload: htmx swaps the part again (its time stamp changes).
        await page.waitForFunction(
          (before) => document.querySelector("#brokers small")?.textContent !== before,
          { timeout: 10_000 },
          first,
        );
        if (SHOTS) await page.screenshot({ path: `${SHOTS}/cluster.png`, fullPage: false });
        await page.goto(`${base}/c/secure`);
        await page.waitForSelector("#brokers-table tbody tr", { timeout: 20_000 });
        assert.equal((await page.$$("#brokers-table tbody tr[data-up=true]")).length, 3);
        await page.waitForSelector('#topics-table tr[data-topic="input-products"]', {
          timeout: 20_000,
        });
      },
    );

    await t.step("a cluster that is down is shown on the page, not a crash", async () => {
      const res = await page.goto(`${base}/c/down`);
      assert.equal(res?.status(), 200);
      await page.waitForSelector("#brokers .cluster-down", { timeout: 20_000 });
      assert.match(
        await page.$eval("#brokers .cluster-down", (e) => e.textContent ?? ""),
        new RegExp(`Cluster down is unreachable \\(127\\.0\\.0\\.1:${closedPort}\\)`),
      );
    });

    await t.step(
      "admin creates a topic: Kafka has it with the partitions and RF asked for; the list shows it",
      async () => {
        await page.goto(`${base}/c/main`);
        const status = await submit(page, "#create-topic", {
          name: topic,
          partitions: "2",
          replicationFactor: "3",
          configs: "retention.ms=3600000",
        });
        assert.equal(status, 201);
        assert.match(await page.$eval("#result", (e) => e.textContent ?? ""), /Created topic/);
        const md = await admin.fetchTopicMetadata({ topics: [topic] });
        assert.equal(md.topics[0].partitions.length, 2);
        assert.ok(md.topics[0].partitions.every((p) => p.replicas.length === 3));
        const cfg = await admin.describeConfigs({
          resources: [{ type: 2, name: topic, configNames: ["retention.ms"] }],
          includeSynonyms: false,
        });
        assert.equal(cfg.resources[0].configEntries[0].configValue, "3600000");
        await page.goto(`${base}/c/main`);
        await page.waitForSelector(`#topics-table tr[data-topic="${topic}"]`, { timeout: 20_000 });
      },
    );

    await t.step(
      "admin produces a message: a separate kafkajs consumer reads it from Kafka",
      async () => {
        await page.goto(`${base}/c/main/t/${topic}`);
        const value = JSON.stringify({ hello: "console", n: 42 });
        const status = await submit(page, "#produce", {
          partition: "1",
          key: "k-console",
          value,
          headers: '{"source": "console-test"}',
        });
        assert.equal(status, 200);
        assert.match(
          await page.$eval("#result", (e) => e.textContent ?? ""),
          /partition 1 at offset 0/,
        );
        const records = await readTopicUntil(kafka, {
          topics: [topic],
          until: (rs) => rs.length >= 1,
          what: "the produced message in Kafka",
          timeoutMs: 30_000,
        });
        const got = records.map((r) => ({
          partition: r.partition,
          key: r.key?.toString() ?? "",
          value: r.value?.toString() ?? "",
          source: (r.headers.source as Buffer | undefined)?.toString() ?? "",
        }));
        assert.deepEqual(got, [{ partition: 1, key: "k-console", value, source: "console-test" }]);
        const audit = task.lines.map((l) => {
          try {
            return JSON.parse(l);
          } catch {
            return undefined;
          }
        }).filter((a) => a?.topic === topic);
        assert.deepEqual(
          audit.map((a) => [a.user, a.action, a.outcome]),
          [["ada", "create-topic", "created"], ["ada", "produce", "produced"]],
        );
        // The page's message list shows it (newest first, decoded as JSON).
        await page.goto(`${base}/c/main/t/${topic}?partition=1`);
        const shown = await page.$$eval(
          "article.message",
          (as) =>
            as.map((
              a,
            ) => [a.getAttribute("data-offset"), a.querySelectorAll("pre")[1].textContent]),
        );
        assert.deepEqual(shown, [["0", JSON.stringify(JSON.parse(value), null, 2)]]);
        if (SHOTS) {
          await page.screenshot({ path: `${SHOTS}/topic.png`, fullPage: true });
        }
      },
    );

    await t.step("a POST without the CSRF token is refused (403) and writes nothing", async () => {
      const before = await endOffsets(admin, topic);
      const r = await page.evaluate(async (path) => {
        const res = await fetch(path, {
          method: "POST",
          body: new URLSearchParams({ value: "no-token" }),
        });
        return { status: res.status, text: await res.text() };
      }, `/c/main/t/${topic}/produce`);
      assert.equal(r.status, 403);
      assert.match(r.text, /CSRF/);
      assert.equal(await endOffsets(admin, topic), before);
    });

    await t.step("a dead letter shows its reason and links to its source record", async () => {
      await admin.createTopics({
        topics: [{ topic: dlq, numPartitions: 1, replicationFactor: 3 }],
      });
      const producer = kafka.producer();
      await producer.connect();
      const reason = "/price/amount must be >= 0";
      await producer.send({
        topic: dlq,
        acks: -1,
        messages: [deadLetter(
          {
            topic: dlq.replace(/\.dlq$/, ""),
            partition: 2,
            offset: "17",
            key: Buffer.from("p-1"),
            value: Buffer.from('{"price":{"amount":-1}}'),
          },
          reason,
          "validate",
        )],
      });
      await producer.disconnect();
      await page.goto(`${base}/c/main/t/${dlq}`);
      await page.waitForSelector(".dlq-reason .reason");
      assert.equal(await page.$eval(".dlq-reason .reason", (e) => e.textContent), reason);
      assert.match(
        await page.$eval(".dlq-source", (e) => e.getAttribute("href") ?? ""),
        /\?partition=2&offset=17#messages$/,
      );
      if (SHOTS) await page.screenshot({ path: `${SHOTS}/dlq.png`, fullPage: false });
    });

    await t.step("bad input: 4xx naming the field, never a 500", async () => {
      await page.goto(`${base}/c/main`);
      assert.equal(
        await submit(page, "#create-topic", { name: "bad name!", partitions: "1" }),
        400,
      );
      assert.equal((await errorOf(page)).field, "name");
      await page.goto(`${base}/c/main`);
      assert.equal(
        await submit(page, "#create-topic", { name: unique("x"), partitions: "abc" }),
        400,
      );
      assert.equal((await errorOf(page)).field, "partitions");
      await page.goto(`${base}/c/main`);
      assert.equal(
        await submit(page, "#create-topic", { name: topic, partitions: "1" }),
        409,
        "an existing topic",
      );
      assert.equal((await errorOf(page)).field, "name");
      const oor = await page.goto(`${base}/c/main/t/${topic}?partition=1&offset=99`);
      assert.equal(oor?.status(), 400);
      assert.deepEqual(await errorOf(page), {
        field: "offset",
        text: "offset: offset 99 is out of range: partition 1 holds 0 to 0",
      });
      const unknown = await page.goto(`${base}/c/main/t/${unique("no-such")}`);
      assert.equal(unknown?.status(), 404);
      assert.equal((await errorOf(page)).field, "topic");
      const badTime = await page.goto(`${base}/c/main/t/${topic}?time=yesterday`);
      assert.equal(badTime?.status(), 400);
      assert.equal((await errorOf(page)).field, "time");
      // A value that fails the topic's schema is refused before Kafka sees it.
      const before = await endOffsets(admin, topic);
      await page.goto(`${base}/c/secure/t/input-products`);
      const bad = await submit(page, "#produce", { value: '{"product_id": 1}' });
      assert.equal(bad, 400);
      const e = await errorOf(page);
      assert.equal(e.field, "value");
      assert.match(e.text, /fails the product schema/);
      await page.goto(`${base}/c/main/t/${topic}`);
      assert.equal(await submit(page, "#produce", { value: "x", partition: "7" }), 400);
      assert.equal((await errorOf(page)).field, "partition");
      assert.equal(
        await submit(page, "#produce", { value: "x", partition: "", headers: "[1]" }),
        400,
      );
      assert.equal((await errorOf(page)).field, "headers");
      assert.equal(await endOffsets(admin, topic), before, "no bad input reached Kafka");
      const noCluster = await page.goto(`${base}/c/nope`);
      assert.equal(noCluster?.status(), 404);
      assert.equal((await errorOf(page)).field, "cluster");
    });

    await t.step(
      "Connect page: connectors, a failed task's trace collapsed; admin pause and resume reach Connect",
      async () => {
        await ops.connectors();
        await page.goto(`${base}/c/main`);
        const href = await page.$eval("a.connect-link", (e) => e.getAttribute("href"));
        assert.equal(href, "/c/main/connect/connect");
        const res = await page.goto(`${base}${href}`);
        assert.equal(res?.status(), 200);
        const row = `tr[data-connector="${ops.sink}"]`;
        assert.equal(await page.$eval(row, (e) => e.getAttribute("data-state")), "RUNNING");
        const failed = `tr[data-connector="${ops.failing}"] .task[data-state="FAILED"]`;
        const trace = await page.$eval(`${failed} details.trace`, (d) => ({
          open: (d as Dom).open,
          text: d.querySelector("pre")?.textContent ?? "",
        }));
        assert.equal(trace.open, false, "the trace is collapsed");
        assert.match(trace.text, /schemas\.enable|DataException/);
        if (SHOTS) await page.screenshot({ path: `${SHOTS}/connect.png`, fullPage: false });
        for (const [action, state] of [["pause", "PAUSED"], ["resume", "RUNNING"]]) {
          const [r] = await Promise.all([
            page.waitForNavigation(),
            page.click(`form[data-connector="${ops.sink}"][data-action="${action}"] button`),
          ]);
          assert.equal(r?.status(), 200);
          assert.match(await page.$eval("#result", (e) => e.textContent ?? ""), /Sent/);
          // Read back through Connect's own REST API, not through the console.
          await eventually(
            async () => {
              const s = await ops.rest.status(ops.sink);
              return s.connector.state === state && s.tasks.every((x) => x.state === state);
            },
            60_000,
            `connector ${ops.sink} ${state} in Connect`,
          );
          await page.goto(`${base}${href}`);
          assert.equal(await page.$eval(row, (e) => e.getAttribute("data-state")), state);
        }
        const [restart] = await Promise.all([
          page.waitForNavigation(),
          page.click(`form[data-connector="${ops.failing}"][data-action="restart"] button`),
        ]);
        assert.equal(restart?.status(), 200);
        assert.match(await page.$eval("#result", (e) => e.textContent ?? ""), /Sent restart/);
        const audit = auditOf(task.lines, (a) => a.connector !== undefined);
        assert.deepEqual(audit.map((a) => [a.user, a.action, a.connector, a.outcome]), [
          ["ada", "connect-pause", ops.sink, "sent"],
          ["ada", "connect-resume", ops.sink, "sent"],
          ["ada", "connect-restart", ops.failing, "sent"],
        ]);
        const unknown = await page.goto(`${base}/c/main/connect/nope`);
        assert.equal(unknown?.status(), 404);
        assert.equal((await errorOf(page)).field, "connect");
        const gone = await page.goto(`${base}/c/down/connect/gone`);
        assert.equal(gone?.status(), 503, "a Connect worker that does not answer");
        assert.match((await errorOf(page)).text, /Kafka Connect gone is unreachable/);
      },
    );

    await t.step(
      "schema registry page: a subject registered here, its versions and schema",
      async () => {
        const config = registryConfigFromEnv();
        const registry = createRegistry(config);
        for (const schema of [USER_V1, USER_V2]) {
          await registerSchema(registry, ops.subject, schema);
        }
        // What the registry holds, read with the project's own registry client, not the console.
        const versions = await subjectVersions(config, ops.subject);
        assert.deepEqual(versions, [1, 2]);
        await page.goto(`${base}/c/main`);
        await Promise.all([page.waitForNavigation(), page.click("#schemas-link")]);
        const row = `tr[data-subject="${ops.subject}"]`;
        assert.equal(
          await page.$eval(`${row} .versions`, (e) => e.textContent),
          "1, 2",
        );
        assert.match(
          await page.$eval(`${row} .compatibility`, (e) => e.textContent ?? ""),
          /^BACKWARD/,
        );
        const res = await page.goto(`${base}/c/main/schemas/${ops.subject}`);
        assert.equal(res?.status(), 200);
        assert.equal(await page.$eval("#subject-versions", (e) => e.textContent), "1, 2");
        const shown = await page.$$eval(
          "details.schema-version",
          (ds) =>
            ds.map((d) => [d.getAttribute("data-version"), d.querySelector("pre")?.textContent]),
        );
        assert.deepEqual(
          shown.map(([v, text]) => [v, JSON.parse(text ?? "")]),
          [["2", USER_V2], ["1", USER_V1]],
        );
        if (SHOTS) await page.screenshot({ path: `${SHOTS}/schemas.png`, fullPage: false });
        const missing = await page.goto(`${base}/c/main/schemas/${unique("no-such")}-value`);
        assert.equal(missing?.status(), 404);
        assert.equal((await errorOf(page)).field, "subject");
      },
    );

    await t.step(
      "ACLs of the secure cluster: one created here is a row; main has no authorizer",
      async () => {
        await ops.secure.connect();
        await applyAcls(ops.secure, [ops.acl]);
        await page.goto(`${base}/c/secure`);
        await Promise.all([page.waitForNavigation(), page.click("#acls-link")]);
        const key = [ops.acl.principal, "TOPIC", ops.acl.resourceName, "LITERAL", "READ", "ALLOW"];
        assert.ok(await page.$(`tr[data-acl="${key.join("|")}"]`), "the ACL's row");
        assert.ok((await page.$$("#acls-table tbody tr")).length > 1, "and the others");
        if (SHOTS) await page.screenshot({ path: `${SHOTS}/acls.png`, fullPage: false });
        await page.goto(`${base}/c/secure/acls?q=${encodeURIComponent(ops.acl.principal)}`);
        assert.deepEqual(
          await page.$$eval(
            "#acls-table tbody tr",
            (trs) => trs.map((tr) => tr.getAttribute("data-acl")),
          ),
          [key.join("|")],
        );
        await page.goto(`${base}/c/main/acls`);
        assert.ok(await page.$("#no-authorizer"));
      },
    );

    await t.step(
      "offset reset: dry run, refused while a consumer is in the group, applied once it left",
      async () => {
        const { group, topic: resetTopic } = ops;
        await ops.resetTopic();
        const consumer = await ops.joinGroup();
        const committed = () => ops.committed(admin);
        assert.deepEqual(await committed(), ["6", "6"]);
        const groupPage = `${base}/c/main/g/${group}`;
        await page.goto(groupPage);
        const preview = async (fields: Record<string, string>) => {
          await page.goto(groupPage);
          return await submit(page, "#reset-offsets", { partition: "", ...fields });
        };
        const moves = () =>
          page.$$eval(
            "#reset-preview-table tbody tr",
            (trs) =>
              trs.map((tr) =>
                [...tr.querySelectorAll("td")].slice(0, 3).map((td) => (td as Dom).textContent)
              ),
          );
        assert.equal(await preview({ topic: resetTopic, strategy: "earliest" }), 200);
        assert.deepEqual(await moves(), [["0", "6", "0"], ["1", "6", "0"]]);
        assert.deepEqual(await committed(), ["6", "6"], "a dry run commits nothing");
        if (SHOTS) await page.screenshot({ path: `${SHOTS}/reset.png`, fullPage: true });
        assert.equal(await submit(page, "#reset-apply", {}), 409);
        const refused = await errorOf(page);
        assert.equal(refused.field, "group");
        assert.match(refused.text, new RegExp(`group '${group}' is Stable with 1 active member`));
        assert.deepEqual(await committed(), ["6", "6"], "refused: nothing committed");
        await consumer.disconnect();
        await eventually(
          async () => {
            const { groups: [g] } = await admin.describeGroups([group]);
            return g.state === "Empty";
          },
          30_000,
          `group ${group} empty`,
        );
        assert.equal(await preview({ topic: resetTopic, strategy: "earliest" }), 200);
        assert.equal(await submit(page, "#reset-apply", {}), 200);
        assert.deepEqual(await committed(), ["0", "0"]);
        // The first record at or after the time: the second half of each partition (a dry run;
        // an apply commits what its dry run shows, as the two applies here prove).
        const time = new Date(ops.base + 30_000).toISOString();
        assert.equal(await preview({ topic: resetTopic, strategy: "timestamp", time }), 200);
        assert.deepEqual(await moves(), [["0", "0", "3"], ["1", "0", "3"]]);
        assert.equal(await preview({ topic: resetTopic, strategy: "offset", offset: "99" }), 200);
        assert.deepEqual(
          await page.$$eval(
            "#reset-preview-table tbody tr",
            (trs) => trs.map((tr) => (tr.querySelector("td.target") as Dom).textContent),
          ),
          ["6", "6"],
          "an offset past the end is kept at the end",
        );
        assert.equal(
          await preview({ topic: resetTopic, strategy: "offset", offset: "1", partition: "1" }),
          200,
        );
        assert.deepEqual(await moves(), [["1", "0", "1"]]);
        assert.equal(await submit(page, "#reset-apply", {}), 200);
        assert.deepEqual(
          await page.$$eval(
            "#reset-result-table td.committed",
            (tds) => tds.map((td) => td.textContent),
          ),
          ["1"],
        );
        assert.deepEqual(await committed(), ["0", "1"]);
        const actions = auditOf(task.lines, (a) => a.group === group).map((a) => a.outcome);
        assert.deepEqual(actions, [
          "previewed",
          "refused 409",
          "previewed",
          "committed",
          "previewed",
          "previewed",
          "previewed",
          "committed",
        ]);
      },
    );

    await t.step("offset reset bad input: 4xx naming the field, nothing committed", async () => {
      const before = await ops.committed(admin);
      const cases: [Record<string, string>, number, string][] = [
        [{ topic: unique("no-such"), strategy: "earliest" }, 404, "topic"],
        [{ topic: ops.topic, strategy: "offset", offset: "ten" }, 400, "offset"],
        [{ topic: ops.topic, strategy: "timestamp", time: "yesterday" }, 400, "time"],
        [{ topic: ops.topic, strategy: "latest", partition: "9" }, 400, "partition"],
      ];
      for (const [fields, status, field] of cases) {
        await page.goto(`${base}/c/main/g/${ops.group}`);
        assert.equal(
          await submit(page, "#reset-offsets", { partition: "", time: "", offset: "", ...fields }),
          status,
        );
        assert.equal((await errorOf(page)).field, field, JSON.stringify(fields));
      }
      assert.deepEqual(await ops.committed(admin), before);
    });

    await t.step(
      "operate writes without the CSRF token are refused (403), nothing changes",
      async () => {
        await page.goto(`${base}/c/main/connect/connect`);
        const before = await ops.committed(admin);
        const statuses = await page.evaluate(
          async (sink, group, topic) => {
            const post = async (path: string, body: Record<string, string>) =>
              (await fetch(path, { method: "POST", body: new URLSearchParams(body) })).status;
            return [
              await post(`/c/main/connect/connect/${sink}/pause`, {}),
              await post(`/c/main/g/${group}/reset/apply`, { topic, strategy: "earliest" }),
            ];
          },
          ops.sink,
          ops.group,
          ops.topic,
        );
        assert.deepEqual(statuses, [403, 403]);
        assert.equal((await ops.rest.status(ops.sink)).connector.state, "RUNNING");
        assert.deepEqual(await ops.committed(admin), before);
      },
    );

    await t.step(
      "a viewer reads but cannot produce or create, even with a forged request",
      async () => {
        const ctx = await browser!.createBrowserContext();
        try {
          const vp = await ctx.newPage();
          assert.equal(await logIn(vp, base, "vic", PASSWORDS.vic), 303);
          await vp.goto(`${base}/c/main/t/${topic}`);
          assert.equal(await vp.$("#produce"), null, "no produce form for a viewer");
          assert.equal((await vp.$$("article.message")).length, 1, "a viewer reads the messages");
          const before = await endOffsets(admin, topic);
          const forged = await vp.evaluate(async (topic) => {
            const csrf = (document.querySelector("input[name=_csrf]") as Dom).value;
            const post = async (path: string, body: Record<string, string>) => {
              const res = await fetch(path, {
                method: "POST",
                body: new URLSearchParams({ _csrf: csrf, ...body }),
              });
              return res.status;
            };
            return [
              await post(`/c/main/t/${topic}/produce`, { value: "from a viewer" }),
              await post(`/c/main/topics`, { name: `${topic}-viewer` }),
            ];
          }, topic);
          assert.deepEqual(forged, [403, 403]);
          assert.equal(await endOffsets(admin, topic), before);
          assert.equal((await admin.listTopics()).includes(`${topic}-viewer`), false);
          // What the console operates: a viewer sees it, has no forms, and cannot forge one.
          assert.equal((await vp.goto(`${base}/c/main/connect/connect`))?.status(), 200);
          assert.ok(await vp.$(`tr[data-connector="${ops.sink}"]`), "a viewer reads connectors");
          assert.equal(await vp.$("form.connect-action"), null, "no connector actions");
          assert.equal((await vp.goto(`${base}/c/main/schemas`))?.status(), 200);
          assert.equal((await vp.goto(`${base}/c/secure/acls`))?.status(), 200);
          await vp.goto(`${base}/c/main/g/${ops.group}`);
          assert.equal(await vp.$("#reset-offsets"), null, "no reset form for a viewer");
          const offsets = await ops.committed(admin);
          const reset = { topic: ops.topic, strategy: "earliest" };
          const operate = await vp.evaluate(
            async (sink, group, reset) => {
              const csrf = (document.querySelector("input[name=_csrf]") as Dom).value;
              const post = async (path: string, body: Record<string, string>) =>
                (await fetch(path, {
                  method: "POST",
                  body: new URLSearchParams({ _csrf: csrf, ...body }),
                })).status;
              return [
                await post(`/c/main/connect/connect/${sink}/pause`, {}),
                await post(`/c/main/connect/connect/${sink}/restart`, {}),
                await post(`/c/main/g/${group}/reset/preview`, reset),
                await post(`/c/main/g/${group}/reset/apply`, reset),
              ];
            },
            ops.sink,
            ops.group,
            reset,
          );
          assert.deepEqual(operate, [403, 403, 403, 403]);
          assert.equal((await ops.rest.status(ops.sink)).connector.state, "RUNNING");
          assert.deepEqual(await ops.committed(admin), offsets);
        } finally {
          await ctx.close();
        }
      },
    );

    await t.step(
      "assets come from the console itself; /metrics counts logins and writes",
      async () => {
        assert.deepEqual(outside, [], "no request leaves the console (no CDN)");
        const metrics = await (await fetch(`${base}/metrics`)).text();
        assert.match(metrics, /console_logins_total\{[^}]*outcome="limited"[^}]*\} [1-9]/);
        assert.match(
          metrics,
          /console_writes_total\{[^}]*action="produce",outcome="ok"[^}]*\} 1\b/,
        );
        assert.equal((await fetch(`${base}/healthz`)).status, 200);
      },
    );
  } finally {
    await browser?.close();
    task.child.kill("SIGTERM");
    await task.done();
    await admin.deleteTopics({ topics: [topic, dlq] }).catch(() => {});
    await ops.cleanup(admin);
    await admin.disconnect();
  }
});
