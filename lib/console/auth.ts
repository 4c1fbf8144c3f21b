/**
 * Who may use the console, and how they prove it: users with a role (`viewer` reads, `admin`
 * also produces and creates topics) and a PBKDF2 password hash, login sessions kept in memory
 * behind an HttpOnly, SameSite=Strict cookie with an expiry, a CSRF token per session, and a
 * limit on failed logins.
 *
 * Users come from `CONSOLE_USERS` (`name:role:hash;name:role:hash`) or from the stack's
 * generated users file, `<STACK_DIR>/secrets/console/users.json` (mode 0600, never committed),
 * which {@linkcode ensureConsoleUsers} creates on first start with an `admin` and a `viewer`
 * of random passwords (written once, for the operator, to `initial-passwords.txt` beside it).
 * Hashes are `pbkdf2-sha256$<iterations>$<salt>$<hash>` (base64), made by
 * {@linkcode hashPassword} (`deno task console --hash-password` reads one from stdin).
 *
 * @example
 * ```ts
 * import { hashPassword, parseConsoleUsers, verifyPassword } from "./auth.ts";
 * const users = parseConsoleUsers(`alice:admin:${await hashPassword("s3cret-pass")}`);
 * await verifyPassword("s3cret-pass", users.get("alice")!.hash); // true
 * ```
 * @module
 */
import { join } from "node:path";
import { ConfigError, defaultStackDir } from "../env/mod.ts";

/** What a user may do: `viewer` reads; `admin` also produces and creates topics. */
export type Role = "viewer" | "admin";

/** The roles, in the order of their rights. */
export const ROLES: readonly Role[] = ["viewer", "admin"];

/** A user of the console. */
export interface ConsoleUser {
  name: string;
  role: Role;
  /** `pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>`. */
  hash: string;
}

const ITERATIONS = 210_000;
const enc = new TextEncoder();

function b64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

function unb64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

async function pbkdf2(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", enc.encode(password), "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: salt as BufferSource, iterations },
    key,
    256,
  );
  return new Uint8Array(bits);
}

/** A PBKDF2-SHA-256 hash of `password` with a random salt, in the console's format. */
export async function hashPassword(password: string, iterations = ITERATIONS): Promise<string> {
  if (password.length < 8) {
    throw new ConfigError("Cannot hash the password as it must have 8+ characters");
  }
  const salt = crypto.getRandomValues(new Uint8Array(16));
  return `pbkdf2-sha256$${iterations}$${b64(salt)}$${
    b64(await pbkdf2(password, salt, iterations))
  }`;
}

const HASH = /^pbkdf2-sha256\$(\d{4,7})\$([A-Za-z0-9+/=]{16,})\$([A-Za-z0-9+/=]{40,})$/;

/** Whether `hash` is in the console's format. */
export function isPasswordHash(hash: string): boolean {
  return HASH.test(hash);
}

/** Whether `password` matches `hash` (constant-time comparison of the derived bytes). */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const m = HASH.exec(hash);
  if (!m) return false;
  const want = unb64(m[3]);
  const got = await pbkdf2(password, unb64(m[2]), Number(m[1]));
  if (got.length !== want.length) return false;
  let diff = 0;
  for (let i = 0; i < got.length; i++) diff |= got[i] ^ want[i];
  return diff === 0;
}

/** A hash nobody's password matches: verified for unknown users so timing tells nothing. */
export const DUMMY_HASH =
  "pbkdf2-sha256$210000$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

/** Parses `CONSOLE_USERS`: `name:role:hash` entries separated by `;` or newlines. */
export function parseConsoleUsers(text: string): Map<string, ConsoleUser> {
  const users = new Map<string, ConsoleUser>();
  const entries = text.split(/[;\n]/).map((s) => s.trim()).filter(Boolean);
  for (const [i, entry] of entries.entries()) {
    const [name, role, ...rest] = entry.split(":");
    const hash = rest.join(":");
    const where = `CONSOLE_USERS entry ${i + 1}`;
    if (!name || !/^[A-Za-z0-9._@-]{1,64}$/.test(name)) {
      throw new ConfigError(
        `Cannot use ${where} as its name must be 1-64 of A-Z a-z 0-9 . _ @ -: current value is '${
          name ?? ""
        }'`,
      );
    }
    if (!ROLES.includes(role as Role)) {
      throw new ConfigError(
        `Cannot use ${where} (${name}) as its role must be viewer or admin: current value is '${
          role ?? ""
        }'`,
      );
    }
    if (!isPasswordHash(hash)) {
      throw new ConfigError(
        `Cannot use ${where} (${name}) as its hash must be pbkdf2-sha256$… (make one with ` +
          "`deno task console --hash-password`)",
      );
    }
    if (users.has(name)) throw new ConfigError(`CONSOLE_USERS names user '${name}' twice`);
    users.set(name, { name, role: role as Role, hash });
  }
  if (users.size === 0) throw new ConfigError("CONSOLE_USERS is set but names no user");
  return users;
}

/** The stack's console users file: `<STACK_DIR>/secrets/console/users.json`. */
export function consoleUsersFile(stackDir: string = defaultStackDir()): string {
  return join(stackDir, "secrets", "console", "users.json");
}

function randomPassword(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(15));
  return b64(bytes).replaceAll("+", "-").replaceAll("/", "_");
}

/**
 * The console's users: `CONSOLE_USERS` when set, else the stack's users file, generated on first
 * use with `admin` and `viewer` (random passwords written to `initial-passwords.txt`, 0600).
 * Returns the users and, when the file was just made, where the passwords are.
 */
export async function ensureConsoleUsers(
  file: string = consoleUsersFile(),
  env: { get(name: string): string | undefined } = Deno.env,
): Promise<{ users: Map<string, ConsoleUser>; source: string; generated?: string }> {
  const fromEnv = env.get("CONSOLE_USERS");
  if (fromEnv) return { users: parseConsoleUsers(fromEnv), source: "CONSOLE_USERS" };
  let text: string | undefined;
  try {
    text = await Deno.readTextFile(file);
  } catch {
    text = undefined;
  }
  if (text !== undefined) {
    let list: ConsoleUser[];
    try {
      list = JSON.parse(text).users;
      if (!Array.isArray(list)) throw new Error("no 'users' array");
    } catch (err) {
      throw new ConfigError(`Cannot read console users from ${file}: ${(err as Error).message}`);
    }
    return {
      users: parseConsoleUsers(list.map((u) => `${u.name}:${u.role}:${u.hash}`).join(";")),
      source: file,
    };
  }
  const dir = join(file, "..");
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const passwords = { admin: randomPassword(), viewer: randomPassword() };
  const users: ConsoleUser[] = [
    { name: "admin", role: "admin", hash: await hashPassword(passwords.admin) },
    { name: "viewer", role: "viewer", hash: await hashPassword(passwords.viewer) },
  ];
  const pwFile = join(dir, "initial-passwords.txt");
  await Deno.writeTextFile(
    pwFile,
    `# Console users generated ${new Date().toISOString()}; change them in ${file}\n` +
      Object.entries(passwords).map(([u, p]) => `${u} ${p}`).join("\n") + "\n",
    { mode: 0o600 },
  );
  await Deno.writeTextFile(file, JSON.stringify({ users }, null, 2) + "\n", { mode: 0o600 });
  return {
    users: new Map(users.map((u) => [u.name, u])),
    source: file,
    generated: pwFile,
  };
}

/** A logged-in session. */
export interface Session {
  id: string;
  user: string;
  role: Role;
  /** The token every write must carry (form field `_csrf` or header `X-CSRF-Token`). */
  csrf: string;
  /** Epoch ms after which the session is gone. */
  expires: number;
}

function token(): string {
  return b64(crypto.getRandomValues(new Uint8Array(24))).replaceAll("+", "-").replaceAll(
    "/",
    "_",
  );
}

/** Name of the session cookie. */
export const SESSION_COOKIE = "console_session";

/** Sessions in memory (a restart logs everyone out), each with an expiry. */
export class SessionStore {
  #sessions = new Map<string, Session>();
  constructor(readonly ttlMs: number, readonly now: () => number = Date.now) {}

  /** Opens a session for `user`. */
  open(user: ConsoleUser): Session {
    const s: Session = {
      id: token(),
      user: user.name,
      role: user.role,
      csrf: token(),
      expires: this.now() + this.ttlMs,
    };
    this.#sessions.set(s.id, s);
    return s;
  }

  /** The live session of `id`, or undefined (unknown or expired). */
  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const s = this.#sessions.get(id);
    if (!s) return undefined;
    if (s.expires <= this.now()) {
      this.#sessions.delete(id);
      return undefined;
    }
    return s;
  }

  /** Ends a session. */
  close(id: string | undefined): void {
    if (id) this.#sessions.delete(id);
  }

  /** The `Set-Cookie` value for a session (or one that clears the cookie). */
  cookie(session: Session | undefined, secure = false): string {
    const attrs = `Path=/; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}`;
    if (!session) return `${SESSION_COOKIE}=; ${attrs}; Max-Age=0`;
    return `${SESSION_COOKIE}=${session.id}; ${attrs}; Max-Age=${Math.floor(this.ttlMs / 1000)}`;
  }
}

/** The session id in a `Cookie` header. */
export function sessionIdOf(cookieHeader: string | null): string | undefined {
  for (const part of (cookieHeader ?? "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === SESSION_COOKIE) return v.join("=") || undefined;
  }
  return undefined;
}

/** Whether `given` equals the session's CSRF token (constant-time). */
export function csrfMatches(session: Session, given: string | null | undefined): boolean {
  if (!given || given.length !== session.csrf.length) return false;
  let diff = 0;
  for (let i = 0; i < given.length; i++) diff |= given.charCodeAt(i) ^ session.csrf.charCodeAt(i);
  return diff === 0;
}

/**
 * Failed logins per key (client address + user name, and client address alone) in a sliding
 * window: after `max` failures the key is refused until the oldest failure leaves the window.
 */
export class LoginLimiter {
  #failures = new Map<string, number[]>();
  constructor(
    readonly max: number,
    readonly windowMs: number,
    readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`Cannot limit logins as 'max' must be >= 1: current value is ${max}`);
    }
  }

  #recent(key: string): number[] {
    const t = this.now();
    const list = (this.#failures.get(key) ?? []).filter((at) => at > t - this.windowMs);
    if (list.length) this.#failures.set(key, list);
    else this.#failures.delete(key);
    return list;
  }

  /** Seconds until `key` may try again, or 0 when it may try now. */
  retryAfter(key: string, max = this.max): number {
    const list = this.#recent(key);
    if (list.length < max) return 0;
    return Math.max(1, Math.ceil((list[list.length - max] + this.windowMs - this.now()) / 1000));
  }

  /** Records a failure of `key`. */
  fail(key: string): void {
    this.#failures.set(key, [...this.#recent(key), this.now()]);
  }

  /** Forgets the failures of `key` (after a successful login). */
  reset(key: string): void {
    this.#failures.delete(key);
  }
}
