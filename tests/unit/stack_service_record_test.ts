/**
 * lib/stack's record of how a Deno service was started (`<dir>/<name>/service.json`): written
 * on start, read back as the same service — so `stack status`, `logs`, `restart` and `stop`
 * know the services other tasks started on a stack (the platform's) — and a record that is
 * not one is refused. No process is started here.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  DenoService,
  parseServiceRecord,
  recordedDenoServices,
  serviceRecordFile,
  Stack,
} from "../../lib/stack/mod.ts";

const record = {
  name: "shop-api",
  script: "tasks/final/shop_api.ts",
  port: 8180,
  portName: "http",
  flags: false,
  env: { STACK_DIR: "/s", SHOP_API_PORT: "8180", LOG_LEVEL: "ERROR" },
};

Deno.test("service record: a well-formed record parses; anything else is refused", () => {
  assert.deepEqual(parseServiceRecord(JSON.stringify(record)), record);
  assert.deepEqual(
    parseServiceRecord(JSON.stringify({ name: "x", script: "t.ts", port: 1, args: ["--a=1"] })),
    { name: "x", script: "t.ts", port: 1, args: ["--a=1"] },
  );
  for (
    const bad of [
      "not json",
      "null",
      "[]",
      JSON.stringify({ ...record, port: "8180" }),
      JSON.stringify({ ...record, name: "../etc" }),
      JSON.stringify({ ...record, env: { A: 1 } }),
      JSON.stringify({ ...record, args: [1] }),
      JSON.stringify({ ...record, flags: "no" }),
      JSON.stringify({ name: "x", port: 1 }),
    ]
  ) {
    assert.equal(parseServiceRecord(bad), undefined, bad);
  }
});

Deno.test("service record: the stack finds recorded services as attached ones, its own excluded", async () => {
  const dir = await Deno.makeTempDir({ prefix: "service-record-" });
  try {
    const write = async (name: string, text: string) => {
      await Deno.mkdir(join(dir, name), { recursive: true });
      await Deno.writeTextFile(serviceRecordFile(dir, name), text);
    };
    await write("shop-api", JSON.stringify(record));
    await write(
      "product-filter",
      JSON.stringify({ ...record, name: "product-filter", port: 8380 }),
    );
    // The lag exporter is one of the stack's own services with monitoring on.
    await write("lag-exporter", JSON.stringify({ ...record, name: "lag-exporter", port: 9308 }));
    // A record naming another folder's service is not this folder's.
    await write("elsewhere", JSON.stringify(record));
    await Deno.mkdir(join(dir, "kafka-main"));

    const found = await recordedDenoServices(dir);
    assert.deepEqual(found.map((s) => [s.name, s.port]), [
      ["lag-exporter", 9308],
      ["product-filter", 8380],
      ["shop-api", 8180],
    ]);
    const stack = new Stack({ dir, monitoring: true, jmx: false, portOffset: 0 });
    assert.deepEqual((await stack.attached()).map((s) => s.name), ["product-filter", "shop-api"]);
    assert.equal((await stack.service("shop-api")).name, "shop-api");
    assert.equal((await stack.service("postgres")).name, "postgres");
    assert.equal((await stack.service("kafka-main")).name, "main", "by the name reset uses");
    await assert.rejects(
      () => stack.service("shop"),
      /No service named 'shop' in .*: its services are kafka-main, postgres, .*shop-api/,
    );
    // Not running: stopped, with its port by purpose and its log beside the record.
    const [st] = await (await stack.service("shop-api")).status();
    assert.deepEqual([st.state, st.ports, st.log], [
      "stopped",
      { http: 8180 },
      join(dir, "shop-api", "shop-api.log"),
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("service record: what a start writes reads back as the same service (no secrets in view: 0600)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "service-record-" });
  try {
    // A script that exits at once: start writes the record, then fails its start-up check.
    await Deno.writeTextFile(join(dir, "exit.ts"), "Deno.exit(3);\n");
    const svc = new DenoService({
      dir,
      name: "quick-exit",
      script: join(dir, "exit.ts"),
      port: 1,
      args: ["--x=1"],
      env: { A: "b c" },
      flags: false,
    });
    await assert.rejects(() => svc.start(), /quick-exit exited during start-up/);
    const info = await Deno.stat(svc.recordFile);
    assert.equal(info.mode! & 0o777, 0o600);
    const [again] = await recordedDenoServices(dir);
    assert.equal(again.name, "quick-exit");
    assert.equal(again.envFile, svc.envFile);
    assert.deepEqual(parseServiceRecord(await Deno.readTextFile(svc.recordFile)), {
      name: "quick-exit",
      script: join(dir, "exit.ts"),
      port: 1,
      args: ["--x=1"],
      env: { A: "b c" },
      flags: false,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
