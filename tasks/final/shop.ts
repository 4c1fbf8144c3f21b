/**
 * `deno task final:shop [--file products.json] [--generate N] [--seed S] [--url URL]
 * [--batch N]` — the seed's `producer_shop_api`: sends the products of a file (a JSON array or
 * NDJSON; default the sample lib/marketplace/products.json) or N generated ones through the
 * SHOP API, each store with its own key, and prints what was accepted and refused.
 * Exit code 1 when anything was refused.
 */
import { ConfigError, defineTask, flagInt, runMain } from "../../lib/env/mod.ts";
import {
  generateProducts,
  loadStoreKeys,
  sampleProducts,
  sendToShopApi,
  servicePort,
  storeKeysFile,
} from "../../lib/marketplace/mod.ts";
import { applyPlatformConfig } from "../../lib/marketplace/mod.ts";

async function readProducts(file: string): Promise<unknown[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (err) {
    throw new ConfigError(`Cannot read --file ${file}: ${(err as Error).message}`);
  }
  try {
    const value = JSON.parse(text);
    return Array.isArray(value) ? value : [value];
  } catch {
    return text.split("\n").filter((l) => l.trim()).map((line, i) => {
      try {
        return JSON.parse(line);
      } catch (err) {
        throw new ConfigError(
          `Cannot use --file ${file}: line ${i + 1} is not JSON (${(err as Error).message})`,
        );
      }
    });
  }
}

const SPEC = defineTask({
  task: "final:shop",
  summary:
    "Sends a product catalogue to the SHOP API: the sample, a file (JSON array or NDJSON) or N generated products.",
  flags: {
    file: {
      type: "string",
      default: "the sample catalogue",
      valueName: "FILE",
      description: "products file (JSON array or NDJSON)",
    },
    generate: { type: "string", valueName: "N", description: "generate N products instead" },
    seed: { type: "string", default: "1", valueName: "N", description: "seed of --generate" },
    url: {
      type: "string",
      default: "http://127.0.0.1:<shop-api port>",
      valueName: "URL",
      description: "SHOP API URL",
    },
    batch: { type: "string", default: "500", valueName: "N", description: "products per request" },
  },
  examples: ["deno task final:shop", "deno task final:shop --generate 10000"],
});

await runMain(async (cli) => {
  applyPlatformConfig("tool");
  const flags = cli;
  if (flags.values.file && flags.values.generate) {
    throw new ConfigError("Use --file or --generate, not both");
  }
  const url = flags.values.url ?? `http://127.0.0.1:${servicePort("shop-api")}`;
  if (!/^https?:\/\/[^/\s]+$/.test(url)) {
    throw new ConfigError(
      `Cannot use --url as it must be http(s)://host:port: current value is '${url}'`,
    );
  }
  const products = flags.values.file
    ? await readProducts(flags.values.file)
    : flags.values.generate
    ? generateProducts(flagInt(flags, "generate", 0, { min: 1, max: 10_000_000 }), {
      seed: flagInt(flags, "seed", 1, { min: 0, max: 2 ** 32 - 1 }),
    })
    : sampleProducts();
  const keys = await loadStoreKeys(storeKeysFile());
  const health = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
  if (!health) {
    throw new ConfigError(`No SHOP API at ${url}: start it with \`deno task final:shop-api\``);
  }
  const source = flags.values.file ?? (flags.values.generate ? "generated" : "sample");
  console.log(`Sending ${products.length} products (${source}) to ${url}/products`);
  const started = performance.now();
  const summary = await sendToShopApi(products, {
    url,
    keys,
    batchSize: flagInt(flags, "batch", 500, { min: 1, max: 50_000 }),
  });
  const secs = (performance.now() - started) / 1_000;
  for (const r of summary.results.filter((r) => r.status !== 202).slice(0, 50)) {
    console.log(
      `refused ${r.status} ${r.product_id ?? `#${r.index}`} (${r.store_id}) ${
        r.field ?? ""
      }: ${r.error}`,
    );
  }
  const perStore = new Map<string, number>();
  for (const r of summary.results) {
    if (r.status === 202) perStore.set(r.store_id, (perStore.get(r.store_id) ?? 0) + 1);
  }
  console.log(
    `accepted ${summary.accepted}, refused ${summary.refused} in ${summary.requests} requests, ${
      secs.toFixed(2)
    } s (${Math.round(products.length / secs)} products/s)`,
  );
  console.log(
    `accepted per store: ${[...perStore].map(([s, n]) => `${s}=${n}`).join(", ") || "none"}`,
  );
  if (summary.refused > 0) Deno.exit(1);
}, SPEC);
