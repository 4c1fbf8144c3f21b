/**
 * The Prometheus JMX exporter as a Java agent: the JVM argument that makes a broker or a
 * Connect worker serve its MBeans as Prometheus metrics on `127.0.0.1:<port>/metrics`, with
 * the rules in `compose/prometheus/jmx/` (shared by the local stack and the compose files).
 *
 * @example
 * ```ts
 * import { jmxAgentArg } from "./jmx.ts";
 * const arg = await jmxAgentArg({ port: 7071, rules: "kafka-broker" });
 * // -javaagent:/…/jmx_prometheus_javaagent-1.0.1.jar=127.0.0.1:7071:/…/kafka-broker.yml
 * ```
 * @module
 */
import { join } from "node:path";
import { fetchBundle } from "../process/artifacts.ts";
import { PROJECT_ROOT } from "../../env/mod.ts";

/** Options of {@linkcode jmxAgentArg}. */
export interface JmxAgentOptions {
  /** Port of the exporter's HTTP server on 127.0.0.1. */
  port: number;
  /** Rule set: a file name (without `.yml`) in `compose/prometheus/jmx/`. */
  rules: "kafka-broker" | "connect" | "mirror-maker";
}

/** Path of a rule set. */
export function jmxRulesFile(rules: JmxAgentOptions["rules"]): string {
  return join(PROJECT_ROOT, "compose/prometheus/jmx", `${rules}.yml`);
}

/** The `-javaagent:` argument (downloads the pinned agent on first use). */
export async function jmxAgentArg(options: JmxAgentOptions): Promise<string> {
  const { port, rules } = options;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(
      `Cannot attach the JMX exporter as 'port' must be 1..65535: current value is ${port}`,
    );
  }
  const [jar] = await fetchBundle("jmx-exporter");
  return `-javaagent:${jar}=127.0.0.1:${port}:${jmxRulesFile(rules)}`;
}
