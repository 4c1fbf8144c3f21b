import assert from "node:assert/strict";
import { join } from "node:path";
import {
  parsePlatformConfig,
  resolvePlatformConfig,
  roleEnv,
} from "../../lib/marketplace/platform_config.ts";
import { ConfigError } from "../../lib/env/mod.ts";

const env = (vars: Record<string, string>) => ({ get: (n: string) => vars[n] });

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail("expected a ConfigError");
}

Deno.test("platform config file: KEY=value lines, comments, quotes; bad lines named by file and line", () => {
  const values = parsePlatformConfig(
    '# cluster A\nPLATFORM_A_BOOTSTRAP=a1:9093,a2:9093\n\nexport PLATFORM_POSTGRES_URL="postgres://u:p@db:5432/x"\n',
    "p.env",
  );
  assert.deepEqual(values, {
    PLATFORM_A_BOOTSTRAP: "a1:9093,a2:9093",
    PLATFORM_POSTGRES_URL: "postgres://u:p@db:5432/x",
  });
  assert.match(
    refusal(() => parsePlatformConfig("\nPLATFORM_KAFKA=x\n", "p.env")),
    /^p\.env:2: unknown key PLATFORM_KAFKA/,
  );
  assert.match(
    refusal(() => parsePlatformConfig("just words", "p.env")),
    /^p\.env:1: expected KEY=value/,
  );
  assert.match(
    refusal(() => parsePlatformConfig("PLATFORM_SHOP_API_PORT=70000", "p.env")),
    /PLATFORM_SHOP_API_PORT \(p\.env\)/,
  );
  assert.match(
    refusal(() => parsePlatformConfig("PLATFORM_B_BOOTSTRAP=broker-without-port", "p.env")),
    /host:port/,
  );
  assert.match(
    refusal(() => parsePlatformConfig("PLATFORM_CONNECT_URL=not a url", "p.env")),
    /a URL/,
  );
});

Deno.test("platform config: env over file over the local stack, each value's source kept", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      join(dir, "endpoints.json"),
      JSON.stringify({
        kafka: { secure: "stack-a:1", mirror: "stack-b:2" },
        postgresUrl: "postgres://s@h:1/d",
      }),
    );
    const file = join(dir, "platform.env");
    await Deno.writeTextFile(
      file,
      "PLATFORM_B_BOOTSTRAP=file-b:3\nPLATFORM_POSTGRES_URL=postgres://f@h:2/d\n",
    );
    const config = resolvePlatformConfig({
      file,
      stackDir: dir,
      env: env({ PLATFORM_POSTGRES_URL: "postgres://e@h:3/d" }),
    });
    assert.equal(config.values.PLATFORM_A_BOOTSTRAP, "stack-a:1");
    assert.equal(config.sources.PLATFORM_A_BOOTSTRAP, "stack");
    assert.equal(config.values.PLATFORM_B_BOOTSTRAP, "file-b:3");
    assert.equal(config.sources.PLATFORM_B_BOOTSTRAP, "file");
    assert.equal(config.values.PLATFORM_POSTGRES_URL, "postgres://e@h:3/d");
    assert.equal(config.sources.PLATFORM_POSTGRES_URL, "env");
    // A bad env value is named as such.
    assert.match(
      refusal(() =>
        resolvePlatformConfig({ file, stackDir: dir, env: env({ PLATFORM_EXPORTER_PORT: "x" }) })
      ),
      /PLATFORM_EXPORTER_PORT \(env\)/,
    );
    // A missing file is one line naming it.
    assert.match(
      refusal(() =>
        resolvePlatformConfig({ file: join(dir, "nope.env"), stackDir: dir, env: env({}) })
      ),
      /PLATFORM_CONFIG=.*nope\.env/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("platform config → each role's variables: cluster A with its principal's password, B for the lake", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const passwords = join(dir, "secrets.json");
    await Deno.writeTextFile(
      passwords,
      JSON.stringify({ users: { "shop-api": "s3cret", admin: "adm" } }),
    );
    const file = join(dir, "platform.env");
    await Deno.writeTextFile(
      file,
      [
        "PLATFORM_A_BOOTSTRAP=a:9093",
        "PLATFORM_A_CA_FILE=/ca.pem",
        `PLATFORM_A_PASSWORDS_FILE=${passwords}`,
        "PLATFORM_B_BOOTSTRAP=b:9092",
        "PLATFORM_WEBHDFS_URL=http://nn:9870/webhdfs/v1",
        "PLATFORM_SHOP_API_PORT=18180",
      ].join("\n"),
    );
    const config = resolvePlatformConfig({ file, stackDir: dir, env: env({}) });
    const shop = roleEnv(config, "shop-api");
    assert.equal(shop.KAFKA_BOOTSTRAP_SERVERS, "a:9093");
    assert.equal(shop.KAFKA_SSL_CA_FILE, "/ca.pem");
    assert.equal(shop.KAFKA_SASL_PASSWORD, "s3cret");
    assert.equal(shop.SHOP_API_PORT, "18180");
    const lake = roleEnv(config, "lake-sink");
    assert.equal(lake.LAKE_BOOTSTRAP_SERVERS, "b:9092");
    assert.equal(lake.WEBHDFS_URL, "http://nn:9870/webhdfs/v1");
    assert.equal(lake.KAFKA_BOOTSTRAP_SERVERS, undefined, "the lake's KAFKA_* are cluster B's");
    assert.equal(lake.KAFKA_SASL_PASSWORD, undefined);
    assert.equal(roleEnv(config, "platform-exporter").KAFKA_SASL_PASSWORD, "adm");
    // A principal without a password gets none (final:check names it).
    assert.equal(roleEnv(config, "product-filter").KAFKA_SASL_PASSWORD, undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
