/**
 * `deno task final:forbid add ID "reason" | remove ID | list` — manages the forbidden-products
 * list in PostgreSQL (`analytics.forbidden_products`). Changes reach the product filter through
 * Debezium CDC (`deno task final:sink` registers the connector). Plain `psql` INSERTs into the
 * same table work too.
 *
 * Env: POSTGRES_URL (default: the local stack's PostgreSQL).
 */
import { ConfigError, defineTask, runMain, SERVICE_ENV } from "../../lib/env/mod.ts";
import { postgresUrlFromEnv } from "../../lib/connect/mod.ts";
import { addForbidden, listForbidden, removeForbidden } from "../../lib/marketplace/mod.ts";
import { applyPlatformConfig } from "../../lib/marketplace/mod.ts";

const USAGE = 'usage: deno task final:forbid add ID "reason" | remove ID | list';

const SPEC = defineTask({
  task: "final:forbid",
  summary:
    "Manages the forbidden-products list in PostgreSQL (analytics.forbidden_products); changes reach the filter through Debezium CDC.",
  env: {
    ...SERVICE_ENV.postgres,
  },
  positionals: [
    {
      name: "COMMAND",
      description: "add, remove or list",
      required: true,
      choices: ["add", "remove", "list"],
    },
    { name: "ID", description: "product id (add, remove)" },
    { name: "REASON", description: "add: why (the rest of the line)", variadic: true },
  ],
  usage: ['add ID "reason"', "remove ID", "list"],
  examples: ['deno task final:forbid add 12345 "counterfeit"', "deno task final:forbid list"],
});

await runMain(async (cli) => {
  applyPlatformConfig("tool");
  const [command, id, ...rest] = cli.positional;
  const url = postgresUrlFromEnv();
  switch (command) {
    case "add": {
      if (!id) throw new ConfigError(`Missing product ID. ${USAGE}`);
      const row = await addForbidden(url, id, rest.join(" "));
      console.log(
        `forbidden: ${row.product_id} (${row.reason || "no reason"}) since ${row.created_at}`,
      );
      break;
    }
    case "remove": {
      if (!id) throw new ConfigError(`Missing product ID. ${USAGE}`);
      if (rest.length) throw new ConfigError(`Unexpected argument '${rest[0]}'. ${USAGE}`);
      const was = await removeForbidden(url, id);
      console.log(was ? `allowed again: ${id}` : `${id} was not forbidden`);
      break;
    }
    case "list": {
      if (id) throw new ConfigError(`Unexpected argument '${id}'. ${USAGE}`);
      const rows = await listForbidden(url);
      console.log(`${rows.length} forbidden product(s)`);
      for (const r of rows) console.log(`${r.product_id}\t${r.created_at}\t${r.reason}`);
      break;
    }
    default:
      throw new ConfigError(
        command ? `Unknown command '${command}'. ${USAGE}` : `Missing command. ${USAGE}`,
      );
  }
}, SPEC);
