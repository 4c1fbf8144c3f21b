/**
 * The console's input, checked before anything reaches Kafka: the create-topic form, the
 * produce form, the message-browse query and the offset-reset form. Pure functions; each failure names its field, and
 * the server answers it with 400 and the form again.
 *
 * @example
 * ```ts
 * import { parseCreateTopic } from "./forms.ts";
 * const r = parseCreateTopic(new URLSearchParams("name=orders&partitions=3&replicationFactor=3"));
 * // { ok: true, value: { topic: "orders", numPartitions: 3, replicationFactor: 3, configEntries: [] } }
 * ```
 * @module
 */

/** A parsed form, or the field at fault and why. */
export type FormResult<T> = { ok: true; value: T } | { ok: false; field: string; error: string };

const bad = <T>(field: string, error: string): FormResult<T> => ({ ok: false, field, error });

/** Why Kafka would refuse `name` as a topic name, or undefined when it is fine. */
export function topicNameProblem(name: string): string | undefined {
  if (name === "") return "is empty";
  if (name === "." || name === "..") return `cannot be '${name}'`;
  if (name.length > 249) return `is ${name.length} characters long (Kafka allows 249)`;
  const wrong = name.match(/[^a-zA-Z0-9._-]/);
  if (wrong) return `has '${wrong[0]}': Kafka allows only a-z A-Z 0-9 . _ -`;
  return undefined;
}

function intField(
  form: URLSearchParams,
  field: string,
  min: number,
  max: number,
  fallback?: number,
): FormResult<number> {
  const raw = (form.get(field) ?? "").trim();
  if (raw === "") {
    return fallback === undefined ? bad(field, "is required") : { ok: true, value: fallback };
  }
  if (!/^-?\d+$/.test(raw)) return bad(field, `must be a whole number: got '${raw.slice(0, 40)}'`);
  const n = Number(raw);
  if (n < min || n > max) return bad(field, `must be ${min} to ${max}: got ${n}`);
  return { ok: true, value: n };
}

/** A topic to create, in kafkajs' shape. */
export interface CreateTopicInput {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
  configEntries: { name: string; value: string }[];
}

/**
 * The create-topic form: `name`, `partitions` (1–1000, default 1), `replicationFactor`
 * (1–`maxReplicas`, default min(3, maxReplicas)), `configs` (`key=value` per line).
 */
export function parseCreateTopic(
  form: URLSearchParams,
  maxReplicas = 3,
): FormResult<CreateTopicInput> {
  const topic = (form.get("name") ?? "").trim();
  const problem = topicNameProblem(topic);
  if (problem) return bad("name", `topic name ${problem}`);
  const partitions = intField(form, "partitions", 1, 1000, 1);
  if (!partitions.ok) return partitions;
  const rf = intField(
    form,
    "replicationFactor",
    1,
    Math.max(1, maxReplicas),
    Math.min(3, maxReplicas),
  );
  if (!rf.ok) {
    return bad(rf.field, `${rf.error} (the cluster has ${maxReplicas} live brokers)`);
  }
  const configEntries: { name: string; value: string }[] = [];
  for (const [i, line] of (form.get("configs") ?? "").split("\n").entries()) {
    const l = line.trim();
    if (!l || l.startsWith("#")) continue;
    const eq = l.indexOf("=");
    const name = eq > 0 ? l.slice(0, eq).trim() : "";
    if (!/^[a-z][a-z0-9.]*$/.test(name)) {
      return bad("configs", `line ${i + 1} must be key=value with a Kafka config key: got '${l}'`);
    }
    configEntries.push({ name, value: l.slice(eq + 1).trim() });
  }
  return {
    ok: true,
    value: { topic, numPartitions: partitions.value, replicationFactor: rf.value, configEntries },
  };
}

/** A message to produce. */
export interface ProduceInput {
  /** Partition, or undefined to let the key choose. */
  partition?: number;
  key: string | null;
  value: string;
  headers: Record<string, string>;
}

/** The produce form: `partition` (optional), `key`, `value`, `headers` (a JSON object of strings). */
export function parseProduce(form: URLSearchParams, partitions: number): FormResult<ProduceInput> {
  let partition: number | undefined;
  if ((form.get("partition") ?? "").trim() !== "") {
    const p = intField(form, "partition", 0, partitions - 1);
    if (!p.ok) return bad("partition", `${p.error} (the topic has ${partitions} partitions)`);
    partition = p.value;
  }
  const key = form.get("key") ?? "";
  const value = form.get("value") ?? "";
  if (value.length > 1_000_000) return bad("value", "is over 1,000,000 characters");
  const headers: Record<string, string> = {};
  const rawHeaders = (form.get("headers") ?? "").trim();
  if (rawHeaders) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(rawHeaders);
    } catch (err) {
      return bad("headers", `is not JSON: ${(err as Error).message}`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      return bad("headers", 'must be a JSON object like {"source": "console"}');
    }
    for (const [k, v] of Object.entries(parsed)) {
      if (typeof v !== "string") return bad("headers", `header '${k}' must be a string`);
      headers[k] = v;
    }
  }
  return { ok: true, value: { partition, key: key === "" ? null : key, value, headers } };
}

/** Where to start reading a topic's messages. */
export interface BrowseInput {
  /** One partition, or undefined for all (newest first across them). */
  partition?: number;
  /** Newest offset to show (inclusive); undefined: the latest. */
  offset?: bigint;
  /** Show messages at or before this time (epoch ms); undefined: the latest. */
  time?: number;
  /** Messages to show. @default 20 */
  limit: number;
}

/** The browse query: `partition`, `offset` (needs a partition) or `time` (ISO or epoch ms), `limit`. */
export function parseBrowse(query: URLSearchParams, partitions: number): FormResult<BrowseInput> {
  const limit = intField(query, "limit", 1, 500, 20);
  if (!limit.ok) return limit;
  let partition: number | undefined;
  const rawP = (query.get("partition") ?? "").trim();
  if (rawP !== "" && rawP !== "all") {
    const p = intField(query, "partition", 0, partitions - 1);
    if (!p.ok) return bad("partition", `${p.error} (the topic has ${partitions} partitions)`);
    partition = p.value;
  }
  const rawOffset = (query.get("offset") ?? "").trim();
  const rawTime = (query.get("time") ?? "").trim();
  if (rawOffset && rawTime) return bad("offset", "give an offset or a time, not both");
  let offset: bigint | undefined;
  if (rawOffset) {
    if (!/^\d{1,19}$/.test(rawOffset)) {
      return bad("offset", `must be a whole number >= 0: got '${rawOffset.slice(0, 40)}'`);
    }
    if (partition === undefined) return bad("offset", "needs a partition");
    offset = BigInt(rawOffset);
  }
  let time: number | undefined;
  if (rawTime) {
    time = /^\d{1,15}$/.test(rawTime) ? Number(rawTime) : Date.parse(rawTime);
    if (!Number.isFinite(time)) {
      return bad("time", `must be an ISO time (2024-05-01T12:00) or epoch ms: got '${rawTime}'`);
    }
  }
  return { ok: true, value: { partition, offset, time, limit: limit.value } };
}

/** Where an offset reset moves a group's committed offsets. */
export const RESET_STRATEGIES = ["earliest", "latest", "timestamp", "offset"] as const;

/** An offset reset of one consumer group on one topic. */
export interface OffsetResetInput {
  strategy: typeof RESET_STRATEGIES[number];
  topic: string;
  /** For `timestamp`: epoch ms; the first offset at or after it (the end when none). */
  time?: number;
  /** For `offset`: the offset, kept inside each partition's first and end offsets. */
  offset?: bigint;
  /** One partition, or undefined for all of the topic's. */
  partition?: number;
}

/**
 * The offset-reset form: `topic`, `strategy` (earliest, latest, timestamp, offset), `time`
 * (ISO or epoch ms, for timestamp), `offset` (a whole number >= 0, for offset), `partition`
 * (empty or `all`: every partition).
 */
export function parseOffsetReset(form: URLSearchParams): FormResult<OffsetResetInput> {
  const topic = (form.get("topic") ?? "").trim();
  const problem = topicNameProblem(topic);
  if (problem) return bad("topic", `topic name ${problem}`);
  const strategy = (form.get("strategy") ?? "").trim();
  if (!(RESET_STRATEGIES as readonly string[]).includes(strategy)) {
    return bad("strategy", `must be one of ${RESET_STRATEGIES.join(", ")}: got '${strategy}'`);
  }
  const value: OffsetResetInput = { strategy: strategy as OffsetResetInput["strategy"], topic };
  const rawP = (form.get("partition") ?? "").trim();
  if (rawP !== "" && rawP !== "all") {
    const p = intField(form, "partition", 0, 100_000);
    if (!p.ok) return p;
    value.partition = p.value;
  }
  if (strategy === "timestamp") {
    const raw = (form.get("time") ?? "").trim();
    if (raw === "") return bad("time", "is required for the timestamp strategy");
    const time = /^\d{1,15}$/.test(raw) ? Number(raw) : Date.parse(raw);
    if (!Number.isFinite(time)) {
      return bad("time", `must be an ISO time (2024-05-01T12:00Z) or epoch ms: got '${raw}'`);
    }
    value.time = time;
  }
  if (strategy === "offset") {
    const raw = (form.get("offset") ?? "").trim();
    if (!/^\d{1,18}$/.test(raw)) {
      return bad("offset", `must be a whole number >= 0: got '${raw.slice(0, 40)}'`);
    }
    value.offset = BigInt(raw);
  }
  return { ok: true, value };
}
