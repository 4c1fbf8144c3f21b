/**
 * Which event schemas the lake knows, by name, and the `topic=schema` lists that tell the
 * sink what to write (`LAKE_TOPICS=orders=order,hadoop-topic=hadoop-event`).
 *
 * @example
 * ```ts
 * import { parseLakeTopics } from "./tables.ts";
 * parseLakeTopics("orders=order"); // [{ topic: "orders", schema: ORDER_SCHEMA }]
 * ```
 * @module
 */
import { ConfigError } from "../env/mod.ts";
import { ORDER_SCHEMA } from "../schemas/mod.ts";
import { HADOOP_EVENT_SCHEMA } from "../schemas/mod.ts";
import type { LakeTopic } from "./sink.ts";

/** Event schemas (lib/schemas) the lake can write, by name. */
export const LAKE_SCHEMAS: Record<string, object> = {
  order: ORDER_SCHEMA,
  "hadoop-event": HADOOP_EVENT_SCHEMA,
};

/** Parses `topic=schema[,topic=schema…]`; `what` names the source in errors. */
export function parseLakeTopics(raw: string, what = "LAKE_TOPICS"): LakeTopic[] {
  const out: LakeTopic[] = [];
  for (const part of raw.split(",").map((s) => s.trim()).filter(Boolean)) {
    const [topic, name] = part.split("=").map((s) => s.trim());
    if (!topic || !/^[A-Za-z0-9._-]+$/.test(topic) || !name) {
      throw new ConfigError(
        `Cannot use ${what} as each entry must be topic=schema: current value is '${raw}'`,
      );
    }
    const schema = LAKE_SCHEMAS[name];
    if (!schema) {
      throw new ConfigError(
        `Cannot use ${what} as '${name}' is not a lake schema (known: ${
          Object.keys(LAKE_SCHEMAS).join(", ")
        }): current value is '${raw}'`,
      );
    }
    out.push({ topic, schema });
  }
  if (out.length === 0) throw new ConfigError(`${what} names no topic: current value is '${raw}'`);
  return out;
}
