/**
 * `deno task practice5:init` — creates the `practice5` database with the `users` and `orders`
 * tables (REPLICA IDENTITY FULL, so Debezium's update and delete events carry the old row),
 * as the seed's `postgres-init` service does.
 */
import { defineTask, runMain, SERVICE_ENV } from "../../lib/env/mod.ts";
import { postgresUrlFromEnv } from "../../lib/connect/mod.ts";
import { initPractice5 } from "../../lib/course/practice5/mod.ts";

const SPEC = defineTask({
  task: "practice5:init",
  summary:
    "Creates the practice5 database with the users and orders tables (REPLICA IDENTITY FULL), as the seed's postgres-init.",
  env: {
    ...SERVICE_ENV.postgres,
  },
  examples: ["deno task practice5:init"],
});

await runMain(async () => {
  const url = await initPractice5(postgresUrlFromEnv());
  console.log(`Tables users and orders ready in ${new URL(url).host}${new URL(url).pathname}`);
}, SPEC);
