/**
 * Resetting a consumer group's committed offsets on one topic, as Kafka's
 * `kafka-consumer-groups.sh --reset-offsets` does: {@linkcode planReset} is the dry run (each
 * partition's committed offset and where the reset would move it — to the first offset, the
 * end, the first offset at or after a time, or a given offset kept inside the partition), and
 * {@linkcode applyReset} commits that plan, only while the group has no active member (Kafka
 * takes offsets from an empty group only; a group with members is refused with its state and
 * member count, {@linkcode GroupActiveError}).
 *
 * @example
 * ```ts
 * import { applyReset, planReset } from "./offsets.ts";
 * const moves = await planReset(client, "orders-app", { strategy: "earliest", topic: "orders" });
 * const committed = await applyReset(client, "orders-app", { strategy: "earliest", topic: "orders" });
 * ```
 * @module
 */
import type { Admin } from "kafkajs";
import { type ClusterClient, ConsoleInputError } from "./clusters.ts";
import type { OffsetResetInput } from "./forms.ts";

/** One partition of a reset: where the group is and where the reset puts it. */
export interface OffsetMove {
  partition: number;
  /** The committed offset; `-1` when the group has none on this partition. */
  current: string;
  /** The offset the reset commits. */
  target: string;
  /** The partition's first offset. */
  low: string;
  /** The partition's end offset. */
  high: string;
  /** Why the target is not what was asked (an offset outside the partition). */
  note?: string;
  /** After an apply: the committed offset read back from Kafka. */
  committed?: string;
}

/** The group still has active members: Kafka would not take the new offsets. */
export class GroupActiveError extends ConsoleInputError {
  constructor(groupId: string, state: string, members: number) {
    super(
      409,
      "group",
      `group '${groupId}' is ${state} with ${members} active member${members === 1 ? "" : "s"}: ` +
        "stop its consumers first (Kafka takes new offsets only from a group without members)",
    );
  }
}

/** How long committing a reset may take (it joins the empty group for a moment). */
const APPLY_TIMEOUT_MS = 30_000;

function clamp(offset: bigint, low: string, high: string): { target: string; note?: string } {
  if (offset < BigInt(low)) return { target: low, note: `${offset} is before the first offset` };
  if (offset > BigInt(high)) return { target: high, note: `${offset} is past the end offset` };
  return { target: String(offset) };
}

/** The targets of `input` by partition. */
async function targets(
  admin: Admin,
  input: OffsetResetInput,
  ends: { partition: number; low: string; high: string }[],
): Promise<Map<number, { target: string; note?: string }>> {
  if (input.strategy === "timestamp") {
    // kafkajs gives the end offset for a partition with no record at or after the time.
    const at = await admin.fetchTopicOffsetsByTimestamp(input.topic, input.time);
    return new Map(at.map((o) => [o.partition, { target: o.offset }]));
  }
  return new Map(ends.map((e) => [
    e.partition,
    input.strategy === "earliest"
      ? { target: e.low }
      : input.strategy === "latest"
      ? { target: e.high }
      : clamp(input.offset!, e.low, e.high),
  ]));
}

async function plan(admin: Admin, groupId: string, input: OffsetResetInput, cluster: string) {
  if (!(await admin.listTopics()).includes(input.topic)) {
    throw new ConsoleInputError(404, "topic", `no topic '${input.topic}' on cluster ${cluster}`);
  }
  const ends = (await admin.fetchTopicOffsets(input.topic))
    .sort((a, b) => a.partition - b.partition);
  if (input.partition !== undefined && !ends.some((e) => e.partition === input.partition)) {
    throw new ConsoleInputError(
      400,
      "partition",
      `topic '${input.topic}' has partitions 0 to ${ends.length - 1}: got ${input.partition}`,
    );
  }
  const scope = ends.filter((e) =>
    input.partition === undefined || e.partition === input.partition
  );
  const [committed] = await admin.fetchOffsets({ groupId, topics: [input.topic] });
  const current = new Map(committed?.partitions.map((p) => [p.partition, p.offset]) ?? []);
  const to = await targets(admin, input, scope);
  return scope.map((e): OffsetMove => ({
    partition: e.partition,
    current: current.get(e.partition) ?? "-1",
    low: e.low,
    high: e.high,
    ...to.get(e.partition)!,
  }));
}

/** The dry run of a reset: each partition's committed offset and its new one. */
export function planReset(
  client: ClusterClient,
  groupId: string,
  input: OffsetResetInput,
): Promise<OffsetMove[]> {
  return client.withAdmin(
    `planning an offset reset of ${groupId}`,
    (admin) => plan(admin, groupId, input, client.name),
  );
}

/**
 * Commits the plan of `input` for the group, refused ({@linkcode GroupActiveError}) while the
 * group has active members; returns the moves, each with its committed offset read back.
 */
export function applyReset(
  client: ClusterClient,
  groupId: string,
  input: OffsetResetInput,
): Promise<OffsetMove[]> {
  return client.withAdmin(`resetting the offsets of ${groupId}`, async (admin) => {
    const { groups: [g] } = await admin.describeGroups([groupId]);
    if (g && (g.members.length > 0 || !["Empty", "Dead"].includes(g.state))) {
      throw new GroupActiveError(groupId, g.state, g.members.length);
    }
    const moves = await plan(admin, groupId, input, client.name);
    try {
      await admin.setOffsets({
        groupId,
        topic: input.topic,
        partitions: moves.map((m) => ({ partition: m.partition, offset: m.target })),
      });
    } catch (err) {
      const text = (err as Error).message ?? String(err);
      // kafkajs checks again as it commits: a consumer that joined meanwhile.
      if (/must have no running instances/.test(text)) {
        throw new ConsoleInputError(409, "group", `group '${groupId}': ${text}`);
      }
      throw err;
    }
    const [after] = await admin.fetchOffsets({ groupId, topics: [input.topic] });
    const now = new Map(after?.partitions.map((p) => [p.partition, p.offset]) ?? []);
    return moves.map((m) => ({ ...m, committed: now.get(m.partition) ?? "-1" }));
  }, APPLY_TIMEOUT_MS);
}
