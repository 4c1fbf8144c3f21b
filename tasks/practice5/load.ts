/**
 * `deno task practice5:load [--users 10] [--orders-per-user 2] [--updates 2] [--deletes 1]` —
 * the seed's `data-loader`: inserts users and orders, then updates and deletes some, so the
 * consumer sees create, update and delete events.
 */
import { ConfigError, defineTask, parseIntValue, runMain, SERVICE_ENV } from "../../lib/env/mod.ts";
import { postgresUrlFromEnv, withDatabase } from "../../lib/connect/mod.ts";
import { loadPractice5, PRACTICE5_DB } from "../../lib/course/practice5/mod.ts";

const SPEC = defineTask({
  task: "practice5:load",
  summary: "The seed's data-loader: inserts users and orders, then updates and deletes some.",
  flags: {
    users: { type: "string", default: "10", valueName: "N", description: "users to insert" },
    "orders-per-user": {
      type: "string",
      default: "2",
      valueName: "N",
      description: "orders per user",
    },
    updates: { type: "string", default: "2", valueName: "N", description: "rows to update" },
    deletes: { type: "string", default: "1", valueName: "N", description: "rows to delete" },
  },
  env: {
    ...SERVICE_ENV.postgres,
  },
  examples: ["deno task practice5:load --users 20"],
});

await runMain(async (cli) => {
  const flags = cli;
  if (flags.positional.length) {
    throw new ConfigError(`Unexpected argument '${flags.positional[0]}'`);
  }
  const v = flags.values;
  const report = await loadPractice5({
    url: withDatabase(postgresUrlFromEnv(), PRACTICE5_DB),
    users: parseIntValue("--users", v.users ?? "10", { min: 0 }),
    ordersPerUser: parseIntValue("--orders-per-user", v["orders-per-user"] ?? "2", { min: 0 }),
    updates: parseIntValue("--updates", v.updates ?? "2", { min: 0 }),
    deletes: parseIntValue("--deletes", v.deletes ?? "1", { min: 0 }),
  });
  console.log(JSON.stringify(report));
}, SPEC);
