/**
 * `deno task final:stores add|list|rotate|revoke [STORE_ID]` — the SHOP API's stores without
 * editing code: `add` gives a new store a key, `rotate` gives a store a new key (the old one
 * stops working), `revoke` removes a store's key, `list` shows each store and when its key was
 * made. Keys live in the stack's secrets (`<stack>/secrets/final/store-keys.json`, mode 0600,
 * written atomically; `final:setup` creates the file with the demo's sample stores) and are
 * printed once, by `add` and `rotate`, never again. A running SHOP API takes every change within
 * a second, no restart.
 * @module
 */
import { ConfigError, defineTask, runMain, SERVICE_ENV } from "../../lib/env/mod.ts";
import {
  addStore,
  checkStoreId,
  listStores,
  revokeStore,
  rotateStore,
  storeKeysFile,
} from "../../lib/marketplace/mod.ts";
import { applyPlatformConfig } from "../../lib/marketplace/mod.ts";

const SPEC = defineTask({
  task: "final:stores",
  summary:
    "The SHOP API's stores: add a store (prints its new key once), list stores and when each key was made, rotate a store's key, revoke it. A running SHOP API follows within a second.",
  env: {
    SHOP_API_KEYS_FILE: {
      description: "store keys file",
      default: "<stack>/secrets/final/store-keys.json",
    },
    ...SERVICE_ENV.stack,
  },
  positionals: [
    {
      name: "COMMAND",
      description: "what to do",
      required: true,
      choices: ["add", "list", "rotate", "revoke"],
    },
    {
      name: "STORE_ID",
      description:
        "add, rotate, revoke: the store (1-64 letters, digits, '_', '-' or '.', e.g. store_006)",
    },
  ],
  usage: ["add STORE_ID", "list", "rotate STORE_ID", "revoke STORE_ID"],
  examples: [
    "deno task final:stores add store_006",
    "deno task final:stores list",
    "deno task final:stores rotate store_006",
    "deno task final:stores revoke store_006",
  ],
});

/** `2026-12-06T17:50:12.345Z` as `2026-12-06 17:50:12 UTC`; `""` as `unknown`. */
function when(iso: string): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC` : "unknown (older key file)";
}

/** The lines that show a key, once. */
function showKey(store: string, key: string): void {
  console.log(`Key of ${store} (shown this once; keep it secret, it is not printed again):`);
  console.log(`  ${key}`);
  console.log(`Send with: Authorization: Bearer <key>  (or X-Store-Key: <key>)`);
}

await runMain(async (cli) => {
  applyPlatformConfig("tool");
  const [command, store] = cli.positional;
  const file = storeKeysFile();
  if (command === "list") {
    if (store !== undefined) {
      throw new ConfigError(
        `Unexpected argument '${store}': deno task final:stores list takes no STORE_ID`,
      );
    }
    const stores = await listStores(file);
    const width = Math.max(8, ...stores.map((s) => s.store.length));
    console.log(`${stores.length} stores in ${file}`);
    console.log(`  ${"STORE_ID".padEnd(width)}  KEY MADE`);
    for (const s of stores) console.log(`  ${s.store.padEnd(width)}  ${when(s.created)}`);
    return;
  }
  if (store === undefined) {
    throw new ConfigError(
      `Missing STORE_ID: deno task final:stores ${command} STORE_ID (e.g. store_006)`,
    );
  }
  checkStoreId(store);
  switch (command) {
    case "add": {
      const key = await addStore(store, file);
      console.log(`Added ${store} to ${file}; a running SHOP API takes it at once.`);
      showKey(store, key);
      break;
    }
    case "rotate": {
      const key = await rotateStore(store, file);
      console.log(
        `Rotated the key of ${store} in ${file}; a running SHOP API refuses the old key (401) within a second.`,
      );
      showKey(store, key);
      break;
    }
    case "revoke": {
      await revokeStore(store, file);
      console.log(
        `Revoked ${store} in ${file}; a running SHOP API refuses its key (401) within a second.`,
      );
      break;
    }
  }
}, SPEC);
