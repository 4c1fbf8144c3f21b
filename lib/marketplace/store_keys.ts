/**
 * SHOP API keys, one per store. The key file lives in the stack's data folder
 * (`<STACK_DIR>/secrets/final/store-keys.json`, mode 0600, never committed) — or where
 * `SHOP_API_KEYS_FILE` says. `final:setup` creates it with the demo's sample stores
 * ({@linkcode ensureStoreKeys}) when it does not exist; `final:stores` adds, lists, rotates and
 * revokes stores ({@linkcode addStore}, {@linkcode listStores}, {@linkcode rotateStore},
 * {@linkcode revokeStore}); the SHOP API follows the file while it runs
 * ({@linkcode StoreKeyFile}); `final:shop` reads it to send as each store.
 *
 * The file is a JSON object `{ store_id: { key, created } }` (`created`: when the key was made,
 * ISO 8601). A file of the first format, `{ store_id: key }`, is still read (its keys' dates
 * unknown) and is written in the current one on its next change. Every write goes to a temporary
 * file in the same folder (mode 0600) that is then renamed over the file: a reader sees the old
 * file or the new one, never half of one. A change (add, rotate, revoke) holds a lock on
 * `<file>.lock` from reading the file to renaming the new one over it.
 *
 * @example
 * ```ts
 * import { addStore, ensureStoreKeys, StoreKeyring } from "./store_keys.ts";
 * const keys = await ensureStoreKeys(["store_001", "store_002"]);
 * const ring = new StoreKeyring(keys);
 * await ring.storeOf(keys.store_001); // "store_001"
 * const key = await addStore("store_042"); // shown once to whoever runs `final:stores add`
 * ```
 * @module
 */
import { dirname, join } from "node:path";
import { ConfigError, defaultStackDir } from "../env/mod.ts";

/** Key of each store: `{ store_id: key }`. */
export type StoreKeys = Record<string, string>;

/** One store's entry in the key file. */
export interface StoreKeyEntry {
  /** The key (32 random bytes, base64url). */
  key: string;
  /** When the key was made (ISO 8601), or `""` when the file does not say (first format). */
  created: string;
}

/** The key file's content: each store's entry by store id. */
export type StoreKeyEntries = Record<string, StoreKeyEntry>;

/** A store id: 1–64 letters, digits, `_`, `-` or `.`, starting with a letter or a digit. */
export const STORE_ID_PATTERN: RegExp = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Shortest key the SHOP API accepts from a key file. */
const MIN_KEY_LENGTH = 16;

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

/**
 * `id` when it is a valid store id ({@linkcode STORE_ID_PATTERN}); else a
 * {@linkcode ConfigError} naming the argument (`what`, e.g. `STORE_ID`).
 */
export function checkStoreId(id: string, what = "STORE_ID"): string {
  if (!STORE_ID_PATTERN.test(id)) {
    throw new ConfigError(
      `Cannot use ${what} as it must be 1-64 letters, digits, '_', '-' or '.', starting with a letter or digit: current value is '${id}'`,
    );
  }
  return id;
}

/** What {@linkcode parseStoreKeyFile} makes of a key file's text. */
export type ParsedStoreKeyFile = { ok: true; entries: StoreKeyEntries } | {
  ok: false;
  /** Why the text cannot be used, e.g. `not JSON (…)`. */
  error: string;
};

/** The entries of a key file's text, or why they cannot be used. */
export function parseStoreKeyFile(text: string): ParsedStoreKeyFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `not JSON (${(err as Error).message})` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, error: "it must be a JSON object { store_id: { key, created } }" };
  }
  const out: StoreKeyEntries = {};
  for (const [store, entry] of Object.entries(value)) {
    if (!STORE_ID_PATTERN.test(store)) {
      return {
        ok: false,
        error: `store id '${store}' is not 1-64 letters, digits, '_', '-' or '.'`,
      };
    }
    const e = typeof entry === "string" ? { key: entry, created: "" } : entry;
    const key = (e as { key?: unknown } | null)?.key;
    const created = (e as { created?: unknown } | null)?.created ?? "";
    if (typeof key !== "string" || key.length < MIN_KEY_LENGTH || typeof created !== "string") {
      return {
        ok: false,
        error:
          `the entry of '${store}' must be { "key": "<${MIN_KEY_LENGTH}+ characters>", "created": "<ISO date>" }`,
      };
    }
    out[store] = { key, created };
  }
  return { ok: true, entries: out };
}

/**
 * Reads the key file's entries; a missing or malformed file is a {@linkcode ConfigError} saying
 * what to run.
 */
export async function readStoreKeyFile(file: string = storeKeysFile()): Promise<StoreKeyEntries> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch {
    throw new ConfigError(
      `No SHOP API store keys in ${file}: run \`deno task final:setup\` (or set SHOP_API_KEYS_FILE)`,
    );
  }
  const parsed = parseStoreKeyFile(text);
  if (!parsed.ok) throw new ConfigError(`Cannot use store keys from ${file} as ${parsed.error}`);
  return parsed.entries;
}

/** The keys alone, `{ store_id: key }`, of a file's entries. */
export function keysOf(entries: StoreKeyEntries): StoreKeys {
  return Object.fromEntries(Object.entries(entries).map(([s, e]) => [s, e.key]));
}

/** Reads the store keys; a missing or malformed file is a {@linkcode ConfigError} saying what to run. */
export async function loadStoreKeys(file: string = storeKeysFile()): Promise<StoreKeys> {
  return keysOf(await readStoreKeyFile(file));
}

/**
 * Writes the key file atomically: a temporary file of mode 0600 in the same folder (created
 * 0700 when missing), renamed over `file`.
 */
export async function writeStoreKeyFile(file: string, entries: StoreKeyEntries): Promise<void> {
  await Deno.mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    await Deno.writeTextFile(tmp, JSON.stringify(entries, null, 2) + "\n", {
      mode: 0o600,
      createNew: true,
    });
    await Deno.chmod(tmp, 0o600); // the mode of a new file is subject to the umask
    await Deno.rename(tmp, file);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}

/**
 * Runs `fn` holding an exclusive lock (`flock`) on `<file>.lock`, so two changes of the key file
 * at once (two `final:stores` runs) do not lose one another: each reads the file the other wrote.
 */
async function changing<T>(file: string, fn: () => Promise<T>): Promise<T> {
  await Deno.mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const lock = await Deno.open(`${file}.lock`, { create: true, write: true, mode: 0o600 });
  try {
    await lock.lock(true);
    return await fn();
  } finally {
    lock.close(); // closing releases the lock
  }
}

/**
 * Creates the key file with a key for every store of `stores` when it does not exist (the
 * demo's sample); an existing file is left as it is — a store revoked stays revoked. Returns
 * all keys of the file.
 */
export async function ensureStoreKeys(
  stores: readonly string[],
  file: string = storeKeysFile(),
): Promise<StoreKeys> {
  const exists = await Deno.stat(file).then(() => true, () => false);
  if (exists) return await loadStoreKeys(file);
  const created = new Date().toISOString();
  const entries: StoreKeyEntries = {};
  for (const s of stores) {
    entries[checkStoreId(s, "a sample store id")] = { key: newStoreKey(), created };
  }
  await writeStoreKeyFile(file, entries);
  return keysOf(entries);
}

/** A store of {@linkcode listStores}: its id and when its key was made (`""`: unknown). */
export interface StoreListing {
  store: string;
  created: string;
}

/** The stores of the key file, by id, with when each key was made (never the keys). */
export async function listStores(file: string = storeKeysFile()): Promise<StoreListing[]> {
  const entries = await readStoreKeyFile(file);
  return Object.entries(entries).map(([store, e]) => ({ store, created: e.created }))
    .sort((a, b) => a.store.localeCompare(b.store));
}

/**
 * Adds a store with a fresh key and returns the key (the only time it is shown). The key file
 * must exist (`final:setup` creates it); a store that has a key already is a
 * {@linkcode ConfigError} pointing at `rotate`.
 */
export async function addStore(
  store: string,
  file: string = storeKeysFile(),
  now: Date = new Date(),
): Promise<string> {
  checkStoreId(store);
  await readStoreKeyFile(file); // the file exists: final:setup made it
  return await changing(file, async () => {
    const entries = await readStoreKeyFile(file);
    if (entries[store]) {
      throw new ConfigError(
        `Cannot add STORE_ID '${store}' as it has a key already: rotate it with \`deno task final:stores rotate ${store}\``,
      );
    }
    const key = newStoreKey();
    await writeStoreKeyFile(file, { ...entries, [store]: { key, created: now.toISOString() } });
    return key;
  });
}

async function entriesWith(store: string, file: string, verb: string): Promise<StoreKeyEntries> {
  checkStoreId(store);
  const entries = await readStoreKeyFile(file);
  if (!entries[store]) {
    throw new ConfigError(
      `Cannot ${verb} STORE_ID '${store}' as it has no key in ${file}: add it with \`deno task final:stores add ${store}\``,
    );
  }
  return entries;
}

/** Gives a store a new key (the old one stops working) and returns it; an unknown store is a {@linkcode ConfigError}. */
export async function rotateStore(
  store: string,
  file: string = storeKeysFile(),
  now: Date = new Date(),
): Promise<string> {
  return await changing(file, async () => {
    const entries = await entriesWith(store, file, "rotate");
    const key = newStoreKey();
    await writeStoreKeyFile(file, { ...entries, [store]: { key, created: now.toISOString() } });
    return key;
  });
}

/** Removes a store's key (the SHOP API refuses it from then on); an unknown store is a {@linkcode ConfigError}. */
export async function revokeStore(store: string, file: string = storeKeysFile()): Promise<void> {
  await changing(file, async () => {
    const { [store]: _, ...rest } = await entriesWith(store, file, "revoke");
    await writeStoreKeyFile(file, rest);
  });
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
  /** How many stores the keyring knows. */
  readonly size: number;

  constructor(keys: StoreKeys) {
    this.size = Object.keys(keys).length;
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

/** Where a keyring comes from: fixed keys, or a file followed while it changes. */
export interface StoreKeySource {
  /** The keyring to check a request against (may look at the file first). */
  keyring(): Promise<StoreKeyring>;
  /**
   * The keyring after looking at the file right now, not waiting out the interval: a key the
   * current keyring does not know may be one just added.
   */
  refresh(): Promise<StoreKeyring>;
}

/** Fixed keys as a {@linkcode StoreKeySource}. */
export function fixedStoreKeys(keys: StoreKeys): StoreKeySource {
  const ring = new StoreKeyring(keys);
  return { keyring: () => Promise.resolve(ring), refresh: () => Promise.resolve(ring) };
}

/** Options of {@linkcode StoreKeyFile}. */
export interface StoreKeyFileOptions {
  /** Least time between two looks at the file on the request path, ms. @default 1000 */
  minIntervalMs?: number;
  /**
   * Where the line about each reload goes (a file that cannot be used: one line per version of
   * it). @default console.error
   */
  log?: (line: string) => void;
  /** Clock, ms. @default Date.now */
  now?: () => number;
}

/** What identifies a version of the file: inode, size, modification time. */
function signature(info: Deno.FileInfo): string {
  return `${info.ino ?? ""}:${info.size}:${info.mtime?.getTime() ?? ""}`;
}

/**
 * The key file followed while the SHOP API runs: {@linkcode keyring} looks at the file (one
 * `stat`) at most every `minIntervalMs` and re-reads it when its inode, size or modification
 * time changed — an atomic rename always changes the inode. A file that cannot be read or used
 * keeps the last good keys and logs one line (once per version of the file).
 * {@linkcode refresh} looks at once (for a key the keyring does not know: a store just added
 * can send at once).
 */
export class StoreKeyFile implements StoreKeySource {
  /** The file followed. */
  readonly file: string;
  readonly #minIntervalMs: number;
  readonly #log: (line: string) => void;
  readonly #now: () => number;
  #ring: StoreKeyring;
  #seen: string;
  #lookedAt: number;
  #looking?: Promise<StoreKeyring>;

  private constructor(
    file: string,
    ring: StoreKeyring,
    seen: string,
    options: StoreKeyFileOptions,
  ) {
    this.file = file;
    this.#ring = ring;
    this.#seen = seen;
    this.#minIntervalMs = options.minIntervalMs ?? 1_000;
    this.#log = options.log ?? ((l) => console.error(l));
    this.#now = options.now ?? Date.now;
    this.#lookedAt = this.#now();
  }

  /** Reads the file a first time; a missing or malformed file is a {@linkcode ConfigError}. */
  static async open(
    file: string = storeKeysFile(),
    options: StoreKeyFileOptions = {},
  ): Promise<StoreKeyFile> {
    const info = await Deno.stat(file).catch(() => undefined);
    const entries = await readStoreKeyFile(file);
    return new StoreKeyFile(
      file,
      new StoreKeyring(keysOf(entries)),
      info ? signature(info) : "",
      options,
    );
  }

  /** The keyring as last read (no look at the file). */
  get current(): StoreKeyring {
    return this.#ring;
  }

  keyring(): Promise<StoreKeyring> {
    if (this.#now() - this.#lookedAt < this.#minIntervalMs) return Promise.resolve(this.#ring);
    return this.refresh();
  }

  refresh(): Promise<StoreKeyring> {
    this.#looking ??= this.#look().finally(() => this.#looking = undefined);
    return this.#looking;
  }

  async #look(): Promise<StoreKeyring> {
    this.#lookedAt = this.#now();
    let seen: string;
    try {
      seen = signature(await Deno.stat(this.file));
    } catch (err) {
      seen = `missing: ${(err as Error).name}`;
    }
    if (seen === this.#seen) return this.#ring;
    this.#seen = seen;
    const kept = `keeping the last good keys (${this.#ring.size} stores)`;
    let text: string;
    try {
      text = await Deno.readTextFile(this.file);
    } catch (err) {
      this.#log(`store keys: cannot read ${this.file} (${(err as Error).message}), ${kept}`);
      return this.#ring;
    }
    const parsed = parseStoreKeyFile(text);
    if (!parsed.ok) {
      this.#log(`store keys: cannot use ${this.file} as ${parsed.error}, ${kept}`);
      return this.#ring;
    }
    this.#ring = new StoreKeyring(keysOf(parsed.entries));
    this.#log(`store keys: reloaded ${this.file}: ${this.#ring.size} stores`);
    return this.#ring;
  }
}
