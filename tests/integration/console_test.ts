/**
 * `deno task console` in a real headless browser (Debian's Chromium driven by puppeteer-core)
 * against the test stack's clusters: the login form and its rate limit, the session cookie,
 * brokers of the 3-node cluster and the SASL_SSL cluster, a cluster that is down, an admin who
 * creates a topic and produces a message (checked in Kafka with a separate kafkajs client, not
 * on the page), a viewer and a forged form that cannot write (the topic's end offsets do not
 * move), a dead letter showing its reason, and every bad input answering 4xx naming its field.
 *
 * `CONSOLE_SCREENSHOTS=docs/console` saves screenshots of the main pages there.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import {
  createKafka,
  deadLetter,
  kafkaConfigFromEnv,
  readTopicUntil,
  secureKafkaConfigFromEnv,
} from "../../lib/kafka/mod.ts";
import { setupFinalTopology } from "../../lib/marketplace/mod.ts";
import { hashPassword } from "../../lib/console/mod.ts";
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

Deno.test("console: login, live cluster views, admin writes, viewer and forged writes refused, DLQ reasons, bad input", async (t) => {
  // The console shows every cluster the stack runs: the SASL_SSL one must be up too.
  await testStack({ secure: true });
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
  });
  const topic = unique("console");
  const dlq = `${unique("console-src")}.dlq`;
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
    await admin.disconnect();
  }
});
