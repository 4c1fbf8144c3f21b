/**
 * The platform soak's table: what the load recorded as acknowledged against what a set of
 * readers ({@linkcode SoakReaders}) sees at every hop — one {@linkcode StageRow} per stage:
 * SHOP API → input-products, the filter's products / products.blocked / DLQ, PostgreSQL at
 * each product's last version, the CLIENT API's requests and responses, A = B and B = lake per
 * mirrored topic.
 *
 * @example
 * ```ts
 * import { soakRows } from "./check.ts";
 * const rows = await soakRows(readers, acks);
 * console.log(rows.filter((r) => !r.ok));
 * ```
 * @module
 */
import { MIRRORED_TOPICS, TOPICS } from "../topology.ts";
import type { DeadLetterLog, ProductLog, UserLog } from "./load.ts";
import { versionOf } from "./load.ts";
import type { SoakReaders, SoakRecord } from "./readers.ts";
import { lastVersions, type StageRow, stageRow, versionId } from "./reconcile.ts";

/** What the soak's load recorded, and whose records are the run's. */
export interface SoakAcks {
  products: ProductLog;
  deadLetters: DeadLetterLog;
  users: UserLog;
  /** The run's product ids, and those of them forbidden. */
  productIds: ReadonlySet<string>;
  forbiddenIds: ReadonlySet<string>;
  /** The run's simulated user ids. */
  userIds: ReadonlySet<string>;
  /** Prefix of the dead letters' keys. */
  deadLetterPrefix: string;
}

/** The version a product record carries (`soak v<N>` in its description). */
function productVersion(r: SoakRecord): number | undefined {
  try {
    return versionOf(JSON.parse(r.value ?? "{}").description);
  } catch {
    return undefined;
  }
}

/** Whether a record of a mirrored topic is the run's. */
function ofRun(acks: SoakAcks, topic: string): (r: SoakRecord) => boolean {
  return (r) => {
    if (topic === TOPICS.products) return acks.productIds.has(r.key ?? "");
    if (topic === TOPICS.userEvents) {
      try {
        return acks.userIds.has(JSON.parse(r.value ?? "{}").user_id);
      } catch {
        return false;
      }
    }
    return acks.users.statuses.has(r.key ?? "");
  };
}

/** The table of the run, read with `readers`. */
export async function soakRows(from: SoakReaders, acks: SoakAcks): Promise<StageRow[]> {
  const readers = once(from);
  await prefetch(readers);
  const p = acks.products;
  const allowedOnly = (ids: Iterable<string>, forbidden: boolean) =>
    [...ids].filter((id) => acks.forbiddenIds.has(id.split("@v")[0]) === forbidden);
  const mine = (rs: SoakRecord[]) => rs.filter((r) => acks.productIds.has(r.key ?? ""));
  const idOf = (r: SoakRecord) => versionId(r.key ?? "", productVersion(r) ?? 0);

  const input = mine(await readers.readA(TOPICS.inputProducts));
  const products = mine(await readers.readA(TOPICS.products));
  const blocked = mine(await readers.readA(TOPICS.productsBlocked));
  const bySource = new Map(input.map((r) => [`${r.partition}:${r.offset}`, idOf(r)]));
  const blockedIds = blocked.map((r) => {
    const s = JSON.parse(r.value ?? "{}").source ?? {};
    return bySource.get(`${s.partition}:${s.offset}`) ??
      `${r.key}@source ${s.partition}:${s.offset}`;
  });
  const dlq = (await readers.readA(TOPICS.inputProductsDlq))
    .filter((r) => (r.key ?? "").startsWith(`${acks.deadLetterPrefix}-dlq-`));
  const rows = [
    stageRow("SHOP API → input-products", p.acked, input.map(idOf), p.unacked),
    stageRow(
      "filter → products (allowed)",
      allowedOnly(p.acked, false),
      products.map(idOf),
      new Set(allowedOnly(p.unacked, false)),
    ),
    stageRow(
      "filter → products.blocked (forbidden)",
      allowedOnly(p.acked, true),
      blockedIds,
      new Set(allowedOnly(p.unacked, true)),
    ),
    stageRow(
      "filter → DLQ (dead letters)",
      acks.deadLetters.acked,
      dlq.map((r) => r.key ?? ""),
      acks.deadLetters.unacked,
    ),
    await postgresRow(readers, acks, products),
    ...await clientRows(readers, acks),
  ];
  for (const t of MIRRORED_TOPICS) rows.push(...await mirrorRows(readers, acks, t));
  return rows;
}

/** PostgreSQL: each allowed product once, at its last version; no forbidden one. */
async function postgresRow(
  readers: SoakReaders,
  acks: SoakAcks,
  products: SoakRecord[],
): Promise<StageRow> {
  const allowed = (id: string) => !acks.forbiddenIds.has(id);
  const inTopic = products.map((r): [string, number] => [
    r.key ?? "",
    productVersion(r) ?? 0,
  ]);
  const last = lastVersions(acks.products.ackedVersions.filter(([id]) => allowed(id)), inTopic);
  const rows = await readers.pgRows([...acks.productIds]);
  return stageRow(
    "JDBC sink → PostgreSQL (last version)",
    [...last].map(([id, v]) => versionId(id, v)),
    rows.map((r) => versionId(r.product_id, versionOf(r.description) ?? 0)),
  );
}

/** The CLIENT API: each request answered 2xx/4xx in user-requests and user-responses. */
async function clientRows(readers: SoakReaders, acks: SoakAcks): Promise<StageRow[]> {
  const answered = [...acks.users.statuses].filter(([, s]) => s < 500).map(([id]) => id);
  const maybe = new Set([...acks.users.statuses].filter(([, s]) => s >= 500).map(([id]) => id));
  const rows: StageRow[] = [];
  for (const t of [TOPICS.userRequests, TOPICS.userResponses]) {
    const seen = (await readers.readA(t)).map((r) => r.key ?? "")
      .filter((k) => acks.users.statuses.has(k));
    rows.push(stageRow(`CLIENT API → ${t}`, answered, seen, maybe));
  }
  return rows;
}

/** A = B (key and value, each as often) and B = lake (each B offset once) for one topic. */
async function mirrorRows(
  readers: SoakReaders,
  acks: SoakAcks,
  topic: string,
): Promise<StageRow[]> {
  const keep = ofRun(acks, topic);
  const content = (r: SoakRecord) => `${r.key}\u0000${r.value}`;
  const a = (await readers.readA(topic)).filter(keep);
  const b = (await readers.readB(topic)).filter(keep);
  const bOffsets = b.map((r) => `${r.partition}:${r.offset}`);
  const inB = new Set(bOffsets);
  const lake = (await readers.lakeOffsets(topic)).filter((o) => inB.has(o));
  return [
    stageRow(`A = B ${topic}`, a.map(content), b.map(content)),
    stageRow(`B = lake ${topic}`, bOffsets, lake),
  ];
}

/** Topics of A and of B the table reads. */
const TOPICS_A = [
  TOPICS.inputProducts,
  TOPICS.products,
  TOPICS.productsBlocked,
  TOPICS.inputProductsDlq,
  ...new Set([TOPICS.userRequests, TOPICS.userResponses, ...MIRRORED_TOPICS]),
];

/**
 * Starts every read of the table, `parallel` at a time (a console consumer's read of a
 * transactional topic waits out its idle timeout: mostly waiting, not working), so the table
 * then takes them from `once`'s memo.
 */
async function prefetch(readers: SoakReaders, parallel = 4): Promise<void> {
  const reads = [
    ...TOPICS_A.map((t) => () => readers.readA(t)),
    ...MIRRORED_TOPICS.map((t) => () => readers.readB(t)),
  ];
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < reads.length) await reads[next++]();
  }));
}

/** The readers, each topic read once per table. */
function once(r: SoakReaders): SoakReaders {
  const a = new Map<string, Promise<SoakRecord[]>>();
  const b = new Map<string, Promise<SoakRecord[]>>();
  const memo =
    (m: Map<string, Promise<SoakRecord[]>>, read: (t: string) => Promise<SoakRecord[]>) =>
    (t: string) => {
      if (!m.has(t)) m.set(t, read(t));
      return m.get(t)!;
    };
  return { ...r, readA: memo(a, r.readA), readB: memo(b, r.readB) };
}
