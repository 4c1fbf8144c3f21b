/**
 * `deno task extra:setup [--reset]` — creates the `customers` database and the seed's `users`
 * table (id, name, updated_at, private_info) on POSTGRES_URL's server (default: the stack's).
 */
import { parseFlags, runMain } from "../../lib/env/mod.ts";
import { postgresUrlFromEnv } from "../../lib/connect/mod.ts";
import { setupUsers } from "../../lib/course/extra/mod.ts";

await runMain(async () => {
  const flags = parseFlags(Deno.args, { boolean: ["reset"] });
  const url = await setupUsers({ url: postgresUrlFromEnv(), reset: flags.booleans.reset });
  console.log(`customers.users ready (${new URL(url).host}${new URL(url).pathname})`);
});
