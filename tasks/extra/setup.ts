/**
 * `deno task extra:setup [--reset]` — creates the `customers` database and the seed's `users`
 * table (id, name, updated_at, private_info) on POSTGRES_URL's server (default: the stack's).
 */
import { defineTask, runMain, SERVICE_ENV } from "../../lib/env/mod.ts";
import { postgresUrlFromEnv } from "../../lib/connect/mod.ts";
import { setupUsers } from "../../lib/course/extra/mod.ts";

const SPEC = defineTask({
  task: "extra:setup",
  summary:
    "Creates the customers database and the seed's users table (id, name, updated_at, private_info).",
  flags: {
    reset: { type: "boolean", description: "drop and recreate the table" },
  },
  env: {
    ...SERVICE_ENV.postgres,
  },
  examples: ["deno task extra:setup"],
});

await runMain(async (cli) => {
  const flags = cli;
  const url = await setupUsers({ url: postgresUrlFromEnv(), reset: flags.booleans.reset });
  console.log(`customers.users ready (${new URL(url).host}${new URL(url).pathname})`);
}, SPEC);
