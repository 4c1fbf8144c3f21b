/**
 * SHOP API keys, one per store. `final:setup` generates them into the stack's data folder
 * (`<STACK_DIR>/secrets/final/store-keys.json`, mode 0600, never committed) — or into the file
 * `SHOP_API_KEYS_FILE` names; the SHOP API reads them to know which store sends a request, and
 * `final:shop` reads them to send as each store.
 *
 * @example
 * ```ts
 * import { ensureStoreKeys, StoreKeyring } from "./store_keys.ts";
 * const keys = await ensureStoreKeys(["store_001", "store_002"]);
 * const ring = new StoreKeyring(keys);
 * await ring.storeOf(keys.store_001); // "store_001"
 * ```
 * @module
 */
import { dirname, join } from "node:path";
import { ConfigError, defaultStackDir } from "../env/mod.ts";

/** Key of each store: `{ store_id: key }`. */
export type StoreKeys = Record<string, string>;

/** The store-keys file: `$SHOP_API_KEYS_FILE`, else `<stack dir>/secrets/final/store-keys.json`. */
export function storeKeysFile(stackDir: string = defaultStackDir()): string {
  return Deno.env.get("SHOP_API_KEYS_FILE") ||
    join(stackDir, "secrets", "final", "store-keys.json");
}

/** A fresh random key: 32 random bytes, base64url (43 characters). */
export function newStoreKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

/** Reads the store keys; a missing or malformed file is a {@linkcode ConfigError} saying what to run. */
export async function loadStoreKeys(file: string = storeKeysFile()): Promise<StoreKeys> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch {
    throw new ConfigError(
      `No SHOP API store keys in ${file}: run \`deno task final:setup\` (or set SHOP_API_KEYS_FILE)`,
    );
  }
  let keys: unknown;
  try {
    keys = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`Cannot read store keys from ${file}: ${(err as Error).message}`);
  }
  if (
    typeof keys !== "object" || keys === null || Array.isArray(keys) ||
    !Object.values(keys).every((k) => typeof k === "string" && k.length >= 16)
  ) {
    throw new ConfigError(
      `Cannot use store keys from ${file} as it must be a JSON object { store_id: key } with keys of 16+ characters`,
    );
  }
  return keys as StoreKeys;
}

/**
 * Makes sure every store of `stores` has a key in `file`, generating the missing ones (keys
 * already there are kept). Returns all keys of the file.
 */
export async function ensureStoreKeys(
  stores: readonly string[],
  file: string = storeKeysFile(),
): Promise<StoreKeys> {
  const exists = await Deno.stat(file).then(() => true, () => false);
  const keys: StoreKeys = exists ? await loadStoreKeys(file) : {};
  const missing = stores.filter((s) => !keys[s]);
  if (missing.length === 0 && exists) return keys;
  for (const s of missing) keys[s] = newStoreKey();
  await Deno.mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(keys, null, 2) + "\n", { mode: 0o600 });
  await Deno.rename(tmp, file);
  return keys;
}

/** SHA-256 of a key, hex: the keyring never keeps the keys themselves. */
async function digest(key: string): Promise<string> {
  const hash = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key));
  return Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Which store a key belongs to (lookup by the key's SHA-256, so lookups take equal time). */
export class StoreKeyring {
  readonly #byDigest = new Map<string, string>();
  readonly #ready: Promise<void>;

  constructor(keys: StoreKeys) {
    this.#ready = Promise.all(
      Object.entries(keys).map(async ([store, key]) =>
        this.#byDigest.set(await digest(key), store)
      ),
    ).then(() => {});
  }

  /** Stores known to the keyring. */
  async stores(): Promise<string[]> {
    await this.#ready;
    return [...this.#byDigest.values()].sort();
  }

  /** The store whose key this is, or undefined for an unknown key. */
  async storeOf(key: string): Promise<string | undefined> {
    await this.#ready;
    return this.#byDigest.get(await digest(key));
  }
}
