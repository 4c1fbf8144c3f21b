/**
 * The SHOP API's store keys in a temporary folder: the key file created with the sample and
 * left alone after (a revoked store stays revoked), add/rotate/revoke/list with their errors,
 * mode 0600 and no temporary file left, the first format still read; {@linkcode StoreKeyFile}
 * following the file on a clock of its own (a revoked key refused once the interval passed, a
 * key just added taken at once, a broken file keeping the last good keys with one line logged);
 * and the handler answering 401/202 as the file changes.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  addStore,
  ensureStoreKeys,
  listStores,
  loadStoreKeys,
  type ProductSink,
  revokeStore,
  rotateStore,
  sampleProducts,
  shopApiHandler,
  StoreKeyFile,
} from "../../lib/marketplace/mod.ts";
import { ConfigError } from "../../lib/env/mod.ts";

async function withDir(fn: (file: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "store-keys-" });
  try {
    await fn(join(dir, "secrets", "final", "store-keys.json"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function folderOf(file: string): Promise<string[]> {
  const dir = file.slice(0, file.lastIndexOf("/"));
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
}

Deno.test("store keys: the sample when the file is absent, then add, rotate, revoke, list", async () => {
  await withDir(async (file) => {
    const sample = await ensureStoreKeys(["store_001", "store_002"], file);
    assert.deepEqual(Object.keys(sample).sort(), ["store_001", "store_002"]);
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);

    const key = await addStore("store_006", file, new Date("2026-01-02T03:04:05Z"));
    assert.match(key, /^[A-Za-z0-9_-]{43}$/);
    assert.equal((await loadStoreKeys(file)).store_006, key);
    assert.deepEqual(await listStores(file), [
      { store: "store_001", created: (await listStores(file))[0].created },
      { store: "store_002", created: (await listStores(file))[1].created },
      { store: "store_006", created: "2026-01-02T03:04:05.000Z" },
    ]);
    // list never carries a key.
    assert.ok(!JSON.stringify(await listStores(file)).includes(key));

    const rotated = await rotateStore("store_006", file, new Date("2026-02-03T04:05:06Z"));
    assert.notEqual(rotated, key);
    assert.equal((await loadStoreKeys(file)).store_006, rotated);
    assert.equal((await listStores(file)).at(-1)!.created, "2026-02-03T04:05:06.000Z");

    await revokeStore("store_001", file);
    assert.deepEqual(Object.keys(await loadStoreKeys(file)).sort(), ["store_002", "store_006"]);
    // The setup leaves an existing file alone: the revoked sample store stays revoked.
    await ensureStoreKeys(["store_001", "store_002"], file);
    assert.equal((await loadStoreKeys(file)).store_001, undefined);

    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600, "still 0600 after rewrites");
    assert.deepEqual(
      await folderOf(file),
      ["store-keys.json", "store-keys.json.lock"],
      "no temporary file left",
    );
    assert.equal((await Deno.stat(`${file}.lock`)).mode! & 0o077, 0);
  });
});

Deno.test("store keys: errors name the argument and say what to run", async () => {
  await withDir(async (file) => {
    await assert.rejects(() => addStore("store_006", file), /run `deno task final:setup`/);
    await ensureStoreKeys(["store_001"], file);
    for (const bad of ["", "a b", "-x", "x".repeat(65), "../etc", "störe"]) {
      await assert.rejects(
        () => addStore(bad, file),
        (e) =>
          e instanceof ConfigError &&
          /^Cannot use STORE_ID as it must be 1-64 letters/.test(e.message) &&
          e.message.endsWith(`current value is '${bad}'`),
      );
    }
    await assert.rejects(() => addStore("store_001", file), /rotate it with .*rotate store_001/);
    await assert.rejects(() => rotateStore("nope", file), /Cannot rotate STORE_ID 'nope'.*add/);
    await assert.rejects(() => revokeStore("nope", file), /Cannot revoke STORE_ID 'nope'/);
    await Deno.writeTextFile(file, "{not json");
    await assert.rejects(() => loadStoreKeys(file), /Cannot use store keys from .* not JSON/);
    await Deno.writeTextFile(file, JSON.stringify({ store_001: { key: "short" } }));
    await assert.rejects(() => loadStoreKeys(file), /the entry of 'store_001'/);
  });
});

Deno.test("store keys: changes at once do not lose one another (the lock)", async () => {
  await withDir(async (file) => {
    await ensureStoreKeys(["store_001"], file);
    const ids = Array.from({ length: 20 }, (_, i) => `store_1${String(i).padStart(2, "0")}`);
    await Promise.all([
      ...ids.map((id) => addStore(id, file)),
      rotateStore("store_001", file),
    ]);
    assert.deepEqual(Object.keys(await loadStoreKeys(file)).sort(), ["store_001", ...ids]);
  });
});

Deno.test("store keys: a file of the first format ({ store: key }) is read and upgraded on change", async () => {
  await withDir(async (file) => {
    await ensureStoreKeys([], file); // the folder
    await Deno.writeTextFile(file, JSON.stringify({ store_001: "k".repeat(43) }));
    assert.deepEqual(await loadStoreKeys(file), { store_001: "k".repeat(43) });
    assert.deepEqual(await listStores(file), [{ store: "store_001", created: "" }]);
    await addStore("store_002", file);
    const raw = JSON.parse(await Deno.readTextFile(file));
    assert.deepEqual(raw.store_001, { key: "k".repeat(43), created: "" });
  });
});

Deno.test("StoreKeyFile: follows the file at most once per interval; unknown keys look at once; a broken file keeps the last keys", async () => {
  await withDir(async (file) => {
    const keys = await ensureStoreKeys(["store_001", "store_002"], file);
    let now = 1_000_000;
    const logged: string[] = [];
    const source = await StoreKeyFile.open(file, {
      minIntervalMs: 1_000,
      now: () => now,
      log: (l) => logged.push(l),
    });
    assert.equal(await (await source.keyring()).storeOf(keys.store_001), "store_001");

    // Revoked: still known until the interval passed, refused after.
    await revokeStore("store_001", file);
    assert.equal(await (await source.keyring()).storeOf(keys.store_001), "store_001");
    now += 1_000;
    assert.equal(await (await source.keyring()).storeOf(keys.store_001), undefined);
    assert.match(logged.at(-1)!, /reloaded .*store-keys\.json: 1 stores/);

    // Added: refresh() looks at once.
    const added = await addStore("store_007", file);
    assert.equal(await (await source.keyring()).storeOf(added), undefined, "interval not over");
    assert.equal(await (await source.refresh()).storeOf(added), "store_007");

    // Broken: the last good keys stay, one line for this version of the file.
    const before = logged.length;
    await Deno.writeTextFile(file, "{ half a fi");
    now += 1_000;
    const ring = await source.keyring();
    assert.equal(await ring.storeOf(added), "store_007");
    assert.equal(await ring.storeOf(keys.store_002), "store_002");
    now += 1_000;
    await source.keyring();
    await source.refresh();
    assert.equal(logged.length, before + 1, logged.join("\n"));
    assert.match(
      logged.at(-1)!,
      /cannot use .* as not JSON.*keeping the last good keys \(2 stores\)/,
    );

    // Gone: the same. Back and good: taken.
    await Deno.remove(file);
    now += 1_000;
    assert.equal(await (await source.keyring()).storeOf(added), "store_007");
    assert.match(logged.at(-1)!, /cannot read .*keeping the last good keys/);
    await ensureStoreKeys(["store_009"], file);
    now += 1_000;
    assert.equal(await (await source.keyring()).storeOf(added), undefined);
    assert.deepEqual(await (await source.keyring()).stores(), ["store_009"]);
  });
});

class FakeSink implements ProductSink {
  sent = 0;
  send() {
    return Promise.resolve({ topic: "input-products", partition: 0, offset: String(this.sent++) });
  }
  healthy(): boolean {
    return true;
  }
}

Deno.test("SHOP API handler on a followed key file: add → 202 at once, rotate → old 401 and new 202, revoke → 401", async () => {
  await withDir(async (file) => {
    await ensureStoreKeys(["store_001"], file);
    let now = 0;
    const keys = await StoreKeyFile.open(file, { now: () => now, log: () => {} });
    const sink = new FakeSink();
    const handle = shopApiHandler({ keys, sink });
    const post = async (key: string) => {
      const res = await handle(
        new Request("http://shop/products", {
          method: "POST",
          headers: { authorization: `Bearer ${key}` },
          body: JSON.stringify({ ...sampleProducts()[0], store_id: "store_042" }),
        }),
      );
      await res.body?.cancel();
      return res.status;
    };
    const first = await addStore("store_042", file);
    assert.equal(await post(first), 202, "a new store sends at once");
    const second = await rotateStore("store_042", file);
    now += 1_000;
    assert.equal(await post(first), 401, "the old key, once the file was looked at again");
    assert.equal(await post(second), 202);
    await revokeStore("store_042", file);
    now += 1_000;
    assert.equal(await post(second), 401);
    assert.equal(sink.sent, 2);
  });
});
