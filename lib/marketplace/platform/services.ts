/**
 * What the platform runs on a stack: the stack options it needs on top of the user's saved
 * ones, and its Deno services (SHOP API, product filter, CLIENT API, lake sink, exporter) as
 * detached stack services that keep running after the job. Each start records how it was
 * started in the stack folder, so `deno task stack status|logs|restart|stop` know them like
 * the stack's own services.
 * @module
 */
import { DenoService, type Stack } from "../../stack/mod.ts";
import { SERVICE_PORTS } from "../topology.ts";

/** The stack options the platform needs on top of the user's saved ones. */
export const PLATFORM_STACK_OPTIONS = {
  secure: true,
  postgres: true,
  connect: true,
  hdfs: true,
  monitoring: true,
  mirror: true,
} as const;

/** The platform's Deno services on a stack (detached; `stack down` stops them). */
export function platformServices(stack: Stack): DenoService[] {
  const { dir, portOffset } = stack.options;
  const port = (s: keyof typeof SERVICE_PORTS) => SERVICE_PORTS[s] + portOffset;
  const env = { STACK_DIR: dir, STACK_PORT_OFFSET: String(portOffset), LOG_LEVEL: "ERROR" };
  return [
    new DenoService({
      dir,
      name: "shop-api",
      flags: false,
      script: "tasks/final/shop_api.ts",
      port: port("shop-api"),
      portName: "http",
      env: { ...env, SHOP_API_PORT: String(port("shop-api")) },
    }),
    new DenoService({
      dir,
      name: "product-filter",
      flags: false,
      script: "tasks/final/filter.ts",
      port: port("product-filter"),
      env: { ...env, METRICS_PORT: String(port("product-filter")) },
    }),
    new DenoService({
      dir,
      name: "client-api",
      flags: false,
      script: "tasks/final/client_api.ts",
      port: port("client-api"),
      portName: "http",
      env: { ...env, CLIENT_API_PORT: String(port("client-api")) },
    }),
    new DenoService({
      dir,
      name: "lake-sink",
      flags: false,
      script: "tasks/final/lake.ts",
      port: port("lake-sink"),
      env: {
        ...env,
        LAKE_METRICS_PORT: String(port("lake-sink")),
        LAKE_ROLL_INTERVAL_MS: "3000",
      },
    }),
    new DenoService({
      dir,
      name: "platform-exporter",
      script: "tasks/final/exporter.ts",
      port: port("platform-exporter"),
      args: [`--stack-dir=${dir}`],
      env,
    }),
  ];
}
