/**
 * What a platform run expects of the forbidden list, as pure functions: the list as it stands
 * in PostgreSQL (this run's products on it) against the state of the compacted
 * `forbidden-products` topic the product filter reads as its table — the latest record per
 * product id, in offset order, where a JSON `null` value (Debezium's delete) or a tombstone
 * lifts the ban — and the difference of the two, as a person reads it.
 *
 * @example
 * ```ts
 * import { forbiddenInTopic, listDifference } from "./forbidden_state.ts";
 * const inTopic = forbiddenInTopic(records);
 * const diff = listDifference(new Set(["78490"]), inTopic);
 * console.log(diff.agree, diff.missing, diff.extra);
 * ```
 * @module
 */
import type { Seen } from "./records.ts";

/**
 * The product ids the topic's records leave forbidden: the latest record per key (by
 * partition and offset; a key lives in one partition) with a value other than `null`.
 */
export function forbiddenInTopic(records: readonly Seen[]): Set<string> {
  const latest = new Map<string, Seen>();
  const ordered = [...records].sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  for (const r of ordered) if (r.key !== null) latest.set(r.key, r);
  const out = new Set<string>();
  for (const [key, r] of latest) {
    if (r.value !== null && r.value.trim() !== "null") out.add(key);
  }
  return out;
}

/** How the topic's state differs from the list in PostgreSQL, for the ids of one run. */
export interface ListDifference {
  /** The topic holds exactly the list's ids. */
  agree: boolean;
  /** Forbidden in PostgreSQL, not (yet) in the topic. */
  missing: string[];
  /** Forbidden in the topic, no longer in PostgreSQL. */
  extra: string[];
}

/** The difference between the list in PostgreSQL (`listed`) and the topic (`inTopic`). */
export function listDifference(
  listed: ReadonlySet<string>,
  inTopic: ReadonlySet<string>,
): ListDifference {
  const missing = [...listed].filter((id) => !inTopic.has(id));
  const extra = [...inTopic].filter((id) => !listed.has(id)).sort();
  return { agree: missing.length === 0 && extra.length === 0, missing, extra };
}

/** The difference in one line: what agrees, what is missing, what is extra. */
export function describeDifference(listed: ReadonlySet<string>, d: ListDifference): string {
  const parts = [`${listed.size - d.missing.length} of ${listed.size} listed ids forbidden there`];
  if (d.missing.length) parts.push(`not yet: ${idList(d.missing)}`);
  if (d.extra.length) {
    parts.push(`still forbidden there though no longer listed: ${idList(d.extra)}`);
  }
  return parts.join("; ");
}

/** Ids as a short list: the first `max`, then how many more. */
export function idList(ids: readonly string[], max = 10): string {
  const shown = ids.slice(0, max).join(", ");
  return ids.length > max ? `${shown} and ${ids.length - max} more` : shown;
}
