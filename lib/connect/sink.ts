/**
 * Debezium's JDBC sink connector (`io.debezium.connector.jdbc.JdbcSinkConnector`, in the
 * stack's plugin path): upserts a topic's records into a PostgreSQL table, creating and
 * evolving the table from the records' schemas. Records must carry a Connect schema: JSON with
 * the `{"schema": …, "payload": …}` envelope (this config turns `schemas.enable` on for the
 * connector), Avro, or Debezium change events.
 *
 * @example
 * ```ts
 * import { jdbcSinkConfig } from "./sink.ts";
 * const config = jdbcSinkConfig({
 *   url: "postgres://practicum:practicum@127.0.0.1:5432/analytics", topics: ["products"], table: "products",
 * });
 * ```
 * @module
 */

/** Options of {@linkcode jdbcSinkConfig}. */
export interface JdbcSinkOptions {
  /** PostgreSQL URL (`postgres://user:password@host:port/db`). */
  url: string;
  /** Topics to read. */
  topics: string[];
  /** Target table; `${topic}` is replaced by the topic name. @default "${topic}" */
  table?: string;
  /** `upsert` (by the record key) or `insert`. @default "upsert" */
  insertMode?: "upsert" | "insert";
  /** Where the primary key comes from. @default "record_key" */
  primaryKeyMode?: "record_key" | "record_value" | "none";
  /** Key fields, when not all of the key's. @default all */
  primaryKeyFields?: string[];
  /** Delete rows on tombstones / Debezium deletes. @default false */
  deleteEnabled?: boolean;
  /**
   * Dead-letter topic: with it, a record the worker cannot convert (bad JSON, no schema
   * envelope) goes there with Connect's context headers (`__connect.errors.*`: topic,
   * partition, offset, exception) and the connector keeps going (`errors.tolerance=all`).
   * Without it, such a record fails the task. @default undefined (no DLQ)
   */
  deadLetterTopic?: string;
  /** Replication factor of the dead-letter topic when Connect creates it. @default 1 */
  deadLetterReplicationFactor?: number;
}

/** The connector config for PUT /connectors/<name>/config. */
export function jdbcSinkConfig(options: JdbcSinkOptions): Record<string, string> {
  const {
    url,
    topics,
    table = "${topic}",
    insertMode = "upsert",
    primaryKeyMode = "record_key",
    primaryKeyFields,
    deleteEnabled = false,
    deadLetterTopic,
    deadLetterReplicationFactor = 1,
  } = options;
  if (topics.length === 0) {
    throw new RangeError("Cannot configure the JDBC sink as 'topics' is empty");
  }
  const u = new URL(url);
  if (!u.protocol.startsWith("postgres")) {
    throw new RangeError(
      `Cannot configure the JDBC sink as 'url' must be postgres://…: current value is '${url}'`,
    );
  }
  return {
    "connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector",
    "tasks.max": "1",
    "topics": topics.join(","),
    "connection.url": `jdbc:postgresql://${u.hostname}:${u.port || "5432"}${u.pathname}`,
    "connection.username": decodeURIComponent(u.username),
    "connection.password": decodeURIComponent(u.password),
    "insert.mode": insertMode,
    "primary.key.mode": primaryKeyMode,
    ...(primaryKeyFields ? { "primary.key.fields": primaryKeyFields.join(",") } : {}),
    "delete.enabled": String(deleteEnabled),
    "schema.evolution": "basic",
    "collection.name.format": table,
    "key.converter": "org.apache.kafka.connect.json.JsonConverter",
    "value.converter": "org.apache.kafka.connect.json.JsonConverter",
    "key.converter.schemas.enable": "true",
    "value.converter.schemas.enable": "true",
    ...(deadLetterTopic
      ? {
        "errors.tolerance": "all",
        "errors.log.enable": "true",
        "errors.deadletterqueue.topic.name": deadLetterTopic,
        "errors.deadletterqueue.topic.replication.factor": String(deadLetterReplicationFactor),
        "errors.deadletterqueue.context.headers.enable": "true",
      }
      : {}),
  };
}
