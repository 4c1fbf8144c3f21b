/**
 * The product filter (the seed's Faust `filtered_products`) on the streams runtime,
 * exactly-once: `input-products` → `products`.
 *
 * - The forbidden list is a table read straight from the compacted `forbidden-products`
 *   topic (Debezium CDC of PostgreSQL `forbidden_products`, key = `product_id`): restored from
 *   that topic on start — never from PostgreSQL — and followed while running, so a product
 *   forbidden (or un-forbidden) now is blocked (or flows again) for later records within
 *   about a second.
 * - An allowed product goes to `products` (plain product JSON, key `product_id`) and, in the
 *   same transaction, as a flattened row in Connect's envelope to `products.connect` for the
 *   JDBC sink (see products_sink.ts).
 * - A forbidden product goes to `products.blocked` (product id, store, reason, source offset)
 *   and a tombstone to `products.connect` (its row leaves PostgreSQL).
 * - An invalid record — not UTF-8, not JSON, schema failure, over {@linkcode MAX_FILTER_BYTES}
 *   — goes to `input-products.dlq` with the reason in headers (lib/kafka/dlq.ts).
 *
 * Counts move only after commit: `in = passed + forbidden + dlq` (see
 * {@linkcode filterCounts}), on `/metrics` as `product_filter_records_total{outcome}`.
 *
 * @example
 * ```ts
 * import { createProductFilter } from "./filter.ts";
 * const app = createProductFilter(createKafka(secureKafkaConfigFromEnv("product-filter")));
 * await app.start();
 * ```
 * @module
 */
import type { Kafka } from "kafkajs";
import client from "prom-client";
import { type Guarantee, StreamApp, type StreamAppOptions, streamMetrics } from "../streams/mod.ts";
import { DeserializationError, type Product, productCodec } from "../schemas/mod.ts";
import { registry } from "../monitoring/mod.ts";
import { FINAL_TOPICS, GROUPS, MAX_PRODUCT_BYTES, TOPICS } from "./topology.ts";
import type { ForbiddenProduct } from "./forbidden.ts";
import { productRow, productRowKey } from "./products_sink.ts";

/**
 * Largest product the filter passes (bytes): the topic's limit less headroom for the Connect
 * envelope the filter adds in `products.connect`.
 */
export const MAX_FILTER_BYTES = MAX_PRODUCT_BYTES - 16_384;

/** A record of the `products.blocked` audit topic. */
export interface BlockedProduct {
  product_id: string;
  store_id: string;
  reason: string;
  forbidden_at: string;
  blocked_at: string;
  source: { topic: string; partition: number; offset: string };
}

/** Options of {@linkcode createProductFilter}. */
export interface ProductFilterOptions {
  /** Application id (group, transactional ids). @default "product-filter" */
  appId?: string;
  /** @default "exactly_once" */
  guarantee?: Guarantee;
  /**
   * Topic names, for benchmarks and tests on topics of their own. Their specs are those of
   * the declared topics. @default the declared names (TOPICS)
   */
  topics?: Partial<
    Record<
      "inputProducts" | "products" | "productsConnect" | "productsBlocked" | "forbiddenProducts",
      string
    >
  >;
  /** Passed to the runtime. */
  streams?: Partial<
    Pick<StreamAppOptions, "sessionTimeoutMs" | "concurrency" | "log" | "maxBytesPerPartition">
  >;
}

/** Name of the forbidden-products table in the processor. */
export const FORBIDDEN_TABLE = "forbidden";

/** Decodes an `input-products` value: size limit, then UTF-8 + JSON + schema. */
export function decodeProduct(bytes: Uint8Array | null): Product {
  if (bytes === null) throw new DeserializationError("record has no value (null)", "decode");
  if (bytes.length > MAX_FILTER_BYTES) {
    throw new DeserializationError(
      `record is ${bytes.length} bytes, over the limit of ${MAX_FILTER_BYTES}`,
      "decode",
    );
  }
  return productCodec.decode(bytes);
}

/** Creates the (not yet started) product filter. Topics come from `final:setup`. */
export function createProductFilter(
  kafka: Kafka,
  options: ProductFilterOptions = {},
): StreamApp {
  const { appId = GROUPS.productFilter, guarantee = "exactly_once", streams = {} } = options;
  const T: Record<keyof typeof TOPICS, string> = { ...TOPICS, ...options.topics };
  const spec = (name: keyof typeof TOPICS) => ({
    ...FINAL_TOPICS.find((s) => s.topic === TOPICS[name])!,
    topic: T[name],
  });
  return new StreamApp(kafka, {
    appId,
    guarantee,
    replicationFactor: 3,
    ...streams,
    sinks: (["products", "productsConnect", "productsBlocked"] as const).map(spec),
    tables: [{ name: FORBIDDEN_TABLE, changelog: T.forbiddenProducts }],
    sources: [{
      topic: T.inputProducts,
      decode: (v) => decodeProduct(v),
      process: (record: { value: Product; partition: number; offset: string }, ctx) => {
        const p = record.value;
        const ban = ctx.table<ForbiddenProduct>(FORBIDDEN_TABLE).get(p.product_id);
        if (ban) {
          const blocked: BlockedProduct = {
            product_id: p.product_id,
            store_id: p.store_id,
            reason: ban.reason,
            forbidden_at: String(ban.created_at),
            blocked_at: new Date().toISOString(),
            source: {
              topic: T.inputProducts,
              partition: record.partition,
              offset: record.offset,
            },
          };
          ctx.send(T.productsBlocked, { key: p.product_id, value: JSON.stringify(blocked) });
          ctx.send(T.productsConnect, { key: productRowKey(p.product_id), value: null });
          return;
        }
        ctx.send(T.products, { key: p.product_id, value: JSON.stringify(p) });
        ctx.send(T.productsConnect, {
          key: productRowKey(p.product_id),
          value: productRow(p),
        });
      },
    }],
  });
}

/** Committed outcome counts of a filter since it started. */
export interface FilterCounts {
  in: number;
  passed: number;
  forbidden: number;
  dlq: number;
}

/**
 * Committed counts of a running filter: `in` and `dlq` from the runtime's per-source stats,
 * `passed`/`forbidden` from the records it committed to `products`/`products.blocked` (each
 * source record writes exactly one of those, or one dead letter).
 */
export async function filterCounts(
  app: StreamApp,
  topics: ProductFilterOptions["topics"] = {},
): Promise<FilterCounts> {
  const T: Record<keyof typeof TOPICS, string> = { ...TOPICS, ...topics };
  let counts: FilterCounts | undefined;
  // The runtime updates its stats and its counters in one synchronous step after each commit;
  // prom-client's counter values are live objects, so both are read after the await, in one
  // synchronous step. A label set created meanwhile (a topic's first record) is caught by a
  // second read.
  for (let attempt = 0; attempt < 3; attempt++) {
    const produced = await streamMetrics().recordsProduced.get();
    const of = (topic: string) =>
      produced.values.find((v) => v.labels.app === app.appId && v.labels.topic === topic)
        ?.value ?? 0;
    const s = app.stats.get(T.inputProducts)!;
    counts = {
      in: s.in,
      passed: of(T.products),
      forbidden: of(T.productsBlocked),
      dlq: s.dlq,
    };
    if (counts.in === counts.passed + counts.forbidden + counts.dlq) break;
  }
  return counts!;
}

/**
 * Registers `product_filter_records_total{outcome="in|passed|forbidden|dlq"}` for `app` (read
 * at scrape time from the committed counts).
 */
export function registerFilterMetrics(
  app: StreamApp,
  topics: ProductFilterOptions["topics"] = {},
): void {
  const name = "product_filter_records_total";
  registry.removeSingleMetric(name);
  new client.Gauge({
    name,
    help: "Committed input-products records by outcome: in = passed + forbidden + dlq",
    labelNames: ["outcome"],
    registers: [registry],
    async collect() {
      const c = await filterCounts(app, topics);
      for (const [outcome, v] of Object.entries(c)) this.set({ outcome }, v);
    },
  });
}
