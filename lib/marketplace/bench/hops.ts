/**
 * `bench:platform`'s hop readers: each notes when a record of the run's own first shows up
 * somewhere downstream, reading with clients that are not the platform's services.
 *
 * - {@linkcode productsOnA}: `products` on cluster A, read_committed (the product filter
 *   writes it in transactions), by key = product id.
 * - {@linkcode pgRows}: the `products` table in PostgreSQL (the JDBC sink's), polled every
 *   `everyMs` for the ids not yet seen; the time is the poll that first returned the row, so it
 *   is late by up to one interval.
 * - {@linkcode eventsOnB}: `user-events` on cluster B, read_committed, by the event's
 *   `session_id` (`bench-<run>-…`).
 * - {@linkcode eventsInLake}: Parquet files of `user-events` in the lake (WebHDFS), listed
 *   every `everyMs`; each new file is read and its rows' session ids noted at the time of the
 *   listing that first showed the file. The lake sink writes in batches (files roll every few
 *   seconds), so this hop is coarse by design: its latency is the roll interval plus the wait.
 *
 * @example
 * ```ts
 * import { pgRows } from "./hops.ts";
 * const pg = pgRows(postgresUrl, () => pendingIds);
 * // … later
 * await pg.stop();
 * console.log(pg.arrivals.size);
 * ```
 * @module
 */
import type { Kafka } from "kafkajs";
import { watchArrivals } from "../../bench/mod.ts";
import pg from "pg";
import { withDatabase } from "../../connect/mod.ts";
import { parseFileName, type WebHdfs } from "../../lake/mod.ts";
import { sleep } from "../../env/mod.ts";
import { parquetRows } from "../marts.ts";
import { ANALYTICS_DB, TOPICS } from "../topology.ts";

/** A hop reader running until stopped: id → epoch ms first seen. */
export interface HopReader {
  arrivals: Map<string, number>;
  stop: () => Promise<void>;
}

/** `products` on A: product ids starting with `prefix`. */
export function productsOnA(kafkaA: Kafka, prefix: string): Promise<HopReader> {
  return watchArrivals(kafkaA, TOPICS.products, (key) => key?.startsWith(prefix) ? key : undefined);
}

/** `user-events` on B: session ids starting with `prefix`. */
export function eventsOnB(kafkaB: Kafka, prefix: string): Promise<HopReader> {
  return watchArrivals(kafkaB, TOPICS.userEvents, (_key, m) => {
    const v = m.value?.toString() ?? "";
    if (!v.includes(prefix)) return undefined;
    const session = JSON.parse(v).session_id as string;
    return session.startsWith(prefix) ? session : undefined;
  });
}

/** Calls `poll` every `everyMs` until stopped (a failing poll is tried again next time). */
function polling(
  everyMs: number,
  poll: (arrivals: Map<string, number>) => Promise<void>,
  close: () => Promise<void> = () => Promise.resolve(),
): HopReader {
  const arrivals = new Map<string, number>();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const t = Date.now();
      await poll(arrivals).catch(() => {});
      await sleep(Math.max(0, everyMs - (Date.now() - t)));
    }
  })();
  return {
    arrivals,
    stop: async () => {
      stopped = true;
      await loop;
      await close();
    },
  };
}

/** PostgreSQL rows of the ids `pending()` returns that were not seen yet. */
export function pgRows(postgresUrl: string, pending: () => string[], everyMs = 200): HopReader {
  const client = new pg.Client({ connectionString: withDatabase(postgresUrl, ANALYTICS_DB) });
  client.on("error", () => {});
  const connected = client.connect();
  return polling(everyMs, async (arrivals) => {
    const ids = pending().filter((id) => !arrivals.has(id));
    if (ids.length === 0) return;
    await connected;
    const rows = await client.query<{ product_id: string }>(
      "select product_id from products where product_id = any($1)",
      [ids],
    );
    const now = Date.now();
    for (const r of rows.rows) arrivals.set(r.product_id, now);
  }, () => client.end().catch(() => {}));
}

/** Paths of the lake's finished `user-events` files under today's (UTC) folder. */
async function lakeFolderFiles(hdfs: WebHdfs): Promise<string[]> {
  const dt = new Date().toISOString().slice(0, 10);
  const files = await hdfs.walk(`/lake/raw/${TOPICS.userEvents}/dt=${dt}`);
  return files.filter((f) => !f.path.includes("/_tmp/") && parseFileName(f.path.split("/").pop()!))
    .map((f) => f.path);
}

/** Rows of new lake files whose session id starts with `prefix`. */
export async function eventsInLake(
  hdfs: WebHdfs,
  prefix: string,
  everyMs = 1_000,
): Promise<HopReader> {
  const known = new Set(await lakeFolderFiles(hdfs).catch(() => []));
  return polling(everyMs, async (arrivals) => {
    const now = Date.now();
    for (const path of await lakeFolderFiles(hdfs)) {
      if (known.has(path)) continue;
      known.add(path);
      for (const r of parquetRows(await hdfs.read(path)).rows) {
        const s = String(r.session_id ?? "");
        if (s.startsWith(prefix) && !arrivals.has(s)) arrivals.set(s, now);
      }
    }
  });
}
