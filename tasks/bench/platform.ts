/**
 * `deno task bench:platform [--shop-rates 250,500,1000,2000] [--client-rates 100,250,500,1000]
 * [--seconds 20] [--stores 5]` — the running platform under open-loop load at stepped rates
 * (lib/marketplace/bench/): the SHOP API with products of the run's own from `--stores` stores,
 * and the CLIENT API with the simulated users' mix (search, product, events, recommendations),
 * both at once. Per step: p50/p95/p99 per route (HTTP) and per hop (SHOP ack → `products` on A
 * → PostgreSQL row; CLIENT API event → cluster B → lake file), timestamps taken by readers that
 * are not the services; the highest rate each held with p99 under its target. Saves
 * bench-results/platform.{md,json} and platform.svg (p99 vs offered rate).
 *
 * Needs the platform running on the stack of STACK_DIR: `deno task demo` (it leaves it up).
 */
import { ConfigError, defaultStackDir, defineTask, flagInt, runMain } from "../../lib/env/mod.ts";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../lib/env/mod.ts";
import { Stack } from "../../lib/stack/mod.ts";
import { parseRates, writeReport } from "../../lib/bench/mod.ts";
import {
  CLIENT_MIX,
  platformChart,
  platformReport,
  runPlatformBench,
} from "../../lib/marketplace/bench/mod.ts";

const SPEC = defineTask({
  task: "bench:platform",
  summary:
    "The running platform at stepped offered rates (open loop): SHOP API with N stores and the CLIENT API's user mix at once; p50/p95/p99 per route and per hop (ack → products → PostgreSQL; event → cluster B → lake) and the highest rate each held under its target. Needs the platform running (deno task demo).",
  flags: {
    "shop-rates": {
      type: "string",
      default: "250,500,1000,2000",
      description: "SHOP API products/s per step, ascending",
    },
    "client-rates": {
      type: "string",
      default: "100,250,500,1000",
      description: "CLIENT API requests/s per step (as many as --shop-rates)",
    },
    seconds: { type: "string", default: "20", description: "seconds of load per step" },
    stores: { type: "string", default: "5", description: "stores sending at once (1..5)" },
    batch: { type: "string", default: "1", description: "products per SHOP API request" },
    users: { type: "string", default: "50", description: "users the CLIENT API load acts as" },
    drain: {
      type: "string",
      default: "60",
      description: "longest wait per step for the last records at every hop (s)",
    },
  },
  env: {
    STACK_DIR: { description: "the stack's data folder", default: ".stack" },
    STACK_PORT_OFFSET: { description: "added to every port", default: "0" },
  },
  examples: [
    "deno task bench:platform",
    "deno task bench:platform --shop-rates 20,50 --client-rates 10,20 --seconds 5",
  ],
});

function rates(flag: string, raw: string): number[] {
  try {
    return parseRates(raw, 100_000);
  } catch (err) {
    throw new ConfigError(`Cannot bench as '--${flag}' ${(err as Error).message}`);
  }
}

await runMain(async (cli) => {
  const shopRates = rates("shop-rates", cli.values["shop-rates"] ?? "250,500,1000,2000");
  const clientRates = rates("client-rates", cli.values["client-rates"] ?? "100,250,500,1000");
  if (clientRates.length !== shopRates.length) {
    throw new ConfigError(
      `Cannot bench as '--client-rates' must have one rate per step of --shop-rates (${shopRates.length}): current value is '${
        cli.values["client-rates"]
      }'`,
    );
  }
  const seconds = flagInt(cli, "seconds", 20, { min: 1, max: 600 });
  const stores = flagInt(cli, "stores", 5, { min: 1, max: 5 });
  const batch = flagInt(cli, "batch", 1, { min: 1, max: 500 });
  const users = flagInt(cli, "users", 50, { min: 1, max: 100_000 });
  const drainSeconds = flagInt(cli, "drain", 60, { min: 1, max: 900 });
  const stack = await Stack.load(defaultStackDir());
  const steps = await runPlatformBench(stack, {
    shopRates,
    clientRates,
    seconds,
    stores,
    batch,
    users,
    drainSeconds,
  });
  const dir = join(PROJECT_ROOT, "bench-results");
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(join(dir, "platform.svg"), platformChart(steps));
  const command =
    `deno task bench:platform --shop-rates ${shopRates} --client-rates ${clientRates} ` +
    `--seconds ${seconds} --stores ${stores} --batch ${batch}`;
  const note = `the platform of \`deno task demo\` under open-loop load, ${seconds} s a step: ` +
    `products of the run's own through the SHOP API (${stores} stores in turn, ${batch} a request) ` +
    `and the CLIENT API's mix (${
      CLIENT_MIX.map((m) => `${m.route.replace("CLIENT API ", "")} ${m.share * 100} %`).join(", ")
    }; ` +
    `${users} users) at once. Routes: send → answer. Hops, from the acknowledgement to first seen by a reader ` +
    "that is not a service: `products` on A (kafkajs, read_committed), the PostgreSQL row (polled every 200 ms), " +
    "`user-events` on B (kafkajs, read_committed), a Parquet file in the lake (WebHDFS listing every 1 s; the lake " +
    "sink writes files in batches, so this hop is coarse: roll interval plus listing). A step held when every " +
    "acknowledged record was seen, every answer was 2xx and p99 ≤ target.";
  const markdown = platformReport({ steps, command, chart: "platform.svg", note });
  const saved = await writeReport("platform", {
    title: "bench:platform",
    markdown,
    json: { shopRates, clientRates, seconds, stores, batch, users, steps },
  });
  console.log(`\n${markdown}\n\nSaved ${saved}, platform.json and platform.svg`);
}, SPEC);
