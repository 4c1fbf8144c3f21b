/**
 * `deno task final:check [--config FILE] [--no-services] [--print] [--json]` — connects to every
 * component the platform config names (cluster A as each of the platform's principals, cluster
 * B, PostgreSQL, Kafka Connect, HDFS, the Spark master, Prometheus, the store keys) and the
 * platform's own services, and prints one line each: ok with what it saw, or what is wrong and
 * how to fix it. Exits 1 when any component fails.
 *
 * The config: env variables `PLATFORM_*`, else the file `--config` / `PLATFORM_CONFIG`, else the
 * running local stack (lib/marketplace/platform_config.ts). `--print` writes the resolved config
 * as a file to start from.
 */
import { defineTask, formatTable, runMain } from "../../lib/env/mod.ts";
import {
  checkPlatform,
  formatPlatformConfig,
  PLATFORM_KEYS,
  resolvePlatformConfig,
} from "../../lib/marketplace/mod.ts";

const SPEC = defineTask({
  task: "final:check",
  summary:
    "Connects to each component of the platform config (clusters A and B, PostgreSQL, Connect, HDFS, Spark, Prometheus, store keys, the platform's services) and prints one line each: ok, or what is wrong and how to fix it.",
  flags: {
    config: {
      type: "string",
      valueName: "FILE",
      description: "platform config file (KEY=value lines)",
      default: "PLATFORM_CONFIG, else the local stack",
    },
    "no-services": {
      type: "boolean",
      description: "check the infrastructure only, not the platform's own services",
    },
    print: { type: "boolean", description: "print the resolved config as a file and exit" },
    json: { type: "boolean", description: "print the verdicts as JSON" },
  },
  env: Object.fromEntries(
    Object.entries(PLATFORM_KEYS).map(([key, spec]) => [key, { description: spec.description }]),
  ),
  examples: [
    "deno task final:check",
    "deno task final:check --print > platform.env",
    "deno task final:check --config platform.env --no-services",
  ],
});

await runMain(async (cli) => {
  const config = resolvePlatformConfig({ file: cli.values.config });
  if (cli.booleans.print) {
    console.log(formatPlatformConfig(config).trimEnd());
    return;
  }
  const lines = await checkPlatform(config, { services: !cli.booleans["no-services"] });
  const failed = lines.filter((l) => !l.ok);
  if (cli.booleans.json) {
    console.log(JSON.stringify({ file: config.file ?? null, lines }, null, 2));
  } else {
    console.log(`platform config: ${config.file ?? "the local stack"} (env PLATFORM_* overrides)`);
    const rows = lines.map((l) => ({
      component: l.component,
      state: l.ok ? "ok" : "FAILED",
      detail: l.detail,
    }));
    console.log(formatTable(rows).join("\n"));
    console.log(
      failed.length
        ? `${failed.length} of ${lines.length} components failed: ${
          failed.map((l) => l.component).join(", ")
        }`
        : `all ${lines.length} components ok`,
    );
  }
  if (failed.length) Deno.exit(1);
}, SPEC);
