/**
 * Products in PostgreSQL: Debezium's JDBC sink upserts the allowed products into table
 * `products` of the `analytics` database, keyed by `product_id`.
 *
 * **Why a second topic.** The JDBC sink needs records with a Connect schema, while `products`
 * keeps the seed's plain product JSON for every other reader (mirror, lake). So the filter
 * writes each allowed product twice in ONE transaction: to `products` and, as
 * {@linkcode productRow} in Connect's JSON envelope (`{"schema", "payload"}`), to
 * `products.connect`; the sink reads that one at `read_committed`, so an aborted transaction
 * never reaches PostgreSQL. When a product gets blocked the filter writes a tombstone there
 * and the sink deletes its row, so `SELECT * FROM products` never shows a forbidden product
 * once a record of it has been blocked.
 *
 * **Columns analysts query.** Nested scalars are flattened (`price_amount`, `price_currency`,
 * `stock_available`, `stock_reserved`); lists and maps (`tags`, `images`, `specifications`)
 * are `jsonb` (Debezium's `io.debezium.data.Json`); `created_at`/`updated_at` are
 * `timestamptz` (`io.debezium.time.ZonedTimestamp`).
 *
 * @example
 * ```ts
 * import { productsSinkConfig } from "./products_sink.ts";
 * await connect.putConfig(PRODUCTS_SINK_CONNECTOR, productsSinkConfig({ postgresUrl }));
 * ```
 * @module
 */
import type { Product } from "../schemas/mod.ts";
import {
  type ConnectClient,
  type ConnectorStatus,
  jdbcSinkConfig,
  withClient,
  withDatabase,
} from "../connect/mod.ts";
import {
  clientOverrides,
  connectClientProperties,
  ensureForbiddenTable,
  FORBIDDEN_CONNECTOR,
  forbiddenConnectorConfig,
} from "./forbidden.ts";
import { ANALYTICS_DB, TOPICS } from "./topology.ts";

/** Name of the JDBC sink connector of `products`. */
export const PRODUCTS_SINK_CONNECTOR = "final-products-jdbc";

const field = (name: string, type: string, semantic?: string) => ({
  field: name,
  type,
  optional: false,
  ...(semantic ? { name: semantic } : {}),
});
const JSON_TYPE = "io.debezium.data.Json";
const ZONED = "io.debezium.time.ZonedTimestamp";

/** Connect schema of a `products` row (the value of `products.connect`). */
export const PRODUCT_ROW_SCHEMA = {
  type: "struct",
  name: "marketplace.products.Value",
  optional: false,
  fields: [
    field("product_id", "string"),
    field("name", "string"),
    field("description", "string"),
    field("price_amount", "double"),
    field("price_currency", "string"),
    field("category", "string"),
    field("brand", "string"),
    field("stock_available", "int64"),
    field("stock_reserved", "int64"),
    field("sku", "string"),
    field("tags", "string", JSON_TYPE),
    field("images", "string", JSON_TYPE),
    field("specifications", "string", JSON_TYPE),
    field("created_at", "string", ZONED),
    field("updated_at", "string", ZONED),
    field("index", "string"),
    field("store_id", "string"),
  ],
} as const;

/** Connect schema of the key of `products.connect`. */
export const PRODUCT_KEY_SCHEMA = {
  type: "struct",
  name: "marketplace.products.Key",
  optional: false,
  fields: [field("product_id", "string")],
} as const;

/** The key of a product in `products.connect` (Connect JSON envelope). */
export function productRowKey(productId: string): string {
  return JSON.stringify({ schema: PRODUCT_KEY_SCHEMA, payload: { product_id: productId } });
}

/** A product as a `products` row in Connect's JSON envelope (nested fields flattened). */
export function productRow(p: Product): string {
  return JSON.stringify({
    schema: PRODUCT_ROW_SCHEMA,
    payload: {
      product_id: p.product_id,
      name: p.name,
      description: p.description,
      price_amount: p.price.amount,
      price_currency: p.price.currency,
      category: p.category,
      brand: p.brand,
      stock_available: p.stock.available,
      stock_reserved: p.stock.reserved,
      sku: p.sku,
      tags: JSON.stringify(p.tags),
      images: JSON.stringify(p.images),
      specifications: JSON.stringify(p.specifications),
      created_at: new Date(p.created_at).toISOString(),
      updated_at: new Date(p.updated_at).toISOString(),
      index: p.index,
      store_id: p.store_id,
    },
  });
}

/** Options of {@linkcode productsSinkConfig}. */
export interface ProductsSinkOptions {
  /** PostgreSQL URL (any database of the server; the sink writes `analytics`). */
  postgresUrl: string;
  /** Client properties for cluster A. @default connectClientProperties() */
  kafkaProperties?: Record<string, string>;
  /** Target table. @default "products" */
  table?: string;
}

/** The JDBC sink config for PUT /connectors/<name>/config. */
export function productsSinkConfig(options: ProductsSinkOptions): Record<string, string> {
  const { postgresUrl, table = "products" } = options;
  const props = options.kafkaProperties ?? connectClientProperties();
  return {
    ...jdbcSinkConfig({
      url: withDatabase(postgresUrl, ANALYTICS_DB),
      topics: [TOPICS.productsConnect],
      table,
      insertMode: "upsert",
      primaryKeyMode: "record_key",
      deleteEnabled: true,
    }),
    ...clientOverrides(props, ["consumer", "admin"]),
    "consumer.override.isolation.level": "read_committed",
    "consumer.override.auto.offset.reset": "earliest",
  };
}

/** PostgreSQL column types of the row schema's fields, as Debezium's JDBC sink makes them. */
const COLUMN_TYPES: Record<string, string> = {
  string: "text",
  double: "double precision",
  int64: "bigint",
  [JSON_TYPE]: "jsonb",
  [ZONED]: "timestamptz",
};

/** The DDL of the sink's table, from {@linkcode PRODUCT_ROW_SCHEMA} (idempotent). */
export function productsTableDdl(table = "products"): string {
  const cols = PRODUCT_ROW_SCHEMA.fields.map((f) => {
    const semantic = "name" in f ? f.name : undefined;
    return `"${f.field}" ${COLUMN_TYPES[semantic ?? f.type]} not null`;
  });
  return `create table if not exists "${table}" (${cols.join(", ")}, primary key ("product_id"))`;
}

/**
 * Creates the sink's table before the sink starts. Debezium's JDBC sink (3.3) creates a
 * missing table from the first record it gets — and when that record is a tombstone (a
 * product blocked before any was allowed, on a fresh database) it fails in
 * `getCreateTableStatement` with a NullPointerException and the task stays FAILED.
 */
export async function ensureProductsTable(postgresUrl: string, table = "products"): Promise<void> {
  await withClient(withDatabase(postgresUrl, ANALYTICS_DB), async (c) => {
    await c.query(productsTableDdl(table));
  });
}

/**
 * Registers (idempotently) the forbidden-list CDC source and the products JDBC sink, after
 * creating the `analytics` database, `forbidden_products` and the sink's `products` table;
 * waits until both run.
 */
export async function registerFinalConnectors(
  connect: ConnectClient,
  postgresUrl: string,
  timeoutMs = 120_000,
): Promise<ConnectorStatus[]> {
  await ensureForbiddenTable(postgresUrl);
  await ensureProductsTable(postgresUrl);
  const kafkaProperties = connectClientProperties();
  const configs: [string, Record<string, string>][] = [
    [FORBIDDEN_CONNECTOR, forbiddenConnectorConfig({ postgresUrl, kafkaProperties })],
    [PRODUCTS_SINK_CONNECTOR, productsSinkConfig({ postgresUrl, kafkaProperties })],
  ];
  const out: ConnectorStatus[] = [];
  for (const [name, config] of configs) {
    // A connector that failed before (e.g. ACLs missing then) keeps failing: start it afresh.
    const before = await connect.status(name).catch(() => undefined);
    if (before && [before.connector, ...before.tasks].some((t) => t.state === "FAILED")) {
      await connect.delete(name);
    }
    await connect.putConfig(name, config);
    out.push({ ...(await connect.waitRunning(name, timeoutMs)), name });
  }
  return out;
}
