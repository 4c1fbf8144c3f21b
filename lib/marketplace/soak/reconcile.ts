/**
 * The platform soak's checks as pure functions of ids: a stage compares what must be there
 * (`expected`, a multiset of identities) with what a reader saw (`seen`), allowing `maybe`
 * identities (sent but never acknowledged: the sender died first) at most once each. A row
 * counts what was lost, what was duplicated and what nobody sent (`extra`); it is OK when
 * nothing was lost, duplicated or extra and something was expected.
 *
 * Identities used by the soak: products as `<product_id>@v<version>`; cluster-A and cluster-B
 * records as key + value; lake rows by the cluster-B partition and offset they carry.
 *
 * @example
 * ```ts
 * import { stageRow } from "./reconcile.ts";
 * const row = stageRow("products", ["p1@v1", "p1@v2"], ["p1@v1", "p1@v2", "p1@v2"]);
 * console.log(row.duplicated); // 1
 * ```
 * @module
 */

/** One line of the soak's table. */
export interface StageRow {
  stage: string;
  expected: number;
  seen: number;
  lost: number;
  duplicated: number;
  /** Seen but neither expected nor maybe. */
  extra: number;
  ok: boolean;
  /** A few of the lost, duplicated and extra identities, for the report. */
  examples: string[];
}

/** How many times each identity occurs. */
export function tally(ids: Iterable<string>): Map<string, number> {
  const m = new Map<string, number>();
  for (const id of ids) m.set(id, (m.get(id) ?? 0) + 1);
  return m;
}

/** Compares what must be seen with what was; `maybe` identities may appear at most once. */
export function stageRow(
  stage: string,
  expected: Iterable<string>,
  seen: Iterable<string>,
  maybe: ReadonlySet<string> = new Set(),
): StageRow {
  const want = tally(expected);
  const got = tally(seen);
  let lost = 0, duplicated = 0, extra = 0;
  const examples: string[] = [];
  const note = (s: string) => examples.length < 5 && examples.push(s);
  for (const [id, n] of want) {
    const m = got.get(id) ?? 0;
    if (m < n) (lost += n - m, note(`lost ${id}`));
  }
  for (const [id, m] of got) {
    const allowed = (want.get(id) ?? 0) + (maybe.has(id) ? 1 : 0);
    if (allowed === 0) (extra += m, note(`extra ${id}`));
    else if (m > allowed) (duplicated += m - allowed, note(`duplicated ${id} ×${m}`));
  }
  const n = [...want.values()].reduce((a, b) => a + b, 0);
  const s = [...got.values()].reduce((a, b) => a + b, 0);
  return {
    stage,
    expected: n,
    seen: s,
    lost,
    duplicated,
    extra,
    ok: n > 0 && lost === 0 && duplicated === 0 && extra === 0,
    examples,
  };
}

/** A product send's identity: `<product_id>@v<version>`. */
export function versionId(productId: string, version: number): string {
  return `${productId}@v${version}`;
}

/**
 * The last version of each product: the highest of what was acknowledged and what `products`
 * holds (versions of a product are sent one after another, so the highest is the last).
 */
export function lastVersions(
  acked: Iterable<[string, number]>,
  inTopic: Iterable<[string, number]>,
): Map<string, number> {
  const last = new Map<string, number>();
  for (const [id, v] of [...acked, ...inTopic]) last.set(id, Math.max(last.get(id) ?? 0, v));
  return last;
}

/** Every row OK. */
export function allOk(rows: readonly StageRow[]): boolean {
  return rows.length > 0 && rows.every((r) => r.ok);
}
