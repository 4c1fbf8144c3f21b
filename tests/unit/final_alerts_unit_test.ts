/**
 * The platform's alert rules without a stack: `promtool check rules` and `promtool test rules`
 * pass, every rule of alerts_final.yml has a promtool case where it fires, Alertmanager's routes
 * send them where alertmanager.yml says (amtool), the job status files the analytics exporter
 * serves round-trip, and the dashboards are well-formed (every panel has a query, unique ids).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "yaml";
import { PROJECT_ROOT } from "../../lib/env/mod.ts";
import { prometheusBinary, prometheusConfig } from "../../lib/stack/mod.ts";
import {
  exportJobStatuses,
  readJobStatuses,
  recordJobRun,
  registry,
} from "../../lib/monitoring/mod.ts";

const PROM_DIR = join(PROJECT_ROOT, "compose/prometheus");

async function run(
  cmd: string,
  args: string[],
): Promise<{ code: number; text: string; stdout: string }> {
  const out = await new Deno.Command(cmd, { args, cwd: PROM_DIR }).output();
  const dec = new TextDecoder();
  const stdout = dec.decode(out.stdout);
  return { code: out.code, text: stdout + dec.decode(out.stderr), stdout };
}

type Rule = { alert: string; expr: string; labels?: Record<string, string> };
const rules = (): Promise<Rule[]> =>
  Deno.readTextFile(join(PROM_DIR, "alerts_final.yml")).then((t) =>
    parse(t).groups.flatMap((g: { rules: Rule[] }) => g.rules)
  );

Deno.test("promtool: alerts_final.yml is valid and every case of alerts_final_test.yml passes", async () => {
  const promtool = await prometheusBinary("promtool");
  const check = await run(promtool, ["check", "rules", "alerts_final.yml"]);
  assert.equal(check.code, 0, check.text);
  const n = (await rules()).length;
  assert.match(check.text, new RegExp(`SUCCESS: ${n} rules found`));
  const test = await run(promtool, ["test", "rules", "alerts_final_test.yml"]);
  assert.equal(test.code, 0, test.text);
  assert.match(test.text, /SUCCESS/);
});

Deno.test("every platform alert has a promtool case where it fires, with severity and team", async () => {
  const tests = parse(await Deno.readTextFile(join(PROM_DIR, "alerts_final_test.yml")));
  const firing = new Set<string>();
  for (const t of tests.tests) {
    for (const c of t.alert_rule_test ?? []) {
      if ((c.exp_alerts ?? []).length > 0) firing.add(c.alertname);
    }
  }
  for (const r of await rules()) {
    assert.ok(firing.has(r.alert), `${r.alert} has a promtool case where it fires`);
    assert.match(r.labels?.severity ?? "", /^(warning|critical)$/, `${r.alert} severity`);
    assert.ok(r.labels?.team, `${r.alert} names the owning team`);
  }
});

Deno.test("a broken rule makes promtool test rules fail (the cases check the thresholds)", async () => {
  const promtool = await prometheusBinary("promtool");
  const dir = await Deno.makeTempDir();
  try {
    // The filter-lag threshold raised above the test's 5000: its firing case must now fail.
    const text = (await Deno.readTextFile(join(PROM_DIR, "alerts_final.yml")))
      .replace('topic="input-products"}) > 1000', 'topic="input-products"}) > 9000');
    await Deno.writeTextFile(join(dir, "alerts_final.yml"), text);
    await Deno.copyFile(
      join(PROM_DIR, "alerts_final_test.yml"),
      join(dir, "alerts_final_test.yml"),
    );
    const out = await new Deno.Command(promtool, {
      args: ["test", "rules", "alerts_final_test.yml"],
      cwd: dir,
    }).output();
    const msg = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.notEqual(out.code, 0, msg);
    assert.match(msg, /FinalFilterLag/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the stack's Prometheus config loads the platform rules and passes promtool check config", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cfg = prometheusConfig({ dir, targets: { kafka: ["127.0.0.1:7071"] } });
    const files = cfg.rule_files as string[];
    assert.ok(files.some((f) => f.endsWith("compose/prometheus/alerts_final.yml")), `${files}`);
    assert.ok(files.some((f) => f.endsWith("prometheus/rules/*.yml")), `${files}`);
    const { stringify } = await import("yaml");
    const file = join(dir, "prometheus.yml");
    await Deno.writeTextFile(file, stringify(cfg));
    const out = await run(await prometheusBinary("promtool"), ["check", "config", file]);
    assert.equal(out.code, 0, out.text);
    assert.match(out.text, /alerts_final\.yml/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Alertmanager routes: critical platform alerts page the on-call, the rest go to the team", async () => {
  const amtool = "/usr/bin/amtool";
  try {
    await Deno.stat(amtool);
  } catch {
    await prometheusBinary("prometheus-alertmanager"); // installs the package that ships amtool
  }
  const route = async (...labels: string[]) => {
    const out = await run(amtool, [
      "config",
      "routes",
      "test",
      "--config.file=alertmanager.yml",
      ...labels,
    ]);
    assert.equal(out.code, 0, out.text);
    return out.stdout.trim(); // the receiver's name (amtool warns on stderr)
  };
  assert.equal((await run(amtool, ["check-config", "alertmanager.yml"])).code, 0);
  assert.equal(
    await route("alertname=FinalKafkaBrokerDown", "severity=critical"),
    "platform-oncall",
  );
  assert.equal(await route("alertname=FinalDlqGrowth", "severity=warning"), "platform-team");
  assert.equal(await route("alertname=KafkaConsumerLag", "severity=warning"), "default");
  // Every critical rule of the platform reaches the on-call.
  for (const r of (await rules()).filter((r) => r.labels?.severity === "critical")) {
    assert.equal(await route(`alertname=${r.alert}`, "severity=critical"), "platform-oncall");
  }
});

Deno.test("job status files: a failed run keeps the last success; the exporter serves both", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ok = new Date("2026-01-01T10:00:00Z");
    await recordJobRun(dir, { job: "marts", ok: true, at: ok, rows: 42 });
    await recordJobRun(dir, {
      job: "marts",
      ok: false,
      at: new Date("2026-01-01T11:00:00Z"),
      error: "boom",
    });
    const [s] = await readJobStatuses(dir);
    assert.equal(s.lastRunOk, false);
    assert.equal(s.lastSuccessAt, ok.toISOString());
    assert.equal(s.lastRows, 42);
    await exportJobStatuses(dir);
    const text = await registry.metrics();
    assert.match(text, /analytics_last_run_success\{analytics_job="marts"\} 0/);
    assert.match(
      text,
      new RegExp(
        `analytics_last_success_timestamp_seconds\\{analytics_job="marts"\\} ${
          ok.getTime() / 1000
        }`,
      ),
    );
    await assert.rejects(
      () => recordJobRun(dir, { job: "../x", ok: true }),
      /'job' must match .* current value is \.\.\/x/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("platform dashboards: each panel has a PromQL target and a unique id", async () => {
  const dir = join(PROJECT_ROOT, "compose/grafana/dashboards");
  for (const name of ["final-overview.json", "final-pipeline.json", "final-analytics.json"]) {
    const dash = JSON.parse(await Deno.readTextFile(join(dir, name)));
    assert.ok(dash.uid && dash.title, `${name} has uid and title`);
    assert.ok(dash.panels.length >= 4, `${name}: ${dash.panels.length} panels`);
    const ids = dash.panels.map((p: { id: number }) => p.id);
    assert.equal(new Set(ids).size, ids.length, `${name}: unique panel ids`);
    for (const p of dash.panels) {
      assert.ok(
        p.targets?.length > 0 && p.targets.every((t: { expr: string }) => t.expr),
        `${name}: ${p.title}`,
      );
    }
  }
});
