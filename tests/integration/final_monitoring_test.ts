/**
 * Monitoring of the platform on the live stack: Prometheus loads the platform's rules and
 * scrapes `final:exporter` (clusters A and B); every panel query of the platform's dashboards
 * is accepted by Prometheus; a DLQ-growth drill (records into a `*.dlq` topic of cluster B)
 * fires FinalDlqGrowth in `/api/v1/alerts`; a broker of A killed with SIGKILL turns
 * FinalKafkaBrokerDown and FinalUnderReplicatedPartitions active, and the product filter's group
 * left behind input-products FinalFilterLag (both drills at once; each alert is checked
 * pending or firing — the `for:` wait itself is proven by promtool's rule tests);
 * `final:dashboard`'s page renders in headless Chromium with data drawn on its charts. Adds the
 * monitoring services to the shared stack; the killed broker is started again and the drill's
 * lag committed away before the test ends.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import puppeteer from "puppeteer-core";
import { createKafka, kafkaConfigFromEnv, secureKafkaConfigFromEnv } from "../../lib/kafka/mod.ts";
import {
  expandExpr,
  GROUPS,
  loadDashboardPanels,
  queryPanels,
  serveDashboard,
  setupFinalTopology,
  TOPICS,
} from "../../lib/marketplace/mod.ts";
import { eventually, spawnTask, TEST_ENV, testStack, unique } from "../_stack.ts";
import { localEndpoints } from "../../lib/env/mod.ts";
import { scrapeTargetsDir } from "../../lib/stack/mod.ts";

const stack = await testStack({ monitoring: true });
const prom = stack.prometheus!.url();
// Cluster B from the stack, or from its endpoints file (stack.json may be rewritten meanwhile by
// another test file that adds and removes services).
const bBootstrap = stack.mirrorKafka?.bootstrap() ??
  localEndpoints(TEST_ENV.STACK_DIR).kafka.mirror;

/**
 * Runs in the page: per panel, the series it has and the pixels of the series' colours on its
 * canvas (the drawn lines — axes and grid are grey/black, so an empty chart counts 0).
 */
const COUNT_DRAWN_PIXELS = `(() => {
  const palette = [[31,119,180],[214,39,40],[44,160,44],[255,127,14],[148,103,189],[140,86,75],
    [227,119,194],[23,190,207]];
  return [...document.querySelectorAll(".panel")].map((el) => {
    const canvas = el.querySelector("canvas");
    let pixels = 0;
    if (canvas) {
      const px = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
      for (let i = 0; i < px.length; i += 4) {
        if (px[i + 3] < 200) continue;
        if (palette.some(([r, g, b]) => Math.abs(px[i] - r) < 12 && Math.abs(px[i + 1] - g) < 12 &&
          Math.abs(px[i + 2] - b) < 12)) pixels++;
      }
    }
    return { title: el.dataset.title, series: Number(el.dataset.series), pixels };
  });
})()`;

type Alert = { labels: Record<string, string>; annotations: Record<string, string>; state: string };

/** The first alert in Prometheus' `/api/v1/alerts` that is firing and matches `labels`. */
async function firing(labels: Record<string, string>): Promise<Alert | undefined> {
  return await alert(labels, ["firing"]);
}

/**
 * The alert with these labels once its expression holds: pending (waiting out its `for:`) or
 * already firing. How long `for:` waits is promtool's to prove (compose/prometheus/
 * alerts_final_test.yml, run by the unit tests); the live drill proves the expression catches
 * the real fault, with its labels and summary.
 */
async function active(labels: Record<string, string>): Promise<Alert | undefined> {
  return await alert(labels, ["pending", "firing"]);
}

async function alert(labels: Record<string, string>, states: string[]) {
  const body = await (await fetch(`${prom}/api/v1/alerts`)).json();
  return (body.data.alerts as Alert[]).find((a) =>
    states.includes(a.state) && Object.entries(labels).every(([k, v]) => a.labels[k] === v)
  );
}

/** Every rule Prometheus has loaded, by name: its health and last evaluation error. */
async function loadedRules(): Promise<Map<string, { health: string; lastError?: string }>> {
  const body = await (await fetch(`${prom}/api/v1/rules`)).json();
  type Rule = { name: string; health: string; lastError?: string };
  return new Map(
    body.data.groups.flatMap((g: { rules: Rule[] }) =>
      g.rules.map((r) => [r.name, { health: r.health, lastError: r.lastError }])
    ),
  );
}

async function promQuery(expr: string) {
  const res = await fetch(`${prom}/api/v1/query?query=${encodeURIComponent(expr)}`);
  return await res.json();
}

/** `final:exporter` for this file, scraped by the stack's Prometheus. */
async function startExporter() {
  const task = await spawnTask("final:exporter", ["--port", "0", "--interval-ms", "2000"]);
  const address = await eventually(
    () => task.lines.map((l) => l.match(/http:\/\/(127\.0\.0\.1:\d+)\/metrics/)?.[1]).find(Boolean),
    30_000,
    "the exporter's address",
  );
  await eventually(
    async () => {
      const r = await promQuery(`up{job="deno", instance="${address}"} == 1`);
      return r.data.result.length > 0;
    },
    60_000,
    `Prometheus scraping the exporter at ${address}`,
  );
  return {
    address,
    stop: async () => {
      task.child.kill("SIGTERM");
      await task.done();
    },
  };
}

Deno.test("final monitoring: rules, panel queries, DLQ drill, dashboard page in Chromium", async (t) => {
  assert.ok(bBootstrap, "the shared stack runs cluster B (mirror)");
  // Prometheus may still hold the config from before this file: reload to load the rules.
  await fetch(`${prom}/-/reload`, { method: "POST" }).then((r) => r.body?.cancel());
  const t0 = Date.now();
  const exporter = await startExporter();
  console.error(`exporter scraped after ${Date.now() - t0} ms`);
  try {
    await t.step("Prometheus evaluates every platform rule", async () => {
      const { parse } = await import("yaml");
      const file = parse(
        await Deno.readTextFile(
          new URL("../../compose/prometheus/alerts_final.yml", import.meta.url),
        ),
      );
      const names: string[] = file.groups.flatMap((g: { rules: { alert: string }[] }) =>
        g.rules.map((r) => r.alert)
      );
      // A rule is "unknown" from a (re)load until its group's first evaluation: wait for every
      // rule to be evaluated; one that errs stops the wait and fails below.
      const rules = await eventually(
        async () => {
          const now = await loadedRules();
          const failing = names.filter((n) => now.get(n)?.health === "err");
          const pending = names.filter((n) => now.get(n)?.health !== "ok");
          if (failing.length > 0 || pending.length === 0) return now;
          throw new Error(
            `not yet: ${
              pending.map((n) => `${n} ${now.get(n)?.health ?? "not loaded"}`).join(", ")
            }`,
          );
        },
        120_000,
        `each of the ${names.length} rules of alerts_final.yml evaluated with health "ok"`,
      );
      const notOk = names.filter((n) => rules.get(n)?.health !== "ok")
        .map((n) => `${n}: ${rules.get(n)?.health} ${rules.get(n)?.lastError ?? ""}`);
      assert.deepEqual(notOk, [], "every platform rule evaluates without error");
    });

    await t.step("the exporter's view of A and B reaches Prometheus", async () => {
      const up = await eventually(
        async () => {
          const r = await promQuery("sum by (cluster) (kafka_cluster_broker_up)");
          return r.data.result.length === 2 ? r.data.result : undefined;
        },
        30_000,
        "brokers of A and B in Prometheus",
      );
      const byCluster = Object.fromEntries(
        up.map((s: { metric: { cluster: string }; value: [number, string] }) => [
          s.metric.cluster,
          Number(s.value[1]),
        ]),
      );
      assert.equal(byCluster.A, 3, "cluster A: 3 brokers up");
      assert.ok(byCluster.B >= 1, "cluster B: its brokers up");
    });

    await t.step("every dashboard panel's PromQL is accepted by the live Prometheus", async () => {
      const panels = await loadDashboardPanels();
      assert.ok(panels.length >= 20, `${panels.length} panels`);
      const failed: string[] = [];
      for (const p of panels) {
        for (const target of p.targets) {
          const body = await promQuery(expandExpr(target.expr, 1800, 15));
          if (body.status !== "success") failed.push(`${p.title}: ${body.error}`);
        }
      }
      assert.deepEqual(failed, []);
    });

    await t.step("drill: records into a *.dlq topic of B fire FinalDlqGrowth", async () => {
      const kafka = createKafka(
        kafkaConfigFromEnv({ clientId: "monitoring-drill", logLevel: "ERROR" }, {
          get: (n) => n === "KAFKA_BOOTSTRAP_SERVERS" ? bBootstrap : undefined,
        }),
      );
      const topic = `${unique("drill-events")}.dlq`;
      const admin = kafka.admin();
      await admin.connect();
      const producer = kafka.producer({ idempotent: true });
      try {
        await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
        // Prometheus first sees the DLQ empty, then growing.
        await eventually(
          async () => {
            const r = await promQuery(
              `kafka_cluster_topic_end_offset{cluster="B", topic="${topic}"}`,
            );
            return r.data.result.length > 0;
          },
          30_000,
          `${topic} at 0 in Prometheus`,
        );
        assert.equal(
          (await (await fetch(`${prom}/api/v1/alerts`)).json()).data.alerts
            .filter((a: { labels: Record<string, string> }) => a.labels.topic === topic).length,
          0,
          "no alert before the drill",
        );
        await producer.connect();
        await producer.send({
          topic,
          acks: -1,
          messages: [1, 2, 3].map((i) => ({
            key: `poison-${i}`,
            value: Buffer.from([0xff, 0xfe, i]), // not UTF-8, not JSON: what a DLQ receives
            headers: { "dlq.error": "drill: invalid record", "dlq.source.topic": "drill-events" },
          })),
        });
        const alert = await eventually(
          async () => {
            const body = await (await fetch(`${prom}/api/v1/alerts`)).json();
            return body.data.alerts.find((a: { labels: Record<string, string>; state: string }) =>
              a.labels.alertname === "FinalDlqGrowth" && a.labels.topic === topic &&
              a.state === "firing"
            );
          },
          60_000,
          `FinalDlqGrowth firing for ${topic}`,
        );
        assert.equal(alert.labels.cluster, "B");
        assert.equal(alert.labels.severity, "warning");
        assert.match(
          alert.annotations.summary,
          new RegExp(`^3 records reached ${topic.replace(".", "\\.")}`),
        );
      } finally {
        await producer.disconnect().catch(() => {});
        await admin.deleteTopics({ topics: [topic] }).catch(() => {});
        await admin.disconnect();
      }
    });

    await t.step(
      "drills: a broker of A killed (FinalKafkaBrokerDown, FinalUnderReplicatedPartitions) and the filter left behind (FinalFilterLag)",
      async () => {
        const secure = stack.secureKafka;
        assert.ok(secure, "the shared stack runs cluster A (secure)");
        const victim = secure.cluster.nodeIds.at(-1)!;
        const kafka = createKafka(
          secureKafkaConfigFromEnv("admin", {
            clientId: "monitoring-drill-a",
            logLevel: "NOTHING",
          }),
        );
        const admin = kafka.admin();
        await admin.connect();
        const producer = kafka.producer({ idempotent: true });
        const group = GROUPS.productFilter;
        const topic = TOPICS.inputProducts;
        /** Commits the group at the topic's end: its lag is 0 (before and after the drill). */
        const commitAtEnd = async () => {
          const ends = await admin.fetchTopicOffsets(topic);
          await admin.setOffsets({
            groupId: group,
            topic,
            partitions: ends.map((p) => ({ partition: p.partition, offset: p.offset })),
          });
        };
        let killed = false;
        try {
          await setupFinalTopology(admin);
          const [described] = (await admin.describeGroups([group])).groups;
          assert.equal(
            described.members.length,
            0,
            `no ${group} runs on the shared stack during the drill (state ${described.state})`,
          );
          await commitAtEnd();
          for (const name of ["FinalKafkaBrokerDown", "FinalFilterLag"]) {
            assert.equal(
              await firing({ alertname: name, cluster: "A" }),
              undefined,
              `${name} before`,
            );
          }

          // The filter falls 1,500 records behind: products arrive, nobody in its group reads.
          await producer.connect();
          const behind = 1_500;
          for (let i = 0; i < behind; i += 500) {
            await producer.send({
              topic,
              acks: -1,
              messages: Array.from({ length: 500 }, (_, j) => ({
                key: `drill-${i + j}`,
                value: JSON.stringify({ drill: "filter lag", n: i + j }),
              })),
            });
          }
          // A broker of A dies the hard way.
          await secure.cluster.stopNode(victim, { hard: true });
          killed = true;

          // Each rule's expression catches the fault: its alert turns active (pending, then
          // firing once its `for:` has passed — that wait is promtool's to prove).
          const [down, underReplicated, lag] = await Promise.all([
            eventually(
              () =>
                active({ alertname: "FinalKafkaBrokerDown", cluster: "A", broker: String(victim) }),
              90_000,
              `FinalKafkaBrokerDown active for broker ${victim} of A`,
            ),
            eventually(
              () => active({ alertname: "FinalUnderReplicatedPartitions", cluster: "A", topic }),
              90_000,
              `FinalUnderReplicatedPartitions active for ${topic} on A`,
            ),
            eventually(
              () => active({ alertname: "FinalFilterLag", group, topic }),
              90_000,
              `FinalFilterLag active for ${group} on ${topic}`,
            ),
          ]);
          assert.equal(down.labels.severity, "critical");
          assert.equal(down.annotations.summary, `Kafka broker down: cluster A broker ${victim}`);
          assert.equal(underReplicated.labels.severity, "warning");
          assert.match(
            underReplicated.annotations.summary,
            /^Cluster A: [1-9]\d* under-replicated/,
          );
          assert.equal(lag.labels.cluster, "A");
          // The records the drill wrote, or more: a product the shop sent meanwhile counts too.
          const behindNow = Number(lag.annotations.summary.match(/is (\d+) records behind/)?.[1]);
          assert.ok(behindNow >= behind, `lag in the alert: ${lag.annotations.summary}`);
        } finally {
          // Put the shared stack back: the broker up and in sync, the drill's records skipped.
          if (killed) await secure.cluster.startNode(victim);
          await commitAtEnd().catch((e) => console.error(`drill clean-up: ${e}`));
          await producer.disconnect().catch(() => {});
          await admin.disconnect();
        }
        await eventually(
          async () => {
            const r = await promQuery(
              `sum(kafka_cluster_under_replicated_partitions{cluster="A"}) == 0 and ` +
                `sum(kafka_cluster_broker_up{cluster="A"}) == ${secure.cluster.nodeIds.length}`,
            );
            return r.data.result.length > 0;
          },
          120_000,
          "cluster A whole and in sync again after the drill",
        );
      },
    );

    await t.step(
      "final:dashboard's page renders in headless Chromium with data on its charts",
      async () => {
        const server = await serveDashboard({
          prometheusUrl: prom,
          port: 0,
          rangeSec: 600,
          stepSec: 5,
        });
        const browser = await puppeteer.launch({
          executablePath: "/usr/bin/chromium",
          headless: true,
          args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        });
        try {
          const page = await browser.newPage();
          await page.setViewport({ width: 1600, height: 1000 });
          const requests: string[] = [];
          page.on("request", (r) => requests.push(r.url()));
          await page.goto(`http://127.0.0.1:${server.addr.port}/`, { waitUntil: "load" });
          await page.waitForSelector("body[data-ready=true]", { timeout: 30_000 });
          // Per panel: series it has, and pixels of the series' colours on its canvas (the drawn
          // lines — axes and grid are grey/black, so an empty chart counts 0).
          const drawn = await page.evaluate(COUNT_DRAWN_PIXELS) as {
            title: string;
            series: number;
            pixels: number;
          }[];
          const panels = await loadDashboardPanels();
          assert.equal(drawn.length, panels.length, "one chart box per panel");
          const withData = drawn.filter((d) => d.series > 0);
          for (const d of withData) {
            assert.ok(d.pixels > 50, `${d.title}: ${d.pixels} drawn pixels`);
          }
          // The exporter's panels always have data on this stack.
          for (const title of ["Brokers up (cluster A)", "Mirror: records per topic on A and B"]) {
            const d = drawn.find((x) => x.title === title);
            assert.ok(d && d.series > 0 && d.pixels > 50, `${title}: ${JSON.stringify(d)}`);
          }
          assert.ok(withData.length >= 6, `${withData.length} panels drawn with data`);
          // The page uses the window's width: panels side by side, charts as wide as panels.
          const layout = await page.evaluate(`(() => {
            const grid = document.querySelector(".grid").getBoundingClientRect();
            const panels = [...document.querySelector(".grid").children]
              .map((el) => el.getBoundingClientRect());
            const row = panels.filter((r) => r.top === panels[0].top);
            const canvas = document.querySelector(".panel canvas").getBoundingClientRect();
            return { window: innerWidth, grid: grid.width, perRow: row.length,
              row: row.at(-1).right - row[0].left, panel: panels[0].width, canvas: canvas.width };
          })()`) as Record<string, number>;
          const seen = JSON.stringify(layout);
          assert.ok(layout.grid >= 0.9 * layout.window, seen);
          assert.ok(layout.perRow >= 2 && layout.row >= 0.95 * layout.grid, seen);
          assert.ok(layout.canvas >= layout.panel - 40, `charts fill their panel: ${seen}`);
          assert.ok(
            requests.every((u) => u.startsWith(`http://127.0.0.1:${server.addr.port}/`)),
            `no request leaves the page's server: ${requests}`,
          );
        } finally {
          await browser.close();
          await server.shutdown();
        }
      },
    );

    await t.step(
      "API error ratio (5xx): 0 for an API scraped without 5xx, no line for an API not scraped",
      async () => {
        // A stand-in API whose /metrics counts 2xx answers only, scraped under names of its own
        // (metric and service), and the panel's queries pointed at those names: the platform's
        // own panels never see it (a short line would be a panel without a drawn chart).
        const name = unique("stand_in").replaceAll("-", "_");
        const service = name.replaceAll("_", "-");
        const fake = Deno.serve(
          { hostname: "127.0.0.1", port: 0, onListen: () => {} },
          (req) =>
            new URL(req.url).pathname === "/metrics"
              ? new Response(
                `# TYPE ${name}_requests_total counter\n${name}_requests_total{status="202"} 5\n`,
              )
              : new Response("not found\n", { status: 404 }),
        );
        const address = `127.0.0.1:${fake.addr.port}`;
        const target = join(scrapeTargetsDir(TEST_ENV.STACK_DIR), `${service}.json`);
        await Deno.writeTextFile(
          target,
          JSON.stringify([{ targets: [address], labels: { service } }]),
        );
        try {
          await eventually(
            async () =>
              (await promQuery(`up{job="deno", instance="${address}"} == 1`)).data.result.length >
                0,
            60_000,
            "Prometheus scraping the stand-in API",
          );
          const panel = (await loadDashboardPanels()).find((p) =>
            p.title === "API error ratio (5xx)"
          );
          assert.ok(panel, "the error-ratio panel");
          const shopTarget = panel.targets.find((t) => t.legend === "SHOP API")!;
          const expr = shopTarget.expr.replaceAll(
            "shop_api_requests_total",
            `${name}_requests_total`,
          )
            .replaceAll('service="shop-api"', `service="${service}"`);
          assert.notEqual(expr, shopTarget.expr);
          const standIn = { ...panel, targets: [{ expr, legend: "stand-in" }] };
          const [data] = await queryPanels([standIn], {
            prometheusUrl: prom,
            rangeSec: 300,
          });
          assert.deepEqual(data.errors, []);
          assert.equal(data.series.length, 1, `a line, not "no data": ${JSON.stringify(data)}`);
          assert.equal(data.series[0].points.at(-1)![1], 0, "ratio 0: up, no 5xx");
          // Stopped and gone from the targets: no line once Prometheus marks it stale.
          await Deno.remove(target);
          await eventually(
            async () =>
              (await promQuery(`up{job="deno", instance="${address}"}`)).data.result.length === 0,
            60_000,
            "the stand-in API gone from Prometheus' targets",
          );
          const now = await promQuery(expandExpr(expr, 300, 15));
          assert.deepEqual(now.data.result, [], "no value once the target is gone");
        } finally {
          await Deno.remove(target).catch(() => {});
          await fake.shutdown();
        }
      },
    );
  } finally {
    const t1 = Date.now();
    await exporter.stop();
    console.error(`exporter stopped in ${Date.now() - t1} ms`);
  }
});
