/**
 * The extra task's source connector. The seed registers Confluent's JdbcSourceConnector
 * (timestamp mode on `updated_at`) with the MaskField SMT; that connector is not published on
 * any registry reachable here (Confluent Hub and Confluent's Maven repository only), so the
 * closest real alternative does the same job: Debezium's PostgresConnector (snapshot, then
 * the WAL stream: inserts and updates), flattened to the row by Debezium's
 * ExtractNewRecordState, masked by Kafka's MaskField (`private_info` → `CENSORED`) and routed
 * to the seed's topic `postgresql-jdbc-bulk-users`. The seed's knobs map as documented on
 * {@linkcode SourceTuning}.
 *
 * @example
 * ```ts
 * import { extraSourceConfig } from "./connector.ts";
 * const config = extraSourceConfig({ url: "postgres://practicum:practicum@127.0.0.1:5432/customers" });
 * ```
 * @module
 */
import { debeziumConnection } from "../../connect/mod.ts";

/** The seed's connector name. */
export const EXTRA_CONNECTOR = "postgres-source";
/** The seed's topic (`topic.prefix` `postgresql-jdbc-bulk-` + table `users`). */
export const EXTRA_TOPIC = "postgresql-jdbc-bulk-users";

/** The seed's experiment knobs. */
export interface SourceTuning {
  /** Seed: `batch.max.rows`; Debezium: `max.batch.size` (records per poll). @default 100 */
  batchMaxRows?: number;
  /** `producer.override.batch.size` in bytes. @default 500 (the seed's first row) */
  batchSize?: number;
  /** `producer.override.linger.ms`. @default 0 */
  lingerMs?: number;
  /** `producer.override.compression.type`. @default "none" */
  compression?: "none" | "gzip" | "snappy" | "lz4" | "zstd";
  /** `producer.override.buffer.memory` in bytes. @default 33554432 */
  bufferMemory?: number;
}

/** Options of {@linkcode extraSourceConfig}. */
export interface ExtraSourceOptions extends SourceTuning {
  /** URL of the `customers` database. */
  url: string;
  /** Topic the rows go to. @default "postgresql-jdbc-bulk-users" */
  topic?: string;
  /** Replication slot (unique per connector). @default "extra_users" */
  slot?: string;
  /** Drop the slot when the connector stops (experiments). @default false */
  dropSlotOnStop?: boolean;
  /** Debezium `snapshot.mode`. @default "initial" */
  snapshotMode?: "initial" | "no_data" | "never" | "always";
}

/** The connector config (what the seed PUTs to `/connectors/postgres-source/config`). */
export function extraSourceConfig(options: ExtraSourceOptions): Record<string, string> {
  const {
    url,
    topic = EXTRA_TOPIC,
    slot = "extra_users",
    dropSlotOnStop = false,
    snapshotMode = "initial",
    batchMaxRows = 100,
    batchSize = 500,
    lingerMs = 0,
    compression = "none",
    bufferMemory = 33_554_432,
  } = options;
  for (const [name, v] of Object.entries({ batchMaxRows, batchSize, bufferMemory })) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(
        `Cannot configure the source as '${name}' must be a positive integer: current value is ${v}`,
      );
    }
  }
  if (!Number.isInteger(lingerMs) || lingerMs < 0) {
    throw new RangeError(
      `Cannot configure the source as 'lingerMs' must be >= 0: current value is ${lingerMs}`,
    );
  }
  if (!/^[a-z0-9_]{1,63}$/.test(slot)) {
    throw new RangeError(
      `Cannot configure the source as 'slot' must be [a-z0-9_]{1,63}: current value is '${slot}'`,
    );
  }
  return {
    "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
    "tasks.max": "1",
    ...debeziumConnection(url),
    "plugin.name": "pgoutput",
    "slot.name": slot,
    "slot.drop.on.stop": String(dropSlotOnStop),
    "publication.name": `${slot}_pub`,
    "publication.autocreate.mode": "filtered",
    "topic.prefix": `extra_${slot}`,
    "table.include.list": "public.users",
    "snapshot.mode": snapshotMode,
    "time.precision.mode": "connect",
    "poll.interval.ms": "200",
    "max.batch.size": String(batchMaxRows),
    "max.queue.size": String(Math.max(8192, batchMaxRows * 4)),
    "snapshot.fetch.size": String(Math.max(10_240, batchMaxRows)),
    "producer.override.batch.size": String(batchSize),
    "producer.override.linger.ms": String(lingerMs),
    "producer.override.compression.type": compression,
    "producer.override.buffer.memory": String(bufferMemory),
    "transforms": "unwrap,MaskField,route",
    "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
    "transforms.unwrap.delete.tombstone.handling.mode": "drop",
    "transforms.MaskField.type": "org.apache.kafka.connect.transforms.MaskField$Value",
    "transforms.MaskField.fields": "private_info",
    "transforms.MaskField.replacement": "CENSORED",
    "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
    "transforms.route.regex": ".*",
    "transforms.route.replacement": topic,
  };
}
