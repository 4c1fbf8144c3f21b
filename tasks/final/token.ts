/**
 * `deno task final:token USER [--ttl 1h]` — the dev issuer of the CLIENT API's users: prints a
 * bearer token (an HS256 JWT, `sub` = USER, `exp` = now + TTL) signed with the stack's identity
 * key (`<stack>/secrets/final/identity-key`, made on first use; or CLIENT_API_JWT_SECRET_FILE),
 * the key the CLIENT API verifies with. Only the token goes to stdout, so
 * `curl -H "Authorization: Bearer $(deno task -q final:token user-1)" …` works; on a terminal a
 * second line on stderr says whose it is and until when. With CLIENT_API_JWKS_URL set the CLIENT
 * API trusts only that identity provider, so the dev issuer refuses to sign.
 * @module
 */
import { defineTask, runMain, SERVICE_ENV } from "../../lib/env/mod.ts";
import {
  DEV_ISSUER,
  devClaimsFromEnv,
  identitySecretFromEnv,
  issueToken,
  parseTtl,
  userPatternFromEnv,
} from "../../lib/marketplace/mod.ts";
import { applyPlatformConfig } from "../../lib/marketplace/mod.ts";

const SPEC = defineTask({
  task: "final:token",
  summary:
    "The dev issuer of the CLIENT API: prints a bearer token (HS256 JWT, sub = USER) signed with the stack's identity key, for curl, the simulated users and the demo.",
  flags: {
    ttl: {
      type: "string",
      default: "1h",
      valueName: "DURATION",
      description: "lifetime: 90s, 15m, 1h, 7d (1s to 30d)",
    },
  },
  positionals: [
    { name: "USER", description: "the user id (sub), e.g. user-42", required: true },
  ],
  env: {
    CLIENT_API_JWT_SECRET_FILE: {
      description: "file of the HS256 identity key",
      default: "<stack>/secrets/final/identity-key, generated on first use",
    },
    CLIENT_API_JWT_ISSUER: { description: "iss of the token", default: DEV_ISSUER },
    CLIENT_API_JWT_AUDIENCE: { description: "aud of the token (unset: none)" },
    CLIENT_API_USER_PATTERN: {
      description: "regular expression of a known user id",
      default: "^user-[0-9]{1,12}$",
    },
    CLIENT_API_JWKS_URL: {
      description: "set: the CLIENT API trusts an identity provider, and this task refuses",
    },
    ...SERVICE_ENV.stack,
  },
  examples: [
    "deno task final:token user-42",
    'curl -H "Authorization: Bearer $(deno task -q final:token user-1)" http://127.0.0.1:8280/users/user-1/recommendations',
  ],
});

await runMain(async (cli) => {
  applyPlatformConfig("tool");
  const [user] = cli.positional;
  const claims = devClaimsFromEnv();
  const ttlSeconds = parseTtl(cli.values.ttl ?? "1h");
  const userPattern = userPatternFromEnv();
  const { secret, file } = await identitySecretFromEnv();
  const now = new Date();
  const token = await issueToken(user, secret, { ...claims, ttlSeconds, now, userPattern });
  console.log(token);
  if (Deno.stdout.isTerminal()) {
    const until = new Date(now.getTime() + ttlSeconds * 1000).toISOString();
    console.error(`token of ${user}, valid until ${until} (HS256, key ${file})`);
  }
}, SPEC);
