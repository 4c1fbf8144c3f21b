/**
 * The CLIENT API's identity (lib/marketplace/client_api/identity.ts), without services: tokens
 * of the dev issuer verify as their user; forged, tampered, expired, `none`, another algorithm,
 * no `sub`/`exp`, an unknown `sub`, the wrong `iss`/`aud` are each refused saying why; an
 * identity provider's EdDSA JWKS (served here by a local HTTP server) verifies its tokens and
 * refuses HS256 ones, and a JWKS that cannot be fetched is "unavailable", not a refusal; the
 * identity key file is made once (0600) and bad settings name their variable.
 */
import assert from "node:assert/strict";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { join } from "node:path";
import { ConfigError } from "../../lib/env/mod.ts";
import {
  bearerToken,
  devClaimsFromEnv,
  devTokens,
  ensureIdentityKey,
  identityFromEnv,
  identityKeyFile,
  IdentityUnavailable,
  issueToken,
  newIdentitySecret,
  parseTtl,
  readIdentityKey,
  TokenRefused,
  tokenVerifier,
} from "../../lib/marketplace/mod.ts";

const SECRET = newIdentitySecret();
const verifier = tokenVerifier({ secret: SECRET });
const env = (vars: Record<string, string>) => ({ get: (k: string) => vars[k] });
const b64 = (o: unknown) =>
  btoa(JSON.stringify(o)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

/** The refusal `verify` gives `token`, asserted to be a TokenRefused. */
async function refusal(token: string, v = verifier): Promise<string> {
  const err = await v.verify(token).then(() => undefined, (e) => e);
  assert.ok(err instanceof TokenRefused, `expected a refusal, got ${err}`);
  return err.message;
}

Deno.test("a dev token verifies as its user, until its exp", async () => {
  const token = await issueToken("user-42", SECRET, { ttlSeconds: 600 });
  const user = await verifier.verify(token);
  assert.equal(user.userId, "user-42");
  const left = user.expiresAt.getTime() - Date.now();
  assert.ok(left > 590_000 && left <= 600_000, `expires in ${left} ms`);
  // Another user's token is that user, never the one a request names.
  assert.equal((await verifier.verify(await issueToken("user-7", SECRET))).userId, "user-7");
  await assert.rejects(() => issueToken("bob", SECRET), ConfigError);
});

Deno.test("forged, tampered and expired tokens are refused saying why", async () => {
  const forged = await issueToken("user-42", newIdentitySecret());
  assert.match(await refusal(forged), /signature does not verify/);
  const [h, , s] = (await issueToken("user-42", SECRET)).split(".");
  const tampered = `${h}.${b64({ sub: "user-1", exp: inAnHour() })}.${s}`;
  assert.match(await refusal(tampered), /signature does not verify/);
  const expired = await issueToken("user-42", SECRET, {
    ttlSeconds: 3600,
    now: new Date(Date.now() - 2 * 3600_000),
  });
  assert.match(await refusal(expired), /expired/);
  assert.match(await refusal("not-a-jwt"), /not a valid JWT/);
  assert.match(await refusal("a".repeat(9000)), /longer than/);
});

Deno.test("'none', another algorithm, no sub, no exp, an unknown sub are refused", async () => {
  const key = new TextEncoder().encode(SECRET);
  const none = `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub: "user-1", exp: inAnHour() })}.`;
  assert.match(await refusal(none), /alg|not a valid JWT/);
  const hs512 = await new SignJWT({ sub: "user-1" }).setProtectedHeader({ alg: "HS512" })
    .setExpirationTime("1h").sign(key);
  assert.match(await refusal(hs512), /alg is not accepted \(only HS256\)/);
  const noSub = await new SignJWT({}).setProtectedHeader({ alg: "HS256" })
    .setExpirationTime("1h").sign(key);
  assert.match(await refusal(noSub), /sub/);
  const noExp = await new SignJWT({ sub: "user-1" }).setProtectedHeader({ alg: "HS256" })
    .sign(key);
  assert.match(await refusal(noExp), /exp/);
  const bob = await new SignJWT({ sub: "bob" }).setProtectedHeader({ alg: "HS256" })
    .setExpirationTime("1h").sign(key);
  assert.match(await refusal(bob), /sub 'bob' is not a known user id/);
});

Deno.test("iss and aud are checked when configured", async () => {
  const strict = tokenVerifier({ secret: SECRET, issuer: "idp", audience: "client-api" });
  const good = await issueToken("user-3", SECRET, { issuer: "idp", audience: "client-api" });
  assert.equal((await strict.verify(good)).userId, "user-3");
  assert.match(await refusal(await issueToken("user-3", SECRET), strict), /iss/);
  const otherAud = await issueToken("user-3", SECRET, { issuer: "idp", audience: "shop-api" });
  assert.match(await refusal(otherAud, strict), /aud/);
});

Deno.test("bearerToken: 'Bearer <token>' only", () => {
  assert.equal(bearerToken("Bearer a.b.c"), "a.b.c");
  assert.equal(bearerToken("bearer  a.b-c_d"), "a.b-c_d");
  assert.throws(() => bearerToken("Basic dXNlcjpwdw=="), /not 'Basic'/);
  assert.throws(() => bearerToken("Bearer a.b c.d"), TokenRefused);
  assert.throws(() => bearerToken("Bearer"), TokenRefused);
});

Deno.test("an identity provider's EdDSA JWKS: its tokens verify, HS256 and other keys do not; unreachable is unavailable", async () => {
  const { publicKey, privateKey } = await generateKeyPair("EdDSA", { extractable: true });
  const other = await generateKeyPair("EdDSA", { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "EdDSA", use: "sig" };
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    () => Response.json({ keys: [jwk] }),
  );
  try {
    const jwksUrl = `http://127.0.0.1:${server.addr.port}/jwks.json`;
    const idp = tokenVerifier({ jwksUrl, issuer: "https://idp.example" });
    const sign = (key: Parameters<SignJWT["sign"]>[0], sub = "user-9") =>
      new SignJWT({ sub }).setProtectedHeader({ alg: "EdDSA", kid: "k1" })
        .setIssuer("https://idp.example").setExpirationTime("10m").sign(key);
    assert.equal((await idp.verify(await sign(privateKey))).userId, "user-9");
    assert.match(await refusal(await sign(other.privateKey), idp), /signature/);
    const hs = await issueToken("user-9", SECRET, { issuer: "https://idp.example" });
    assert.match(await refusal(hs, idp), /alg is not accepted/);
  } finally {
    await server.shutdown();
  }
  const gone = tokenVerifier({ jwksUrl: `http://127.0.0.1:${server.addr.port}/jwks.json` });
  const token = await new SignJWT({ sub: "user-9" }).setProtectedHeader({ alg: "EdDSA" })
    .setExpirationTime("10m").sign(privateKey);
  const err = await gone.verify(token).then(() => undefined, (e) => e);
  assert.ok(err instanceof IdentityUnavailable, String(err));
});

Deno.test("the identity key file: made once, 0600, the same for concurrent first users", async () => {
  const dir = await Deno.makeTempDir({ prefix: "identity-test-" });
  try {
    const file = identityKeyFile(dir);
    assert.equal(file, join(dir, "secrets", "final", "identity-key"));
    const keys = await Promise.all([1, 2, 3, 4].map(() => ensureIdentityKey(file)));
    assert.equal(new Set(keys).size, 1, "one key for everyone");
    assert.ok(keys[0].length >= 32);
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    assert.equal(await ensureIdentityKey(file), keys[0], "kept on the next use");
    const fromEnv = await identityFromEnv(undefined, env({}), dir);
    assert.equal(fromEnv.secret, keys[0]);
    assert.match(fromEnv.source, /identity-key/);
    // A short key, a missing named file, a bad JWKS URL: each names its variable.
    const short = join(dir, "short");
    await Deno.writeTextFile(short, "tooshort\n");
    await assert.rejects(() => readIdentityKey(short), /CLIENT_API_JWT_SECRET_FILE.*at least 32/);
    await assert.rejects(
      () => identityFromEnv(undefined, env({ CLIENT_API_JWT_SECRET_FILE: join(dir, "nope") }), dir),
      /Cannot use CLIENT_API_JWT_SECRET_FILE/,
    );
    await assert.rejects(
      () => identityFromEnv(undefined, env({ CLIENT_API_JWKS_URL: "ftp://x" }), dir),
      /Cannot use CLIENT_API_JWKS_URL/,
    );
    const jwks = await identityFromEnv(undefined, env({ CLIENT_API_JWKS_URL: "https://i/j" }), dir);
    assert.equal(jwks.jwksUrl, "https://i/j");
    assert.equal(jwks.secret, undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the dev issuer: TTLs, claims from env, one token per user until renewal", async () => {
  assert.equal(parseTtl("90s"), 90);
  assert.equal(parseTtl("15m"), 900);
  assert.equal(parseTtl("1h"), 3600);
  assert.equal(parseTtl("7d"), 604_800);
  for (const bad of ["0s", "31d", "1y", "h", "-1h", ""]) {
    assert.throws(() => parseTtl(bad), /Cannot use --ttl/, bad);
  }
  assert.deepEqual(devClaimsFromEnv(env({})), { issuer: "marketplace-dev", audience: undefined });
  assert.throws(
    () => devClaimsFromEnv(env({ CLIENT_API_JWKS_URL: "https://idp/jwks" })),
    /CLIENT_API_JWKS_URL is set/,
  );
  const tokens = devTokens(SECRET);
  const a = await tokens("user-1");
  assert.equal(await tokens("user-1"), a, "cached");
  assert.notEqual(await tokens("user-2"), a);
  assert.equal((await verifier.verify(a)).userId, "user-1");
});
