/**
 * The marketplace platform's one declared topology: its topics (on cluster A, the secure main
 * cluster, and mirrored to cluster B), its principals and their ACLs, its services and their
 * ports. The services, `final:setup`, compose/final.yaml and the tests all read this file.
 *
 * @example
 * ```ts
 * import { FINAL_TOPICS, FINAL_ACLS, servicePort } from "./topology.ts";
 * const shopApi = `http://127.0.0.1:${servicePort("shop-api")}`;
 * ```
 * @module
 */
import { type AclGrant, type TopicSpec } from "../kafka/mod.ts";
import { envInt } from "../env/mod.ts";

/** Topic names of the platform (the seed's names). */
export const TOPICS = {
  /** What stores send through the SHOP API; only `shop-api` writes it. */
  inputProducts: "input-products",
  /** Records of `input-products` that fail the product schema, with the reason in headers. */
  inputProductsDlq: "input-products.dlq",
  /** Allowed products; only `product-filter` writes it (exactly-once). */
  products: "products",
  /** Products the filter blocked, with the reason (audit trail). */
  productsBlocked: "products.blocked",
  /**
   * `products` in Kafka Connect's JSON envelope (schema + flattened payload; a tombstone when
   * a product gets blocked), written by the filter in the same transaction as `products`:
   * what the JDBC sink upserts into PostgreSQL (the sink needs records with a schema).
   */
  productsConnect: "products.connect",
  /** The forbidden-products table: Debezium CDC of PostgreSQL `forbidden_products` (compacted). */
  forbiddenProducts: "forbidden-products",
  /** Every CLIENT API request. */
  userRequests: "user-requests",
  /** Every CLIENT API response. */
  userResponses: "user-responses",
  /** Every user action (view, add_to_cart, purchase, review). */
  userEvents: "user-events",
  /** Recommendations per user, published by the analytics jobs (compacted, key `user_id`). */
  recommendations: "recommendations",
} as const;

const REPLICATED = { replicationFactor: 3, config: { "min.insync.replicas": "2" } };
const TABLE = { "cleanup.policy": "compact", "min.insync.replicas": "2" };

/** Largest record `input-products` accepts (bytes): a 2 MB description is refused. */
export const MAX_PRODUCT_BYTES = 1_048_576;

/** Every topic of cluster A, as `final:setup` creates it. */
export const FINAL_TOPICS: TopicSpec[] = [
  {
    topic: TOPICS.inputProducts,
    partitions: 3,
    ...REPLICATED,
    config: { ...REPLICATED.config, "max.message.bytes": String(MAX_PRODUCT_BYTES) },
  },
  {
    topic: TOPICS.inputProductsDlq,
    partitions: 1,
    ...REPLICATED,
    // A dead letter keeps the refused bytes plus headers: room for the largest input record.
    config: { ...REPLICATED.config, "max.message.bytes": String(2 * MAX_PRODUCT_BYTES) },
  },
  { topic: TOPICS.products, partitions: 3, ...REPLICATED },
  { topic: TOPICS.productsBlocked, partitions: 1, ...REPLICATED },
  { topic: TOPICS.productsConnect, partitions: 3, ...REPLICATED },
  { topic: TOPICS.forbiddenProducts, partitions: 1, replicationFactor: 3, config: TABLE },
  { topic: TOPICS.userRequests, partitions: 3, ...REPLICATED },
  { topic: TOPICS.userResponses, partitions: 3, ...REPLICATED },
  { topic: TOPICS.userEvents, partitions: 3, ...REPLICATED },
  { topic: TOPICS.recommendations, partitions: 3, replicationFactor: 3, config: TABLE },
];

/** Topics MirrorMaker 2 replicates to cluster B (what the lake and the analytics read). */
export const MIRRORED_TOPICS: string[] = [
  TOPICS.products,
  TOPICS.userRequests,
  TOPICS.userResponses,
  TOPICS.userEvents,
];

/** Principals (SASL users of the secure cluster) of the platform's services. */
export const PRINCIPALS = {
  shopApi: "shop-api",
  productFilter: "product-filter",
  clientApi: "client-api",
  connect: "connect",
  mirrorMaker: "mirror-maker",
  analytics: "analytics",
} as const;

/** A principal of the platform. */
export type Principal = typeof PRINCIPALS[keyof typeof PRINCIPALS];

/** Consumer groups and transactional ids, by service (ACLs are granted on these prefixes). */
export const GROUPS = {
  productFilter: "product-filter",
  clientApi: "client-api",
  connect: "connect-",
  mirrorMaker: "mirror-maker",
  analytics: "analytics",
} as const;

const topicAcl = (
  principal: string,
  topic: string,
  ...ops: AclGrant["operation"][]
): AclGrant[] =>
  ops.map((operation) => ({
    principal: `User:${principal}`,
    resourceType: "topic",
    resourceName: topic,
    operation,
  }));

const prefixed = (
  principal: string,
  resourceType: AclGrant["resourceType"],
  name: string,
  ...ops: AclGrant["operation"][]
): AclGrant[] =>
  ops.map((operation) => ({
    principal: `User:${principal}`,
    resourceType,
    resourceName: name,
    operation,
    pattern: "prefixed",
  }));

/**
 * The ACL table of cluster A: who may read and write what. Nobody but `shop-api` writes
 * `input-products`; nobody but `product-filter` writes `products`.
 */
export const FINAL_ACLS: AclGrant[] = [
  ...topicAcl(PRINCIPALS.shopApi, TOPICS.inputProducts, "WRITE", "DESCRIBE"),
  ...topicAcl(PRINCIPALS.productFilter, TOPICS.inputProducts, "READ", "DESCRIBE"),
  ...topicAcl(PRINCIPALS.productFilter, TOPICS.forbiddenProducts, "READ", "DESCRIBE"),
  ...topicAcl(PRINCIPALS.productFilter, TOPICS.products, "WRITE", "DESCRIBE"),
  ...topicAcl(PRINCIPALS.productFilter, TOPICS.productsBlocked, "WRITE", "DESCRIBE"),
  ...topicAcl(PRINCIPALS.productFilter, TOPICS.productsConnect, "WRITE", "DESCRIBE"),
  ...topicAcl(PRINCIPALS.productFilter, TOPICS.inputProductsDlq, "WRITE", "DESCRIBE"),
  ...prefixed(PRINCIPALS.productFilter, "topic", `${GROUPS.productFilter}-`, "ALL"),
  ...prefixed(PRINCIPALS.productFilter, "group", GROUPS.productFilter, "READ"),
  ...prefixed(
    PRINCIPALS.productFilter,
    "transactionalId",
    GROUPS.productFilter,
    "WRITE",
    "DESCRIBE",
  ),
  ...topicAcl(PRINCIPALS.clientApi, TOPICS.userRequests, "WRITE", "DESCRIBE"),
  ...topicAcl(PRINCIPALS.clientApi, TOPICS.userResponses, "WRITE", "DESCRIBE"),
  ...topicAcl(PRINCIPALS.clientApi, TOPICS.userEvents, "WRITE", "DESCRIBE"),
  ...topicAcl(PRINCIPALS.clientApi, TOPICS.recommendations, "READ", "DESCRIBE"),
  ...prefixed(PRINCIPALS.clientApi, "group", GROUPS.clientApi, "READ"),
  // Connect (the main cluster's worker, its connectors' clients overridden to cluster A as
  // `connect`): Debezium writes the forbidden table and keeps its source offsets in a topic
  // of its own here (`connect-…`); the JDBC sink reads products.connect.
  ...topicAcl(PRINCIPALS.connect, TOPICS.forbiddenProducts, "WRITE", "DESCRIBE"),
  ...topicAcl(PRINCIPALS.connect, TOPICS.productsConnect, "READ", "DESCRIBE"),
  ...prefixed(PRINCIPALS.connect, "topic", GROUPS.connect, "ALL"),
  ...prefixed(PRINCIPALS.connect, "group", GROUPS.connect, "READ"),
  // MirrorMaker 2 reads what it mirrors (read-only on cluster A; its internal topics live on B):
  // records, topic configs (copied to B's new topics), and the committed offsets of the groups
  // whose positions it translates for B (checkpoints).
  ...MIRRORED_TOPICS.flatMap((t) =>
    topicAcl(PRINCIPALS.mirrorMaker, t, "READ", "DESCRIBE", "DESCRIBE_CONFIGS")
  ),
  ...prefixed(PRINCIPALS.mirrorMaker, "group", GROUPS.mirrorMaker, "READ", "DESCRIBE"),
  ...prefixed(PRINCIPALS.mirrorMaker, "group", GROUPS.analytics, "DESCRIBE"),
  // Analytics publishes recommendations back to cluster A.
  ...topicAcl(PRINCIPALS.analytics, TOPICS.recommendations, "WRITE", "DESCRIBE"),
];

/** Deno services of the platform and their default ports (plus `STACK_PORT_OFFSET`). */
export const SERVICE_PORTS = {
  "shop-api": 8180,
  "client-api": 8280,
  "product-filter": 8380,
  "lake-sink": 8480,
  /** Cluster health of A and B plus the analytics job status (`final:exporter`). */
  "platform-exporter": 8580,
  /** The key panels as one HTML page (`final:dashboard`). */
  dashboard: 8680,
} as const;

/** A Deno service of the platform. */
export type FinalService = keyof typeof SERVICE_PORTS;

/** The platform config's key of each service's port (lib/marketplace/platform_config.ts). */
export const SERVICE_PORT_KEYS: Partial<Record<FinalService, string>> = {
  "shop-api": "PLATFORM_SHOP_API_PORT",
  "client-api": "PLATFORM_CLIENT_API_PORT",
  "product-filter": "PLATFORM_PRODUCT_FILTER_PORT",
  "lake-sink": "PLATFORM_LAKE_SINK_PORT",
  "platform-exporter": "PLATFORM_EXPORTER_PORT",
};

/**
 * Port of a platform service: the platform config's (its `PLATFORM_*_PORT`), else the
 * topology's on this stack (`STACK_PORT_OFFSET` added).
 */
export function servicePort(service: FinalService): number {
  const key = SERVICE_PORT_KEYS[service];
  if (key && Deno.env.get(key)?.trim()) return envInt(key, { min: 0, max: 65_535 });
  return SERVICE_PORTS[service] + envInt("STACK_PORT_OFFSET", { default: 0, min: 0, max: 50_000 });
}

/** PostgreSQL database of the platform (forbidden list, products table). */
export const ANALYTICS_DB = "analytics";
