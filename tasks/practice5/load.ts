/**
 * `deno task practice5:load [--users 10] [--orders-per-user 2] [--updates 2] [--deletes 1]` —
 * the seed's `data-loader`: inserts users and orders, then updates and deletes some, so the
 * consumer sees create, update and delete events.
 */
import { ConfigError, parseFlags, parseIntValue, runMain } from "../../lib/env/mod.ts";
import { postgresUrlFromEnv, withDatabase } from "../../lib/connect/mod.ts";
import { loadPractice5, PRACTICE5_DB } from "../../lib/course/practice5/mod.ts";

await runMain(async () => {
  const flags = parseFlags(Deno.args, {
    string: ["users", "orders-per-user", "updates", "deletes"],
  });
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
});
