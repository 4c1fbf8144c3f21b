/**
 * The final project's lake: one table per mirrored topic (read from cluster B), written by the
 * exactly-once lake sink of `lib/lake` to HDFS `/lake/raw/<topic>/dt=…/hour=…/*.parquet`.
 *
 * | topic            | table            | row                                                     |
 * | ---------------- | ---------------- | ------------------------------------------------------- |
 * | `products`       | `products`       | flattened: `price_amount`, `currency`, `stock_available`… |
 * | `user-events`    | `user_events`    | the event as it is                                      |
 * | `user-requests`  | `user_requests`  | the request as it is                                    |
 * | `user-responses` | `user_responses` | the response; `product_ids` as a JSON array string      |
 *
 * Every record is validated against its topic's schema (lib/schemas) first: one that fails goes
 * to `<topic>.dlq` with the reason, never into Parquet. The analytics jobs (`jobs/*.sql`) read
 * the tables by their `table` names.
 *
 * @example
 * ```ts
 * import { finalLakeTopics } from "./lake.ts";
 * const sink = new LakeSink({ kafka: clusterB, hdfs, topics: finalLakeTopics() });
 * ```
 * @module
 */
import { type Column, columnsFromSchema, type LakeTopic } from "../lake/mod.ts";
import { ConfigError } from "../env/mod.ts";
import {
  type Product,
  PRODUCT_SCHEMA,
  USER_EVENT_SCHEMA,
  USER_REQUEST_SCHEMA,
  USER_RESPONSE_SCHEMA,
} from "../schemas/mod.ts";
import { MIRRORED_TOPICS, TOPICS } from "./topology.ts";

/** The lake row of a product: {@linkcode Product} with its nested objects flattened. */
export interface LakeProductRow {
  product_id: string;
  name: string;
  description: string;
  price_amount: number;
  currency: string;
  category: string;
  brand: string;
  stock_available: number;
  stock_reserved: number;
  sku: string;
  /** JSON array of strings. */
  tags: string;
  image_count: number;
  /** JSON object of the specifications. */
  specifications: string;
  created_at: string;
  updated_at: string;
  index: string;
  store_id: string;
}

const S = { type: "string" } as const;
const T = { type: "string", format: "date-time" } as const;

/** JSON Schema of {@linkcode LakeProductRow}: gives the `products` table's columns. */
export const LAKE_PRODUCT_ROW_SCHEMA = {
  $id: "product_row.v1",
  type: "object",
  required: [
    "product_id",
    "name",
    "description",
    "price_amount",
    "currency",
    "category",
    "brand",
    "stock_available",
    "stock_reserved",
    "sku",
    "tags",
    "image_count",
    "specifications",
    "created_at",
    "updated_at",
    "index",
    "store_id",
  ],
  properties: {
    product_id: S,
    name: S,
    description: S,
    price_amount: { type: "number" },
    currency: S,
    category: S,
    brand: S,
    stock_available: { type: "integer" },
    stock_reserved: { type: "integer" },
    sku: S,
    tags: { type: "array" },
    image_count: { type: "integer" },
    specifications: { type: "object" },
    created_at: T,
    updated_at: T,
    index: S,
    store_id: S,
  },
} as const;

/** Flattens a (valid) product into its lake row. */
export function flattenProduct(p: Product): Record<string, unknown> {
  return {
    product_id: p.product_id,
    name: p.name,
    description: p.description,
    price_amount: p.price.amount,
    currency: p.price.currency,
    category: p.category,
    brand: p.brand,
    stock_available: p.stock.available,
    stock_reserved: p.stock.reserved,
    sku: p.sku,
    tags: p.tags,
    image_count: p.images.length,
    specifications: p.specifications,
    created_at: p.created_at,
    updated_at: p.updated_at,
    index: p.index,
    store_id: p.store_id,
  };
}

/** One table of the final lake. */
export interface FinalLakeTable {
  /** Topic on cluster B (MirrorMaker 2 keeps the names) and folder under the lake root. */
  topic: string;
  /** Table name the jobs' SQL uses. */
  table: string;
  /** What the sink needs: schema, and for products the flattening. */
  lake: LakeTopic;
  /** The Parquet columns, metadata columns (`_partition`, `_offset`, `_timestamp`) included. */
  columns: Column[];
}

function table(
  topic: string,
  schema: object,
  extra: Partial<LakeTopic> = {},
): FinalLakeTable {
  const lake: LakeTopic = { topic, schema, ...extra };
  return {
    topic,
    table: topic.replaceAll("-", "_"),
    lake,
    columns: columnsFromSchema(lake.table ?? schema),
  };
}

/** Every table of the final lake, one per mirrored topic. */
export const FINAL_LAKE_TABLES: readonly FinalLakeTable[] = [
  table(TOPICS.products, PRODUCT_SCHEMA, {
    table: LAKE_PRODUCT_ROW_SCHEMA,
    transform: (e) => flattenProduct(e as unknown as Product),
  }),
  table(TOPICS.userEvents, USER_EVENT_SCHEMA),
  table(TOPICS.userRequests, USER_REQUEST_SCHEMA),
  table(TOPICS.userResponses, USER_RESPONSE_SCHEMA),
];

// The lake covers exactly what is mirrored: a topic added to MIRRORED_TOPICS needs a table here.
for (const t of MIRRORED_TOPICS) {
  if (!FINAL_LAKE_TABLES.some((l) => l.topic === t)) {
    throw new Error(`Mirrored topic '${t}' has no lake table in lib/marketplace/lake.ts`);
  }
}

/**
 * The sink's topics for a comma-separated list of topic names (`LAKE_TOPICS`), all of
 * {@linkcode FINAL_LAKE_TABLES} when empty. `prefix` is put before each topic name (for a
 * replication policy that renames topics, e.g. `A.`, or for tests).
 */
export function finalLakeTopics(names = "", prefix = ""): LakeTopic[] {
  const wanted = names.split(",").map((s) => s.trim()).filter(Boolean);
  for (const w of wanted) {
    if (!FINAL_LAKE_TABLES.some((t) => t.topic === w)) {
      throw new ConfigError(
        `Cannot use LAKE_TOPICS as '${w}' is not a final lake topic (known: ${
          FINAL_LAKE_TABLES.map((t) => t.topic).join(", ")
        }): current value is '${names}'`,
      );
    }
  }
  return FINAL_LAKE_TABLES.filter((t) => wanted.length === 0 || wanted.includes(t.topic)).map(
    (t) => ({ ...t.lake, topic: `${prefix}${t.topic}` }),
  );
}
