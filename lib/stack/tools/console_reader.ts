/**
 * What is really in a topic, as Kafka's own console consumer reads it — a client other than
 * the project's (kafkajs and the consumers built on it), for the tests and the drills. One JVM reads every
 * partition from the earliest offset, in a fresh group, until it has as many records as the
 * end offsets at call time span, or until 8 s pass without a record (transaction markers take
 * offsets too: a transactional topic's read always ends that way); a short read is read again
 * with a longer idle timeout.
 *
 * @example
 * ```ts
 * import { consoleRecords } from "./console_reader.ts";
 * const records = await consoleRecords("orders.dlq");
 * console.log(records.length, records[0].headers["dlq.error"]);
 * ```
 * @module
 */
import { createKafka, type KafkaClientOptions, kafkaConfigFromEnv } from "../../kafka/mod.ts";
import { bundleClasspath } from "../process/artifacts.ts";

/** One record as the console consumer printed it. */
export interface ConsoleRecord {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
}

/** Options of {@linkcode consoleRecords}. */
export interface ConsoleRecordsOptions {
  /** Client options of the cluster (bootstrap list). @default the test stack's main cluster */
  kafka?: KafkaClientOptions;
  /** Java client properties file (SASL/TLS settings) for a secure cluster. */
  commandConfig?: string;
  /** Read only committed records of transactional producers. @default false */
  readCommitted?: boolean;
  /**
   * The topic is written in transactions: its markers (and, read_committed, its aborted
   * records) take offsets no record fills, so a whole read ends short of the end offsets by
   * design and only an empty read is read again. Always so with `readCommitted`. @default false
   */
  transactional?: boolean;
}

// Separators no test record contains, so values with tabs, commas or colons parse back whole.
const FIELD = "\u241e";
const HEADER = "\u241f";
const END = "\u2403";

/** Idle timeouts of a read and of the reads again after a short one (ms). */
const IDLE_MS = [8_000, 20_000, 45_000];

/**
 * Every record of `topic`, read with Kafka's ConsoleConsumer up to the partitions' end offsets
 * at call time. A record written twice is listed twice: count, do not deduplicate.
 */
export async function consoleRecords(
  topic: string,
  options: ConsoleRecordsOptions = {},
): Promise<ConsoleRecord[]> {
  const clientOptions = options.kafka ?? kafkaConfigFromEnv({ clientId: "console-reader" });
  const admin = createKafka({ ...clientOptions, logLevel: "NOTHING" }).admin();
  await admin.connect();
  let offsets: { partition: number; low: string; high: string }[];
  try {
    offsets = await admin.fetchTopicOffsets(topic);
  } finally {
    await admin.disconnect();
  }
  const span = offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  if (span === 0) return [];
  let records = await readTopic(topic, span, clientOptions, options, IDLE_MS[0]);
  // A short read (a slow leader right after the topic was created or a broker restarted, a
  // slow start on a loaded machine: the group join alone can outlast the idle timeout) is read
  // again with a longer idle timeout, keeping the longest. Without transactions every offset
  // is a record; transactional reads end short by the markers, and only an empty one is read
  // again.
  const markers = options.readCommitted || options.transactional;
  for (const idleMs of IDLE_MS.slice(1)) {
    const short = markers ? records.length === 0 : records.length < span;
    if (!short) break;
    const again = await readTopic(topic, span, clientOptions, options, idleMs);
    if (again.length > records.length) records = again;
  }
  return records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

/** One run of the console consumer over all partitions (a fresh group, from the earliest). */
async function readTopic(
  topic: string,
  span: number,
  clientOptions: KafkaClientOptions,
  options: ConsoleRecordsOptions,
  idleMs: number,
): Promise<ConsoleRecord[]> {
  const out: ConsoleRecord[] = [];
  {
    const run = await new Deno.Command("java", {
      args: [
        "-Xmx256m",
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-Dlog4j2.level=WARN",
        "-cp",
        await bundleClasspath("kafka"),
        "org.apache.kafka.tools.consumer.ConsoleConsumer",
        "--bootstrap-server",
        clientOptions.brokers.join(","),
        ...(options.commandConfig ? ["--consumer.config", options.commandConfig] : []),
        "--topic",
        topic,
        "--group",
        `console-${crypto.randomUUID()}`,
        "--from-beginning",
        // Without transactions it stops at the end offsets' record count; transaction markers
        // take offsets too, so a transactional topic's read ends at the idle timeout instead.
        "--max-messages",
        String(span),
        "--timeout-ms",
        String(idleMs),
        "--isolation-level",
        options.readCommitted ? "read_committed" : "read_uncommitted",
        ...[
          "print.partition=true",
          "print.offset=true",
          "print.key=true",
          "print.headers=true",
          "print.value=true",
          `key.separator=${FIELD}`,
          `line.separator=${END}\n`,
          `headers.separator=${HEADER}`,
          "null.literal=\u2205",
        ].flatMap((prop) => ["--property", prop]),
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(run.stdout);
    const stderr = new TextDecoder().decode(run.stderr);
    // The tool exits 1 when its idle timeout ends the read; anything else is a failure.
    if (!run.success && !/TimeoutException|Processed a total of/.test(stderr)) {
      throw new Error(`console consumer of ${topic} failed: ${stderr.slice(-2000)}`);
    }
    for (const chunk of text.split(`${END}\n`)) {
      const start = chunk.lastIndexOf("Partition:");
      if (start < 0) continue;
      const fields = chunk.slice(start).split(FIELD);
      if (fields.length < 5) continue;
      const [part, off, headers, key, ...value] = fields;
      const nul = (s: string) => (s === "\u2205" ? null : s);
      out.push({
        partition: Number(part.slice("Partition:".length)),
        offset: Number(off.slice("Offset:".length)),
        key: nul(key),
        value: nul(value.join(FIELD)),
        headers: headers === "NO_HEADERS" ? {} : Object.fromEntries(
          headers.split(HEADER).map((h) => {
            // Key and value are split at the first ':' (no header name here holds one).
            const i = h.indexOf(":");
            return [h.slice(0, i), h.slice(i + 1)];
          }),
        ),
      });
    }
    const total = /Processed a total of (\d+) messages/.exec(stderr);
    if (!total || Number(total[1]) !== out.length) {
      throw new Error(
        `console consumer of ${topic}: parsed ${out.length} records, ` +
          `the tool says: ${total?.[0] ?? stderr.slice(-500)}`,
      );
    }
  }
  return out;
}
