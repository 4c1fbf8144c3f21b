/**
 * What a stream processor is made of — its sources, sinks, tables and settings — and the
 * validation of those settings, with errors that name the option and its value.
 * @module
 */
import type { IHeaders, KafkaMessage } from "kafkajs";
import type { TopicSpec } from "../kafka/mod.ts";
import type { TableSpec, TableView } from "./table.ts";

/** Processing guarantee. */
export type Guarantee = "exactly_once" | "at_least_once";

/** A decoded source record as the processing function sees it. */
export interface StreamRecord<T> {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: T;
  timestamp: number;
  headers: IHeaders;
}

/** A record to write to a sink topic. */
export interface OutputMessage {
  key?: string | null;
  value: string | Uint8Array | null;
  headers?: IHeaders;
  partition?: number;
}

/** A table as the processing function sees it: committed state plus this transaction's writes. */
export interface WritableTable<V> {
  get(key: string): V | undefined;
  has(key: string): boolean;
  /** Sets a key; written to the changelog in the current transaction. */
  set(key: string, value: V): void;
  /** Deletes a key (a tombstone in the changelog). */
  delete(key: string): void;
  /** The committed table (without this transaction's writes), e.g. to iterate or cache. */
  readonly committed: TableView<V>;
}

/** What the processing function can do with a record. */
export interface ProcessContext {
  /** Writes a record to a sink topic (declared in `sinks`). */
  send(topic: string, message: OutputMessage): void;
  /** A table by name. */
  table<V = unknown>(name: string): WritableTable<V>;
}

/** A source topic and what to do with its records. */
export interface SourceSpec<T> {
  topic: string;
  /**
   * Turns the value bytes into a typed value; throw (ideally a {@linkcode DeserializationError})
   * to send the record to the dead-letter topic.
   */
  decode(value: Buffer | null, message: KafkaMessage): T;
  /** Processes one record; send nothing to filter it out; throw to dead-letter it. */
  process(record: StreamRecord<T>, ctx: ProcessContext): void | Promise<void>;
}

/** Options of a {@linkcode StreamApp}. */
export interface StreamAppOptions {
  /** Application id: consumer group, transactional-id prefix and changelog prefix. */
  appId: string;
  // deno-lint-ignore no-explicit-any
  sources: SourceSpec<any>[];
  /** Topics the processor writes; created when missing. */
  sinks: TopicSpec[];
  /** Tables (global, changelog-backed). @default [] */
  tables?: TableSpec[];
  /** @default "exactly_once" */
  guarantee?: Guarantee;
  /** Replication factor of created changelog and dead-letter topics. @default min(3, brokers) */
  replicationFactor?: number;
  /** Consumer session timeout: how soon a crashed member's partitions move, ms. @default 10000 */
  sessionTimeoutMs?: number;
  /** Partitions processed at the same time (each with its own transaction). @default 3 */
  concurrency?: number;
  /** Broker-side timeout of an open transaction, ms. @default 30000 */
  transactionTimeoutMs?: number;
  /** Bytes fetched per partition and so at most processed per transaction. @default 1048576 */
  maxBytesPerPartition?: number;
  /**
   * Fault injection for crash drills: pause this long between writing a batch's outputs and
   * committing it, which widens the window in which a kill -9 leaves outputs written but the
   * input not committed (a duplicate under at-least-once; an aborted transaction under
   * exactly-once). Never set in production.
   * @default `$STREAMS_DELAY_BEFORE_COMMIT_MS` or 0
   */
  delayBeforeCommitMs?: number;
  /** Progress and error lines. @default console.error */
  log?: (line: string) => void;
}

/** Counts per source topic since start (committed work only). */
export interface TopicStats {
  in: number;
  out: number;
  filtered: number;
  dlq: number;
}

/** Throws a RangeError naming the first option that is out of range. */
export function validateOptions(o: StreamAppOptions): void {
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(o.appId ?? "")) {
    throw new RangeError(
      `Cannot create a stream processor as 'appId' must be 1-200 of [A-Za-z0-9._-]: current value is '${o.appId}'`,
    );
  }
  if (!Array.isArray(o.sources) || o.sources.length === 0) {
    throw new RangeError("Cannot create a stream processor as 'sources' must not be empty");
  }
  const ints: [string, number | undefined, number][] = [
    ["sessionTimeoutMs", o.sessionTimeoutMs, 6_000],
    ["concurrency", o.concurrency, 1],
    ["transactionTimeoutMs", o.transactionTimeoutMs, 1_000],
    ["maxBytesPerPartition", o.maxBytesPerPartition, 1_024],
    ["replicationFactor", o.replicationFactor, 1],
    ["delayBeforeCommitMs", o.delayBeforeCommitMs, 0],
  ];
  for (const [name, v, min] of ints) {
    if (v !== undefined && (!Number.isInteger(v) || v < min)) {
      throw new RangeError(
        `Cannot create a stream processor as '${name}' must be an integer >= ${min}: current value is ${v}`,
      );
    }
  }
  if (o.guarantee !== undefined && !["exactly_once", "at_least_once"].includes(o.guarantee)) {
    throw new RangeError(
      `Cannot create a stream processor as 'guarantee' must be exactly_once or at_least_once: current value is '${o.guarantee}'`,
    );
  }
}
