/**
 * Where the platform soak reads what landed, behind one {@linkcode SoakReaders} interface:
 *
 * - {@linkcode fastReaders}: the project's own clients (kafkajs read_committed, node-postgres,
 *   parquet-wasm over WebHDFS) — cheap enough to poll while the platform catches up;
 * - {@linkcode independentReaders}: readers the platform does not use — Kafka's console
 *   consumer (read_committed; cluster A as admin over SASL_SSL), `psql`, DuckDB over a copy of
 *   the lake — for the final reconciliation.
 *
 * @example
 * ```ts
 * import { independentReaders } from "./readers.ts";
 * const readers = independentReaders(stack, postgresUrl, hdfs);
 * console.log((await readers.readA("products")).length);
 * ```
 * @module
 */
import type { Kafka } from "kafkajs";
import { join } from "node:path";
import { psqlRows, withClient, withDatabase } from "../../connect/mod.ts";
import { copyLakeTopic, parseFileName, type WebHdfs } from "../../lake/mod.ts";
import { consoleRecords, PYTHON_PACKAGES, pythonEnv, run, type Stack } from "../../stack/mod.ts";
import { parquetRows } from "../marts.ts";
import { ANALYTICS_DB } from "../topology.ts";
import { readSince } from "../platform/records.ts";

/** A record as the soak compares it. */
export interface SoakRecord {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
}

/** What the soak reads, from wherever. */
export interface SoakReaders {
  name: string;
  /** Every record of a topic of cluster A, read_committed. */
  readA: (topic: string) => Promise<SoakRecord[]>;
  /** Every record of a topic of cluster B, read_committed. */
  readB: (topic: string) => Promise<SoakRecord[]>;
  /** `product_id` and `description` of the PostgreSQL rows of these products. */
  pgRows: (ids: string[]) => Promise<{ product_id: string; description: string }[]>;
  /** The cluster-B `partition:offset` of every lake row of a topic. */
  lakeOffsets: (topic: string) => Promise<string[]>;
}

/** The project's own clients: for waiting until the platform caught up. */
export function fastReaders(
  kafkaA: Kafka,
  kafkaB: Kafka,
  postgresUrl: string,
  hdfs: WebHdfs,
): SoakReaders {
  return {
    name: "kafkajs, node-postgres, parquet-wasm",
    readA: (topic) => readSince(kafkaA, { [topic]: {} }, () => true),
    readB: (topic) => readSince(kafkaB, { [topic]: {} }, () => true),
    pgRows: (ids) =>
      withClient(withDatabase(postgresUrl, ANALYTICS_DB), async (c) =>
        (await c.query(
          "select product_id, description from products where product_id = any($1)",
          [ids],
        )).rows),
    lakeOffsets: async (topic) => {
      const out: string[] = [];
      const files = await hdfs.walk(`/lake/raw/${topic}`).catch(() => []);
      for (const f of files) {
        if (f.path.includes("/_tmp/") || !parseFileName(f.path.split("/").pop()!)) continue;
        for (const r of parquetRows(await hdfs.read(f.path)).rows) {
          out.push(`${r._partition}:${r._offset}`);
        }
      }
      return out;
    },
  };
}

/** Readers the platform does not use: console consumer, psql, DuckDB. */
export function independentReaders(
  stack: Stack,
  postgresUrl: string,
  hdfs: WebHdfs,
): SoakReaders {
  const cluster = stack.secureKafka!;
  return {
    name: "Kafka's console consumer, psql, DuckDB",
    readA: (topic) =>
      consoleRecords(topic, {
        kafka: cluster.clientOptions("admin"),
        commandConfig: cluster.secrets().javaClientProperties.admin,
        readCommitted: true,
      }),
    readB: (topic) =>
      consoleRecords(topic, {
        kafka: { brokers: [stack.mirrorKafka!.bootstrap()], clientId: "soak" },
        readCommitted: true,
      }),
    pgRows: async (ids) => {
      const list = ids.map((id) => `'${id.replaceAll("'", "''")}'`).join(",");
      const lines = await psqlRows(
        withDatabase(postgresUrl, ANALYTICS_DB),
        `select product_id || chr(9) || description from products where product_id in (${list})`,
      );
      return lines.map((l) => {
        const [product_id, description] = l.split("\t");
        return { product_id, description };
      });
    },
    lakeOffsets: (topic) => duckDbOffsets(hdfs, topic),
  };
}

const DUCKDB_OFFSETS = `
import duckdb, json, sys
glob = (sys.argv[1] + "/**/*.parquet").replace("'", "''")
rows = duckdb.sql(
    f"select _partition, _offset from read_parquet('{glob}', union_by_name=true)"
).fetchall()
print(json.dumps([f"{p}:{o}" for p, o in rows]))
`;

/** The lake rows' `partition:offset` of a topic, by DuckDB over a local copy of its folder. */
async function duckDbOffsets(hdfs: WebHdfs, topic: string): Promise<string[]> {
  const tmp = await Deno.makeTempDir({ prefix: `soak-lake-${topic}-` });
  try {
    const n = await copyLakeTopic(hdfs, "/lake/raw", topic, join(tmp, "data"));
    if (n === 0) return [];
    const py = await pythonEnv("lake-check", [PYTHON_PACKAGES.pyarrow, PYTHON_PACKAGES.duckdb]);
    const out = await run(py.python, ["-c", DUCKDB_OFFSETS, join(tmp, "data")], {
      what: `DuckDB over the lake of ${topic}`,
    });
    return JSON.parse(out.trim().split("\n").pop()!);
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}
