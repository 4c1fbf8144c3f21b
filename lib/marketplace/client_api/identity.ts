/**
 * Who a CLIENT API user is: a bearer token (a JWT) whose `sub` is the user id, signed by the
 * platform's identity key and checked with `jose` ({@linkcode tokenVerifier}), never by hand.
 *
 * Two ways to trust a token, chosen by the platform's config ({@linkcode identityFromEnv}):
 * - **the stack's identity key** (default): an HS256 secret generated once per stack into
 *   `<STACK_DIR>/secrets/final/identity-key` (mode 0600, never committed) by whichever of
 *   `final:client-api`, `final:token` or the demo needs it first ({@linkcode ensureIdentityKey});
 *   `CLIENT_API_JWT_SECRET_FILE` names another file (it must exist; its text, at least 32
 *   characters, is the secret);
 * - **an identity provider's JWKS** (`CLIENT_API_JWKS_URL`): its public keys, fetched and cached
 *   by `jose` (EdDSA, ES256 or RS256; never HS* nor `none`), so a real identity provider issues
 *   the tokens.
 *
 * Every token must carry `sub` (a known user id, {@linkcode USER_ID_PATTERN} or the API's
 * pattern) and `exp`, both checked (5 s of clock tolerance); `iss` and `aud` are checked when
 * `CLIENT_API_JWT_ISSUER` / `CLIENT_API_JWT_AUDIENCE` are set. A token refused is a
 * {@linkcode TokenRefused} saying why; an identity provider that cannot be reached is
 * {@linkcode IdentityUnavailable} (the API answers 503, not 401).
 *
 * The dev issuer ({@linkcode issueToken}, {@linkcode devTokens}; `deno task final:token USER`)
 * signs HS256 tokens with the stack's key, for the simulated users, the demo and the tests.
 *
 * @example
 * ```ts
 * import { ensureIdentityKey, identityKeyFile, issueToken, tokenVerifier } from "./identity.ts";
 * const secret = await ensureIdentityKey(identityKeyFile());
 * const token = await issueToken("user-42", secret, { ttlSeconds: 3600 });
 * const { userId } = await tokenVerifier({ secret }).verify(token); // "user-42"
 * ```
 * @module
 */
import {
  createRemoteJWKSet,
  errors,
  type JWTPayload,
  jwtVerify,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  SignJWT,
} from "jose";
import { dirname, join } from "node:path";
import { ConfigError, defaultStackDir, type EnvDef } from "../../env/mod.ts";
import { USER_ID_PATTERN } from "./request.ts";

/** `iss` of the tokens the dev issuer signs (unless `CLIENT_API_JWT_ISSUER` names another). */
export const DEV_ISSUER = "marketplace-dev";

/** Algorithms of the stack's identity key: HS256 only. */
export const SECRET_ALGORITHMS: readonly string[] = ["HS256"];

/** Algorithms accepted from an identity provider's JWKS: asymmetric only. */
export const JWKS_ALGORITHMS: readonly string[] = ["EdDSA", "Ed25519", "ES256", "RS256"];

/** Shortest secret accepted (characters; used as its UTF-8 bytes, ≥ 256 bits). */
const MIN_SECRET_LENGTH = 32;

/** Longest token looked at (a header beyond that is refused before any parsing). */
const MAX_TOKEN_LENGTH = 8_192;

/** Clock skew tolerated on `exp` and `nbf`, seconds. */
const CLOCK_TOLERANCE_S = 5;

/** The environment variables of the identity (documented in the tasks' `--help`). */
export const IDENTITY_ENV: Record<string, EnvDef> = {
  CLIENT_API_JWT_SECRET_FILE: {
    description: "file of the HS256 identity key (its text, 32+ characters)",
    default: "<stack>/secrets/final/identity-key, generated on first use",
  },
  CLIENT_API_JWKS_URL: {
    description: "an identity provider's JWKS URL: verify against its keys instead",
  },
  CLIENT_API_JWT_ISSUER: { description: "required `iss` of a token (unset: not checked)" },
  CLIENT_API_JWT_AUDIENCE: { description: "required `aud` of a token (unset: not checked)" },
};

/** Why a token was refused (the API answers 401 naming `Authorization`). */
export class TokenRefused extends Error {
  override name = "TokenRefused";
}

/** The identity provider's keys cannot be had now (the API answers 503). */
export class IdentityUnavailable extends Error {
  override name = "IdentityUnavailable";
}

/** The stack's identity key file: `<stack dir>/secrets/final/identity-key`. */
export function identityKeyFile(stackDir: string = defaultStackDir()): string {
  return join(stackDir, "secrets", "final", "identity-key");
}

/** A fresh secret: 32 random bytes, base64url (43 characters). */
export function newIdentitySecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

/**
 * The secret held in `file`, or a {@linkcode ConfigError} naming `what` (the variable that chose
 * the file) when it is missing, unreadable or too short.
 */
export async function readIdentityKey(
  file: string,
  what = "CLIENT_API_JWT_SECRET_FILE",
): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (err) {
    throw new ConfigError(
      `Cannot use ${what} as the file cannot be read (${
        (err as Error).message
      }): current value is '${file}'`,
    );
  }
  const secret = text.trim();
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(
      `Cannot use ${what} as its key must be at least ${MIN_SECRET_LENGTH} characters (it holds ${secret.length}): current value is '${file}'`,
    );
  }
  return secret;
}

/**
 * The secret of `file`, made first when the file does not exist: written to a temporary file
 * of mode 0600 (folder 0700) and hard-linked into place, so two processes starting at once
 * end up with the same key and no reader ever sees half a file.
 */
export async function ensureIdentityKey(file: string = identityKeyFile()): Promise<string> {
  const exists = await Deno.stat(file).then(() => true, () => false);
  if (!exists) {
    await Deno.mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
    try {
      await Deno.writeTextFile(tmp, newIdentitySecret() + "\n", { mode: 0o600, createNew: true });
      await Deno.chmod(tmp, 0o600); // the mode of a new file is subject to the umask
      await Deno.link(tmp, file).catch((err) => {
        if (!(err instanceof Deno.errors.AlreadyExists)) throw err; // another process made it
      });
    } finally {
      await Deno.remove(tmp).catch(() => {});
    }
  }
  return await readIdentityKey(file, `the identity key file`);
}

/** Trusting the stack's key, or an identity provider's JWKS; plus the claims required. */
export interface IdentityConfig {
  /** HS256 secret (the stack's identity key). Exactly one of `secret` and `jwksUrl`. */
  secret?: string;
  /** JWKS URL of an identity provider. */
  jwksUrl?: string;
  /** Required `iss`. */
  issuer?: string;
  /** Required `aud`. */
  audience?: string;
  /** What a known user id looks like (the token's `sub`). @default USER_ID_PATTERN */
  userPattern?: RegExp;
  /** Clock of the `exp`/`nbf` checks. @default () => new Date() */
  now?: () => Date;
}

/** An environment: `Deno.env`, or a stand-in in tests. */
type Env = { get(name: string): string | undefined };

function envValue(env: Env, name: string): string | undefined {
  const v = env.get(name)?.trim();
  return v ? v : undefined;
}

/** `CLIENT_API_JWKS_URL` as an http(s) URL, or a {@linkcode ConfigError} naming it. */
function jwksUrlOf(raw: string): string {
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) {
    throw new ConfigError(
      `Cannot use CLIENT_API_JWKS_URL as it must be an http(s) URL: current value is '${raw}'`,
    );
  }
  return url.href;
}

/**
 * The identity key file the environment names: `CLIENT_API_JWT_SECRET_FILE`, else the stack's
 * ({@linkcode identityKeyFile}); `explicit` says whether the variable chose it.
 */
export function identityKeyFileFromEnv(
  stackDir: string = defaultStackDir(),
  env: Env = Deno.env,
): { file: string; explicit: boolean } {
  const named = envValue(env, "CLIENT_API_JWT_SECRET_FILE");
  return named
    ? { file: named, explicit: true }
    : { file: identityKeyFile(stackDir), explicit: false };
}

/**
 * The secret the environment points at: a file named by `CLIENT_API_JWT_SECRET_FILE` must
 * exist; the stack's own file is made when missing.
 */
export async function identitySecretFromEnv(
  stackDir: string = defaultStackDir(),
  env: Env = Deno.env,
): Promise<{ secret: string; file: string }> {
  const { file, explicit } = identityKeyFileFromEnv(stackDir, env);
  const secret = explicit ? await readIdentityKey(file) : await ensureIdentityKey(file);
  return { secret, file };
}

/**
 * The identity config of the environment ({@linkcode IDENTITY_ENV}): a JWKS URL when
 * `CLIENT_API_JWKS_URL` is set, else the secret of the identity key file; a bad value is a
 * {@linkcode ConfigError} naming the variable. `source` says which, for the start-up line.
 */
export async function identityFromEnv(
  userPattern: RegExp = USER_ID_PATTERN,
  env: Env = Deno.env,
  stackDir: string = defaultStackDir(),
): Promise<IdentityConfig & { source: string }> {
  const issuer = envValue(env, "CLIENT_API_JWT_ISSUER");
  const audience = envValue(env, "CLIENT_API_JWT_AUDIENCE");
  const jwks = envValue(env, "CLIENT_API_JWKS_URL");
  if (jwks) {
    const jwksUrl = jwksUrlOf(jwks);
    return { jwksUrl, issuer, audience, userPattern, source: `the JWKS at ${jwksUrl}` };
  }
  const { secret, file } = await identitySecretFromEnv(stackDir, env);
  return { secret, issuer, audience, userPattern, source: `the HS256 key in ${file}` };
}

/** `CLIENT_API_USER_PATTERN` as a regular expression (unset: {@linkcode USER_ID_PATTERN}). */
export function userPatternFromEnv(env: Env = Deno.env): RegExp {
  const raw = envValue(env, "CLIENT_API_USER_PATTERN");
  if (raw === undefined) return USER_ID_PATTERN;
  try {
    return new RegExp(raw, "u");
  } catch (err) {
    throw new ConfigError(
      `Cannot use CLIENT_API_USER_PATTERN as it must be a regular expression: current value is '${raw}' (${
        (err as Error).message
      })`,
    );
  }
}

/**
 * The claims the dev issuer puts in its tokens, from the environment: `iss` =
 * `CLIENT_API_JWT_ISSUER` (else {@linkcode DEV_ISSUER}), `aud` = `CLIENT_API_JWT_AUDIENCE`. With
 * `CLIENT_API_JWKS_URL` set the CLIENT API trusts only that identity provider, so dev tokens
 * would all be refused: a {@linkcode ConfigError} says so.
 */
export function devClaimsFromEnv(env: Env = Deno.env): { issuer: string; audience?: string } {
  if (envValue(env, "CLIENT_API_JWKS_URL")) {
    throw new ConfigError(
      "Cannot issue dev tokens as CLIENT_API_JWKS_URL is set: the CLIENT API then trusts only that identity provider's keys; get tokens from it, or unset CLIENT_API_JWKS_URL",
    );
  }
  return {
    issuer: envValue(env, "CLIENT_API_JWT_ISSUER") ?? DEV_ISSUER,
    audience: envValue(env, "CLIENT_API_JWT_AUDIENCE"),
  };
}

/** A user whose token verified. */
export interface VerifiedUser {
  /** The token's `sub`. */
  userId: string;
  /** The token's `exp`. */
  expiresAt: Date;
}

/** Checks bearer tokens; see {@linkcode tokenVerifier}. */
export interface TokenVerifier {
  /** The user of `token`, or {@linkcode TokenRefused} / {@linkcode IdentityUnavailable}. */
  verify(token: string): Promise<VerifiedUser>;
}

/** The JWKS key getter: a key not found is the token's fault, an unreachable JWKS is not. */
function remoteKeys(url: string): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(new URL(url), { timeoutDuration: 5_000 });
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (err) {
      if (
        err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys
      ) {
        throw err;
      }
      throw new IdentityUnavailable(
        `the identity provider's keys at ${url} cannot be had: ${(err as Error).message}`,
      );
    }
  };
}

/** A `jose` error (or ours) as the refusal to answer. */
function refusalOf(err: unknown, algorithms: readonly string[]): Error {
  if (err instanceof IdentityUnavailable) return err;
  if (err instanceof errors.JWTExpired) {
    const exp = Number(err.payload.exp);
    const when = Number.isFinite(exp) ? new Date(exp * 1000).toISOString() : "in the past";
    return new TokenRefused(`the token expired (exp ${when}): get a new one`);
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return new TokenRefused("the token's signature does not verify with the platform's key");
  }
  if (err instanceof errors.JOSEAlgNotAllowed) {
    return new TokenRefused(`the token's alg is not accepted (only ${algorithms.join(", ")})`);
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    return new TokenRefused(`the token's ${err.claim} claim is refused: ${err.message}`);
  }
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) {
    return new TokenRefused("no key of the identity provider's JWKS matches the token's header");
  }
  const why = err instanceof errors.JOSEError ? err.message : String((err as Error)?.message);
  return new TokenRefused(`the token is not a valid JWT: ${why}`);
}

/** The `sub` of a verified payload, or a refusal when it is missing or not a known user id. */
function userOf(payload: JWTPayload, pattern: RegExp): VerifiedUser {
  const sub = payload.sub;
  if (typeof sub !== "string" || !pattern.test(sub)) {
    throw new TokenRefused(
      `the token's sub '${
        String(sub).slice(0, 80)
      }' is not a known user id (known ids match ${pattern.source})`,
    );
  }
  return { userId: sub, expiresAt: new Date(Number(payload.exp) * 1000) };
}

/**
 * A verifier of bearer tokens by `config`: `jose`'s `jwtVerify` with the algorithms pinned
 * (HS256 for a secret, asymmetric ones for a JWKS), `sub` and `exp` required, `iss`/`aud` when
 * configured; then `sub` must be a known user id.
 */
export function tokenVerifier(config: IdentityConfig): TokenVerifier {
  const { secret, jwksUrl, issuer, audience, userPattern = USER_ID_PATTERN } = config;
  if ((secret === undefined) === (jwksUrl === undefined)) {
    throw new RangeError("Cannot verify tokens as exactly one of 'secret' and 'jwksUrl' is needed");
  }
  if (secret !== undefined && secret.length < MIN_SECRET_LENGTH) {
    throw new RangeError(`Cannot verify tokens as 'secret' is shorter than ${MIN_SECRET_LENGTH}`);
  }
  const algorithms = secret !== undefined ? SECRET_ALGORITHMS : JWKS_ALGORITHMS;
  const hmacKey = secret !== undefined ? new TextEncoder().encode(secret) : undefined;
  const jwksKeys = jwksUrl !== undefined ? remoteKeys(jwksUrl) : undefined;
  const now = config.now ?? (() => new Date());
  return {
    async verify(token) {
      if (token.length > MAX_TOKEN_LENGTH) {
        throw new TokenRefused(`the token is longer than ${MAX_TOKEN_LENGTH} characters`);
      }
      const options: JWTVerifyOptions = {
        algorithms: [...algorithms],
        issuer,
        audience,
        requiredClaims: ["sub", "exp"],
        clockTolerance: CLOCK_TOLERANCE_S,
        currentDate: now(),
      };
      let payload: JWTPayload;
      try {
        ({ payload } = hmacKey
          ? await jwtVerify(token, hmacKey, options)
          : await jwtVerify(token, jwksKeys!, options));
      } catch (err) {
        throw refusalOf(err, algorithms);
      }
      return userOf(payload, userPattern);
    },
  };
}

/**
 * The token of an `Authorization` header value: `Bearer <token>` (scheme case-insensitive);
 * any other shape is a {@linkcode TokenRefused}.
 */
export function bearerToken(header: string): string {
  const m = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(header);
  if (!m) {
    const scheme = header.trim().split(/\s+/)[0]?.slice(0, 20) ?? "";
    throw new TokenRefused(
      /^bearer$/i.test(scheme)
        ? "Authorization must be 'Bearer <token>' with one token"
        : `Authorization must be 'Bearer <token>', not '${scheme}'`,
    );
  }
  return m[1];
}

/** Options of {@linkcode issueToken}. */
export interface IssueOptions {
  /** Lifetime, seconds. @default 3600 */
  ttlSeconds?: number;
  /** `iss`. @default DEV_ISSUER */
  issuer?: string;
  /** `aud`, when wanted. */
  audience?: string;
  /** Issue time (tests issue tokens already expired). @default new Date() */
  now?: Date;
  /** What a known user id looks like. @default USER_ID_PATTERN */
  userPattern?: RegExp;
}

/**
 * The dev issuer: an HS256 JWT for `userId` (`sub`, `iat`, `exp`, `iss`, `aud` when given),
 * signed with `secret`; a user id that is not known is a {@linkcode ConfigError} naming `USER`.
 */
export async function issueToken(
  userId: string,
  secret: string,
  options: IssueOptions = {},
): Promise<string> {
  const { ttlSeconds = 3600, issuer = DEV_ISSUER, audience, now = new Date() } = options;
  const pattern = options.userPattern ?? USER_ID_PATTERN;
  if (!pattern.test(userId)) {
    throw new ConfigError(
      `Cannot use USER as it must be a known user id (matching ${pattern.source}, e.g. user-42): current value is '${userId}'`,
    );
  }
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) {
    throw new RangeError(
      `Cannot issue as 'ttlSeconds' must be ≥ 1: current value is ${ttlSeconds}`,
    );
  }
  const iat = Math.floor(now.getTime() / 1000);
  const jwt = new SignJWT({}).setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(userId).setIssuedAt(iat).setExpirationTime(iat + ttlSeconds).setIssuer(issuer);
  if (audience !== undefined) jwt.setAudience(audience);
  return await jwt.sign(new TextEncoder().encode(secret));
}

/**
 * Tokens for many users from one secret (the simulated users, the demo, the tests): each
 * user's token is issued once and issued again when less than a tenth of its lifetime is left.
 */
export function devTokens(
  secret: string,
  options: Omit<IssueOptions, "now"> = {},
): (userId: string) => Promise<string> {
  const ttl = options.ttlSeconds ?? 3600;
  const held = new Map<string, { token: Promise<string>; renewAt: number }>();
  return (userId) => {
    const now = Date.now();
    const h = held.get(userId);
    if (h && now < h.renewAt) return h.token;
    const token = issueToken(userId, secret, { ...options, now: new Date(now) });
    held.set(userId, { token, renewAt: now + ttl * 900 });
    return token;
  };
}

/** `--ttl` as seconds: `<n>s`, `<n>m`, `<n>h` or `<n>d`, from 1 s to 30 days. */
export function parseTtl(raw: string, what = "--ttl"): number {
  const m = /^(\d{1,7})([smhd])$/.exec(raw.trim());
  const unit = { s: 1, m: 60, h: 3600, d: 86_400 } as const;
  const seconds = m ? Number(m[1]) * unit[m[2] as keyof typeof unit] : NaN;
  if (!(seconds >= 1 && seconds <= 30 * 86_400)) {
    throw new ConfigError(
      `Cannot use ${what} as it must be a duration from 1s to 30d such as 90s, 15m, 1h or 7d: current value is '${raw}'`,
    );
  }
  return seconds;
}
