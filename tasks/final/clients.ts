/**
 * `deno task final:clients [--users N] [--duration S] [--sessions N] [--seed N] [--think-ms N]
 * [--url URL] [--first-user N]` — the seed's `producer_client_api`: simulated users (Zipf popularity, sessions,
 * view → cart → purchase → review funnel, some searches that find nothing) use the CLIENT API
 * for S seconds (or N sessions each), then print what they did. Seeded: the same seed against
 * the same catalogue makes the same requests. Each user sends its own bearer token from the dev
 * issuer (the stack's identity key, as `deno task final:token` signs).
 *
 * Env: CLIENT_API_URL (default http://127.0.0.1:<client-api port + STACK_PORT_OFFSET>),
 * CLIENT_API_JWT_SECRET_FILE, CLIENT_API_JWT_ISSUER, CLIENT_API_JWT_AUDIENCE (as the API's).
 */
import {
  ConfigError,
  defineTask,
  envString,
  flagInt,
  runMain,
  SERVICE_ENV,
} from "../../lib/env/mod.ts";
import {
  DEV_ISSUER,
  devClaimsFromEnv,
  devTokens,
  identitySecretFromEnv,
  runSimulation,
  servicePort,
  type SimulationReport,
  userPatternFromEnv,
} from "../../lib/marketplace/mod.ts";
import { applyPlatformConfig } from "../../lib/marketplace/mod.ts";

const SPEC = defineTask({
  task: "final:clients",
  summary:
    "The seed's producer_client_api: simulated users use the CLIENT API for S seconds (or N sessions each), then print what they did; seeded.",
  flags: {
    users: { type: "string", default: "20", valueName: "N", description: "simulated users" },
    duration: { type: "string", default: "30", valueName: "S", description: "seconds to run" },
    sessions: {
      type: "string",
      valueName: "N",
      description: "sessions per user instead of --duration",
    },
    seed: { type: "string", default: "42", valueName: "N", description: "random seed" },
    "think-ms": {
      type: "string",
      default: "150",
      valueName: "MS",
      description: "pause between a user's requests",
    },
    url: {
      type: "string",
      default: "CLIENT_API_URL",
      valueName: "URL",
      description: "CLIENT API URL",
    },
    "first-user": {
      type: "string",
      default: "1000",
      valueName: "N",
      description: "number of the first user id",
    },
  },
  env: {
    CLIENT_API_URL: {
      description: "CLIENT API URL",
      default: "http://127.0.0.1:<client-api port + STACK_PORT_OFFSET>",
    },
    CLIENT_API_JWT_SECRET_FILE: {
      description: "file of the identity key the users' tokens are signed with",
      default: "<stack>/secrets/final/identity-key, generated on first use",
    },
    CLIENT_API_JWT_ISSUER: { description: "iss of the users' tokens", default: DEV_ISSUER },
    CLIENT_API_JWT_AUDIENCE: { description: "aud of the users' tokens (unset: none)" },
    CLIENT_API_USER_PATTERN: {
      description: "regular expression of a known user id",
      default: "^user-[0-9]{1,12}$",
    },
    CLIENT_API_JWKS_URL: { description: "set: the API trusts an identity provider; refused here" },
    ...SERVICE_ENV.stack,
  },
  examples: ["deno task final:clients --users 5 --duration 10"],
});

await runMain(async (cli) => {
  applyPlatformConfig("tool");
  const flags = cli;
  const users = flagInt(flags, "users", 20, { min: 1, max: 10_000 });
  const durationS = flagInt(flags, "duration", 30, { min: 1, max: 86_400 });
  const sessions = flags.values.sessions === undefined
    ? undefined
    : flagInt(flags, "sessions", 1, { min: 1, max: 100_000 });
  const seed = flagInt(flags, "seed", 42, { min: 0, max: 2 ** 31 - 1 });
  const thinkMs = flagInt(flags, "think-ms", 150, { min: 0, max: 60_000 });
  const firstUser = flagInt(flags, "first-user", 1000, { min: 0, max: 999_999_999_999 - 10_000 });
  const url = flags.values.url ??
    envString("CLIENT_API_URL", `http://127.0.0.1:${servicePort("client-api")}`);
  try {
    new URL(url);
  } catch {
    throw new ConfigError(
      `Cannot use --url as it must be an http(s) URL: current value is '${url}'`,
    );
  }
  const health = await fetch(`${url}/healthz`).then((r) => r.body?.cancel()).then(
    () => true,
    () => false,
  );
  if (!health) {
    throw new ConfigError(
      `No CLIENT API at ${url}: start it with \`deno task final:client-api\` (or pass --url)`,
    );
  }
  console.log(
    `${users} users (user-${firstUser}…user-${firstUser + users - 1}) → ${url} for ${
      sessions ? `${sessions} sessions each` : `${durationS} s`
    } (seed ${seed}, think ${thinkMs} ms)`,
  );
  const { secret } = await identitySecretFromEnv();
  const token = devTokens(secret, { ...devClaimsFromEnv(), userPattern: userPatternFromEnv() });
  const report = await runSimulation({
    baseUrl: url,
    token,
    users,
    durationS,
    sessions,
    seed,
    thinkMs,
    firstUser,
    onProgress: (r) =>
      console.log(
        `… ${r.requests} requests, ${r.sessions} sessions, ${r.events.view} views, ${r.events.purchase} purchases`,
      ),
  });
  print(report);
  if (report.failures > 0) Deno.exitCode = 1;
}, SPEC);

function print(r: SimulationReport): void {
  const secs = r.durationMs / 1000;
  console.log(
    `\n${r.users} users, ${r.sessions} sessions, ${r.requests} requests in ${secs.toFixed(1)} s ` +
      `(${(r.requests / secs).toFixed(0)}/s); catalogue seen: ${r.catalog} products`,
  );
  console.log("answers by route and status:");
  for (const [route, byStatus] of Object.entries(r.statuses).sort()) {
    const parts = Object.entries(byStatus).map(([s, n]) => `${s}×${n}`).join(" ");
    console.log(`  ${route.padEnd(16)} ${parts}`);
  }
  const e = r.events;
  const pct = (a: number, b: number) => (b ? `${((100 * a) / b).toFixed(1)}%` : "–");
  console.log(
    `events: view ${e.view}, add_to_cart ${e.add_to_cart} (${
      pct(e.add_to_cart, e.view)
    } of views), ` +
      `purchase ${e.purchase} (${pct(e.purchase, e.add_to_cart)} of carts), review ${e.review}`,
  );
  console.log(
    `searches: ${r.searches}, found nothing: ${r.emptySearches} (${
      pct(r.emptySearches, r.searches)
    })`,
  );
  console.log(
    `most viewed: ${r.topViewed.map((t) => `${t.product_id}×${t.views}`).join(", ") || "none"}`,
  );
  console.log(`failures (network or 5xx): ${r.failures}`);
}
