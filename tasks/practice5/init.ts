/**
 * `deno task practice5:init` — creates the `practice5` database with the `users` and `orders`
 * tables (REPLICA IDENTITY FULL, so Debezium's update and delete events carry the old row),
 * as the seed's `postgres-init` service does.
 */
import { runMain } from "../../lib/env/mod.ts";
import { postgresUrlFromEnv } from "../../lib/connect/mod.ts";
import { initPractice5 } from "../../lib/course/practice5/mod.ts";

await runMain(async () => {
  const url = await initPractice5(postgresUrlFromEnv());
  console.log(`Tables users and orders ready in ${new URL(url).host}${new URL(url).pathname}`);
});
