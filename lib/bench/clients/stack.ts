/**
 * The benchmark stack on a port offset that can be moved: `BENCH_PORT_OFFSET` (default
 * {@linkcode BENCH_PORT_OFFSET}, 22000). The default collides with the test stack's secure
 * cluster (11092 + 20000 = 31092) while a test run has it up; `BENCH_PORT_OFFSET=26000` avoids it.
 *
 * @example
 * ```ts
 * import { benchKafkaMovable } from "./stack.ts";
 * const { stack, bootstrap, kafka, admin } = await benchKafkaMovable("bench-produce");
 * ```
 * @module
 */
import { join } from "node:path";
import type { Admin, Kafka } from "kafkajs";
import { envInt, PROJECT_ROOT } from "../../env/mod.ts";
import { Stack } from "../../stack/mod.ts";
import { createKafka } from "../../kafka/mod.ts";
import { BENCH_PORT_OFFSET } from "../bench.ts";

/** The port offset of the benchmark stack: `$BENCH_PORT_OFFSET` or {@linkcode BENCH_PORT_OFFSET}. */
export function benchPortOffset(): number {
  return envInt("BENCH_PORT_OFFSET", { default: BENCH_PORT_OFFSET, min: 0, max: 50_000 });
}

/** As `benchKafka` of lib/bench, on {@linkcode benchPortOffset}. */
export async function benchKafkaMovable(
  clientId: string,
): Promise<{ stack: Stack; bootstrap: string; kafka: Kafka; admin: Admin }> {
  const stack = new Stack({
    dir: join(PROJECT_ROOT, ".stack-bench"),
    brokers: 1,
    postgres: false,
    portOffset: benchPortOffset(),
  });
  await stack.up();
  const bootstrap = stack.kafka.bootstrap();
  const kafka = createKafka({ brokers: bootstrap.split(","), clientId, logLevel: "ERROR" });
  const admin = kafka.admin();
  await admin.connect();
  return { stack, bootstrap, kafka, admin };
}
