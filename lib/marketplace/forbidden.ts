/**
 * The forbidden-products list: PostgreSQL table `forbidden_products (product_id, reason,
 * created_at)` in the platform's `analytics` database (the seed's step 4: a plain `psql`
 * `INSERT` works too), and the Debezium CDC connector that turns it into the compacted topic
 * `forbidden-products` on cluster A, which the product filter reads as a table.
 *
 * **Where Connect runs.** The stack's Connect worker belongs to the MAIN (plaintext) cluster;
 * the final project's data is on the SECURE cluster A. Rather than a second worker, each
 * connector overrides its own clients (`producer.override.*`, `consumer.override.*`,
 * `admin.override.*`: bootstrap servers, SASL_SSL, truststore) to reach cluster A as
 * principal `connect` (the worker allows it: `connector.client.config.override.policy=All`).
 * A source connector whose producer targets another cluster keeps its offsets in a topic of
 * that cluster: here `connect-final-offsets` (the `connect` principal owns the `connect-`
 * prefix there, see FINAL_ACLS).
 *
 * **Topic shape.** `ExtractNewRecordState` unwraps Debezium's envelope, `ExtractField$Key`
 * makes the key the bare `product_id` (StringConverter), `RegexRouter` names the topic; values
 * are schemaless JSON `{"product_id":…,"reason":…,"created_at":…}` — a table changelog. A
 * delete arrives as the JSON value `null` (the unwrapped delete keeps its value schema, so
 * JsonConverter writes `null` rather than a tombstone); the filter's table applies it as a
 * delete. Compaction keeps one such record per key ever forbidden — small.
 *
 * @example
 * ```ts
 * import { addForbidden, ensureForbiddenTable } from "./forbidden.ts";
 * await ensureForbiddenTable(postgresUrl);
 * await addForbidden(postgresUrl, "p-42", "counterfeit");
 * ```
 * @module
 */
import { readFileSync } from "node:fs";
import { ConfigError, envString } from "../env/mod.ts";
import { localSecureCluster } from "../kafka/mod.ts";
import { debeziumConnection, ensureDatabase, withClient, withDatabase } from "../connect/mod.ts";
import { ANALYTICS_DB, TOPICS } from "./topology.ts";

/** Name of the Debezium source connector of the forbidden list. */
export const FORBIDDEN_CONNECTOR = "final-forbidden-products";

/** A row of `forbidden_products` (and a value of the `forbidden-products` topic). */
export interface ForbiddenProduct {
  product_id: string;
  reason: string;
  /** ISO timestamp (Debezium writes `timestamptz` as an ISO string). */
  created_at: string;
}

/** The DDL of the forbidden list (idempotent). */
export const FORBIDDEN_DDL = `create table if not exists forbidden_products (
  product_id text primary key,
  reason text not null default '',
  created_at timestamptz not null default now()
)`;

/**
 * Creates the `analytics` database (when missing) and `forbidden_products` in it; returns the
 * URL of the analytics database.
 */
export async function ensureForbiddenTable(postgresUrl: string): Promise<string> {
  await ensureDatabase(postgresUrl, ANALYTICS_DB);
  const url = withDatabase(postgresUrl, ANALYTICS_DB);
  await withClient(url, async (c) => {
    await c.query(FORBIDDEN_DDL);
  });
  return url;
}

function checkId(productId: string): void {
  if (typeof productId !== "string" || productId.trim() === "" || productId.length > 200) {
    throw new ConfigError(
      `Cannot use product id as it must be 1-200 characters: current value is '${productId}'`,
    );
  }
}

/** Forbids a product (or updates its reason); returns the stored row. */
export async function addForbidden(
  postgresUrl: string,
  productId: string,
  reason: string,
): Promise<ForbiddenProduct> {
  checkId(productId);
  const url = await ensureForbiddenTable(postgresUrl);
  return await withClient(url, async (c) => {
    const r = await c.query(
      `insert into forbidden_products (product_id, reason) values ($1, $2)
       on conflict (product_id) do update set reason = excluded.reason
       returning product_id, reason, created_at`,
      [productId, reason],
    );
    return toRow(r.rows[0]);
  });
}

/** Lifts a ban; returns whether the product was forbidden. */
export async function removeForbidden(postgresUrl: string, productId: string): Promise<boolean> {
  checkId(productId);
  const url = await ensureForbiddenTable(postgresUrl);
  return await withClient(url, async (c) => {
    const r = await c.query("delete from forbidden_products where product_id = $1", [productId]);
    return (r.rowCount ?? 0) > 0;
  });
}

/** The forbidden list, oldest first. */
export async function listForbidden(postgresUrl: string): Promise<ForbiddenProduct[]> {
  const url = await ensureForbiddenTable(postgresUrl);
  return await withClient(url, async (c) => {
    const r = await c.query(
      "select product_id, reason, created_at from forbidden_products order by created_at, product_id",
    );
    return r.rows.map(toRow);
  });
}

/**
 * Which of `productIds` the forbidden list holds now (the list as it stands, read from
 * PostgreSQL), in the order of `productIds`.
 */
export async function forbiddenAmong(
  postgresUrl: string,
  productIds: readonly string[],
): Promise<ForbiddenProduct[]> {
  const url = await ensureForbiddenTable(postgresUrl);
  const rows = await withClient(url, async (c) => {
    const r = await c.query(
      "select product_id, reason, created_at from forbidden_products where product_id = any($1)",
      [[...productIds]],
    );
    return r.rows.map(toRow);
  });
  const at = new Map(productIds.map((id, i) => [id, i]));
  return rows.sort((a, b) => at.get(a.product_id)! - at.get(b.product_id)!);
}

function toRow(r: { product_id: string; reason: string; created_at: Date }): ForbiddenProduct {
  return {
    product_id: r.product_id,
    reason: r.reason,
    created_at: new Date(r.created_at).toISOString(),
  };
}

/**
 * Java client properties that let a connector's clients reach cluster A as `connect`:
 * `$CONNECT_CLIENT_PROPERTIES` (a properties file: `security.protocol`, `sasl.*`, `ssl.*`) plus
 * `$FINAL_KAFKA_BOOTSTRAP_SERVERS`, else the local stack's secure cluster (its SASL_SSL
 * bootstrap and the generated `client-connect.properties`).
 */
export function connectClientProperties(): Record<string, string> {
  const local = localSecureCluster();
  const file = envString(
    "CONNECT_CLIENT_PROPERTIES",
    local ? local.secretsFile.replace(/secrets\.json$/, "client-connect.properties") : "",
  );
  const bootstrap = envString("FINAL_KAFKA_BOOTSTRAP_SERVERS", local?.bootstrap ?? "");
  if (!file || !bootstrap) {
    throw new ConfigError(
      "No secure Kafka cluster for Connect: set FINAL_KAFKA_BOOTSTRAP_SERVERS and " +
        "CONNECT_CLIENT_PROPERTIES or start the local one with `deno task stack up --secure`",
    );
  }
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(
      `Cannot read CONNECT_CLIENT_PROPERTIES '${file}': ${(err as Error).message}`,
    );
  }
  const props: Record<string, string> = { "bootstrap.servers": bootstrap };
  for (const line of text.split("\n")) {
    const m = /^\s*([^#=\s][^=]*?)\s*=\s*(.*)$/.exec(line);
    if (m) props[m[1]] = m[2];
  }
  return props;
}

/** `props` prefixed for each of a connector's clients (`producer`, `consumer`, `admin`). */
export function clientOverrides(
  props: Record<string, string>,
  clients: ("producer" | "consumer" | "admin")[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of clients) {
    for (const [k, v] of Object.entries(props)) out[`${c}.override.${k}`] = v;
  }
  return out;
}

/** Options of {@linkcode forbiddenConnectorConfig}. */
export interface ForbiddenConnectorOptions {
  /** PostgreSQL URL (any database of the server; the connector reads `analytics`). */
  postgresUrl: string;
  /** Client properties for cluster A. @default connectClientProperties() */
  kafkaProperties?: Record<string, string>;
  /** Target topic. @default "forbidden-products" */
  topic?: string;
}

/** The Debezium PostgreSQL source config for PUT /connectors/<name>/config. */
export function forbiddenConnectorConfig(
  options: ForbiddenConnectorOptions,
): Record<string, string> {
  const { postgresUrl, topic = TOPICS.forbiddenProducts } = options;
  const props = options.kafkaProperties ?? connectClientProperties();
  return {
    "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
    "tasks.max": "1",
    ...debeziumConnection(postgresUrl, ANALYTICS_DB),
    "plugin.name": "pgoutput",
    "slot.name": "final_forbidden",
    "publication.name": "final_forbidden_pub",
    "publication.autocreate.mode": "filtered",
    "topic.prefix": "final",
    "table.include.list": "public.forbidden_products",
    "snapshot.mode": "initial",
    "tombstones.on.delete": "true",
    "transforms": "unwrap,key,route",
    "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
    "transforms.unwrap.delete.tombstone.handling.mode": "tombstone",
    "transforms.key.type": "org.apache.kafka.connect.transforms.ExtractField$Key",
    "transforms.key.field": "product_id",
    "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
    "transforms.route.regex": ".*",
    "transforms.route.replacement": topic,
    "key.converter": "org.apache.kafka.connect.storage.StringConverter",
    "value.converter": "org.apache.kafka.connect.json.JsonConverter",
    "value.converter.schemas.enable": "false",
    "offsets.storage.topic": "connect-final-offsets",
    ...clientOverrides(props, ["producer", "consumer", "admin"]),
    "producer.override.acks": "all",
    "producer.override.enable.idempotence": "true",
    "producer.override.linger.ms": "0",
  };
}
