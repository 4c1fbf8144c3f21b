/**
 * One platform config: a file written here by hand from the test stack's addresses (cluster A,
 * cluster B, PostgreSQL, Connect, HDFS, Prometheus, the store keys) and ports of this test's
 * own choosing, given to processes whose STACK_DIR is an empty folder and whose port offset is
 * 0 — so nothing but the file can tell them where anything is.
 *
 * - `final:check --config FILE` reaches every component and says ok (cluster A as each of the
 *   platform's principals); the SHOP API started from the file alone serves on the file's port
 *   and writes to cluster A: the product it accepted is in `input-products`, read by Kafka's own
 *   console consumer; the CLIENT API started from the file alone searches the file's PostgreSQL
 *   and verifies tokens with the file's identity key (a token of that key acts as its user only);
 * - with the services, the running SHOP API is ok and a service that is not running is named
 *   with the command that starts it (exit 1);
 * - an env variable overrides one line: PostgreSQL pointed at a closed port fails alone, named;
 * - an unknown key stops `final:check` naming the file and line.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  PLATFORM_STACK_OPTIONS,
  sampleProducts,
  storeKeysFile,
  TOPICS,
} from "../../lib/marketplace/mod.ts";
import {
  ensureForbiddenTable,
  ensureProductsTable,
  identityKeyFile,
  loadStoreKeys,
} from "../../lib/marketplace/mod.ts";
import { localEndpoints } from "../../lib/env/mod.ts";
import { consoleRecords } from "../../lib/stack/mod.ts";
import { eventually, runTask, spawnTask, TEST_ENV, testStack, unique } from "../_stack.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** A port nothing listens on right now. */
function freePort(): number {
  const listener = Deno.listen({ port: 0, hostname: "127.0.0.1" });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

interface CheckJson {
  lines: { component: string; ok: boolean; detail: string }[];
}

Deno.test(
  "platform config: final:check and a service from one file on other ports",
  opts,
  async (t) => {
    const stack = await testStack(PLATFORM_STACK_OPTIONS);
    const setup = await runTask("final:setup");
    assert.equal(setup.code, 0, setup.stdout + setup.stderr);
    // The analytics database and the sink's products table, as final:sink makes them.
    await ensureForbiddenTable(stack.postgres!.url());
    await ensureProductsTable(stack.postgres!.url());
    const secure = localEndpoints(TEST_ENV.STACK_DIR).kafkaSecure as {
      caFile: string;
      secretsFile: string;
    };
    const empty = await Deno.makeTempDir({ prefix: "platform-config-nostack-" });
    const file = join(empty, "platform.env");
    const shopPort = freePort();
    const clientPort = freePort();
    // A token signed with the test stack's own identity key (made on first use).
    const signed = await runTask("final:token", ["user-7"]);
    assert.equal(signed.code, 0, signed.stderr);
    const token = signed.stdout.trim();
    await Deno.writeTextFile(
      file,
      [
        "# The test stack, described by hand",
        `PLATFORM_A_BOOTSTRAP=${stack.secureKafka!.bootstrap()}`,
        `PLATFORM_A_CA_FILE=${secure.caFile}`,
        `PLATFORM_A_PASSWORDS_FILE="${secure.secretsFile}"`,
        `PLATFORM_B_BOOTSTRAP=${stack.mirrorKafka!.bootstrap()}`,
        `PLATFORM_POSTGRES_URL=${stack.postgres!.url()}`,
        `PLATFORM_CONNECT_URL=${stack.connect!.url()}`,
        `PLATFORM_WEBHDFS_URL=${stack.hdfs!.webhdfsUrl()}`,
        `PLATFORM_HDFS_URL=${stack.hdfs!.defaultFs()}`,
        "PLATFORM_SPARK_MASTER=local[2]",
        `PLATFORM_PROMETHEUS_URL=${stack.prometheus!.url()}`,
        `PLATFORM_STORE_KEYS_FILE=${storeKeysFile(TEST_ENV.STACK_DIR)}`,
        `PLATFORM_JWT_SECRET_FILE=${identityKeyFile(TEST_ENV.STACK_DIR)}`,
        `PLATFORM_SHOP_API_PORT=${shopPort}`,
        `PLATFORM_CLIENT_API_PORT=${clientPort}`,
        `PLATFORM_PRODUCT_FILTER_PORT=${freePort()}`,
        `PLATFORM_LAKE_SINK_PORT=${freePort()}`,
        `PLATFORM_EXPORTER_PORT=${freePort()}`,
      ].join("\n") + "\n",
    );
    // Nothing but the file: no stack folder to fall back on, the default ports.
    const onlyFile = { STACK_DIR: empty, STACK_PORT_OFFSET: "0" };
    const check = async (args: string[], env: Record<string, string> = {}) => {
      const r = await runTask("final:check", ["--config", file, "--json", ...args], {
        ...onlyFile,
        ...env,
      });
      const byName = new Map((JSON.parse(r.stdout || '{"lines":[]}') as CheckJson).lines.map(
        (l) => [l.component, l],
      ));
      return { ...r, byName };
    };
    try {
      await t.step("final:check reaches every component the file names", async () => {
        const r = await check(["--no-services"]);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.deepEqual([...r.byName.keys()].sort(), [
          "HDFS",
          "Kafka Connect",
          "PostgreSQL",
          "Prometheus",
          "Spark",
          "cluster A",
          "cluster B",
          "identity",
          "store keys",
        ]);
        for (const l of r.byName.values()) assert.ok(l.ok, `${l.component}: ${l.detail}`);
        assert.match(
          r.byName.get("cluster A")!.detail,
          /: 3 brokers; SASL_SSL as admin, shop-api,/,
        );
      });

      await t.step("with no file, final:check finds the local stack by itself", async () => {
        const r = await runTask("final:check", ["--no-services", "--json"]);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        const lines = (JSON.parse(r.stdout) as CheckJson).lines;
        assert.equal(lines.length, 9);
        for (const l of lines) assert.ok(l.ok, `${l.component}: ${l.detail}`);
        assert.ok(lines.find((l) => l.component === "cluster A")!.detail.startsWith(
          `${stack.secureKafka!.bootstrap()}:`,
        ));
      });

      await t.step("the SHOP API from the file alone writes to cluster A", async () => {
        const api = await spawnTask("final:shop-api", [], { ...onlyFile, PLATFORM_CONFIG: file });
        const url = `http://127.0.0.1:${shopPort}`;
        let stopped: Promise<string> | undefined;
        /** Stops the SHOP API (if it still runs) once; what it wrote to stderr. */
        const stop = () =>
          stopped ??= (async () => {
            try {
              api.child.kill("SIGTERM");
            } catch { /* it exited already */ }
            return (await api.done()).stderr;
          })();
        try {
          await eventually(
            () =>
              fetch(`${url}/healthz`).then((r) => r.body?.cancel().then(() => r.ok), () => false),
            60_000,
            `the SHOP API's /healthz on the file's port ${shopPort}`,
          ).catch(async (err) => {
            throw new Error(`${err.message}; final:shop-api wrote: ${(await stop()).slice(-1500)}`);
          });
          const keys = await loadStoreKeys(storeKeysFile(TEST_ENV.STACK_DIR));
          const [store, key] = Object.entries(keys)[0];
          const id = unique("config");
          const res = await fetch(`${url}/products`, {
            method: "POST",
            headers: {
              authorization: `Bearer ${key}`,
              "content-type": "application/json",
              "x-request-id": id,
            },
            body: JSON.stringify({ ...sampleProducts()[0], product_id: id, store_id: store }),
          });
          assert.equal(res.status, 202, await res.text());

          // With the services: the SHOP API ok, the ones not running named with how to start them.
          const r = await check([]);
          assert.equal(r.code, 1, "services not running fail the check");
          assert.ok(r.byName.get("shop-api")!.ok, r.byName.get("shop-api")!.detail);
          const filter = r.byName.get("product-filter")!;
          assert.equal(filter.ok, false);
          assert.match(filter.detail, /deno task stack restart product-filter/);

          // Kafka's own console consumer on cluster A: the accepted product, once.
          const cluster = stack.secureKafka!;
          const records = (await consoleRecords(TOPICS.inputProducts, {
            kafka: cluster.clientOptions("admin"),
            commandConfig: cluster.secrets().javaClientProperties.admin,
          })).filter((rec) => rec.key === id);
          assert.equal(records.length, 1, JSON.stringify(records));
          assert.equal(records[0].headers["store-id"], store);
        } finally {
          await stop();
        }
      });

      await t.step(
        "the CLIENT API from the file alone: PostgreSQL and the identity key",
        async () => {
          const api = await spawnTask("final:client-api", [], {
            ...onlyFile,
            PLATFORM_CONFIG: file,
          });
          const url = `http://127.0.0.1:${clientPort}`;
          try {
            await eventually(
              () =>
                fetch(`${url}/healthz`).then((r) => r.body?.cancel().then(() => r.ok), () => false),
              60_000,
              `the CLIENT API's /healthz on the file's port ${clientPort}`,
            );
            // Search reads the products table of the file's PostgreSQL.
            const search = await fetch(`${url}/products/search?q=${encodeURIComponent("часы")}`);
            assert.equal(search.status, 200, await search.clone().text());
            assert.ok(Array.isArray((await search.json()).products));
            // The token of the test stack's key is the file's key: accepted as user-7, and only so.
            const auth = { authorization: `Bearer ${token}` };
            const own = await fetch(`${url}/users/user-7/recommendations`, { headers: auth });
            assert.equal(own.status, 200, await own.clone().text());
            assert.equal((await own.json()).user_id, "user-7");
            const other = await fetch(`${url}/users/user-8/recommendations`, { headers: auth });
            await other.body?.cancel();
            assert.equal(other.status, 403);
          } finally {
            try {
              api.child.kill("SIGTERM");
            } catch { /* it exited already */ }
            await api.done();
          }
        },
      );

      await t.step("an env variable overrides one line; a bad file is named", async () => {
        const closed = freePort();
        const r = await check(["--no-services"], {
          PLATFORM_POSTGRES_URL: `postgres://practicum:practicum@127.0.0.1:${closed}/practicum`,
        });
        assert.equal(r.code, 1, r.stdout + r.stderr);
        const failed = [...r.byName.values()].filter((l) => !l.ok).map((l) => l.component);
        assert.deepEqual(failed, ["PostgreSQL"]);
        assert.match(r.byName.get("PostgreSQL")!.detail, new RegExp(`127\\.0\\.0\\.1:${closed}`));
        assert.match(r.byName.get("PostgreSQL")!.detail, /PLATFORM_POSTGRES_URL/);

        await Deno.writeTextFile(file, "\nPLATFORM_KAFKA_A=localhost:1\n", { append: true });
        const bad = await check(["--no-services"]);
        assert.equal(bad.code, 2, bad.stdout + bad.stderr);
        assert.match(bad.stderr, /platform\.env:\d+: unknown key PLATFORM_KAFKA_A/);
      });
    } finally {
      await Deno.remove(empty, { recursive: true }).catch(() => {});
    }
  },
);
