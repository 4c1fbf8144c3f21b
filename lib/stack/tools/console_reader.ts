/**
 * What is really in a topic, as Kafka's own console consumer reads it — a client other than
 * the project's (kafkajs and the consumers built on it), for the tests and the drills.
 *
 * One JVM reads every partition from the earliest offset in a fresh group `console-<uuid>`.
 * Without transactions it stops once it has as many records as the end offsets at call time
 * span; a transactional topic's markers (and, read_committed, its aborted records) take offsets
 * no record fills, so such a run is ended (SIGTERM) once the positions its group commits every
 * 300 ms reach the end offsets at call time — or when 8 s pass without a record. Neither stop
 * alone proves the read whole — a slow fetch or a broker restart can pause longer than the idle
 * timeout — so each run is checked: the console consumer commits the position it reached on
 * every partition when it closes (its group has auto-commit on, and it seeks back past records
 * it fetched but did not print), and that position must be at least the partition's end offset
 * at call time: the last stable offset read_committed (a transaction open at the call is not
 * waited for), the high watermark read_uncommitted. A run that stopped short of any
 * partition's end is read again with a longer idle timeout; still short after the last, the
 * call throws an error naming the partitions and the offsets reached and due — it never
 * returns a short list. Records written after the call are left out, so the answer is the
 * topic as of the call. The watch costs an admin request every 300 ms, no extra JVM; the run's
 * group is deleted afterwards.
 *
 * @example
 * ```ts
 * import { consoleRecords } from "./console_reader.ts";
 * const records = await consoleRecords("orders.dlq");
 * console.log(records.length, records[0].headers["dlq.error"]);
 * ```
 * @module
 */
import type { Admin, Kafka } from "kafkajs";
import { createKafka, type KafkaClientOptions, kafkaConfigFromEnv } from "../../kafka/mod.ts";
import { bundleClasspath } from "../process/artifacts.ts";
import { sleep } from "../../env/mod.ts";

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
   * Idle timeouts (ms) of the first run and of each run again after a short one. Only the
   * reader's own test lowers them, to make a run end short on purpose.
   * @default [8000, 20000, 45000]
   */
  idleMs?: readonly number[];
}

// Separators no test record contains, so values with tabs, commas or colons parse back whole.
const FIELD = "\u241e";
const HEADER = "\u241f";
const END = "\u2403";

/** Idle timeouts of a read and of the reads again after a short one (ms). */
const IDLE_MS = [8_000, 20_000, 45_000];

/** A partition's offsets at call time: its first offset and the offset a read must reach. */
interface Range {
  low: number;
  end: number;
}

/**
 * Every record of `topic`, read with Kafka's ConsoleConsumer up to the partitions' end offsets
 * at call time (see the module doc for what "end" means and how a whole read is proven).
 * A record written twice is listed twice: count, do not deduplicate.
 * @throws Error when the last run still stopped short of a partition's end offset.
 */
export async function consoleRecords(
  topic: string,
  options: ConsoleRecordsOptions = {},
): Promise<ConsoleRecord[]> {
  const { idleMs = IDLE_MS, readCommitted = false } = options;
  if (idleMs.length === 0 || !idleMs.every((ms) => Number.isInteger(ms) && ms > 0)) {
    throw new Error(
      `Cannot read ${topic} as 'idleMs' must be positive integers: current value is [${idleMs}]`,
    );
  }
  const clientOptions = options.kafka ?? kafkaConfigFromEnv({ clientId: "console-reader" });
  const kafka = createKafka({ ...clientOptions, logLevel: "NOTHING" });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await endOffsets(kafka, admin, topic, readCommitted);
    const span = [...ends.values()].reduce((n, r) => n + r.end - r.low, 0);
    if (span === 0) return [];
    let short: string[] = [];
    for (const idle of idleMs) {
      const group = `console-${crypto.randomUUID()}`;
      const run = { group, span, idleMs: idle, ends, admin };
      const records = await readTopic(topic, run, clientOptions, options);
      const reached = await groupPositions(admin, group, topic);
      // Tidying only: the group's committed offsets have been read.
      await admin.deleteGroups([group]).catch(() => {});
      short = shortOf(ends, reached);
      if (short.length === 0) {
        return records
          .filter((r) => r.offset < ends.get(r.partition)!.end)
          .sort((a, b) => a.partition - b.partition || a.offset - b.offset);
      }
    }
    const isolation = readCommitted ? "read_committed" : "read_uncommitted";
    const tries = `${idleMs.length} run(s) (idle timeouts ${idleMs.join("/")} ms)`;
    throw new Error(
      `console consumer of ${topic} (${isolation}) stopped short in each of ${tries}: ` +
        short.join("; "),
    );
  } finally {
    await admin.disconnect();
  }
}

/**
 * Each partition's first offset and the end a read must reach: the last stable offset
 * read_committed, the high watermark read_uncommitted. kafkajs' admin lists offsets
 * read_committed only, so its `high` is the last stable offset (below the high watermark while
 * a transaction is open).
 */
async function endOffsets(
  kafka: Kafka,
  admin: Admin,
  topic: string,
  readCommitted: boolean,
): Promise<Map<number, Range>> {
  const stable = await admin.fetchTopicOffsets(topic);
  const high = readCommitted
    ? undefined
    : await highWatermarks(kafka, topic, stable.map((p) => p.partition));
  return new Map(stable.map((p) => [
    p.partition,
    { low: Number(p.low), end: high?.get(p.partition) ?? Number(p.high) },
  ]));
}

/** The part of kafkajs' (private) cluster this reader uses. */
interface RawCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  fetchTopicsOffset(
    topics: { topic: string; fromBeginning: boolean; partitions: { partition: number }[] }[],
  ): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
}

/**
 * Each partition's high watermark: ListOffsets read_uncommitted, through a cluster from
 * kafkajs' own factory (the one its consumers get theirs from, made with an isolation level;
 * the admin's has none). kafkajs is pinned (2.2.4), and a missing factory fails loudly.
 */
async function highWatermarks(
  kafka: Kafka,
  topic: string,
  partitions: number[],
): Promise<Map<number, number>> {
  const factory = Object.getOwnPropertySymbols(kafka)
    .find((s) => s.description === "private:Kafka:createCluster");
  if (!factory) throw new Error("kafkajs has no cluster factory: cannot list high watermarks");
  const create = (kafka as unknown as Record<symbol, (o: object) => RawCluster>)[factory];
  const READ_UNCOMMITTED = 0;
  const cluster = create({ allowAutoTopicCreation: false, isolationLevel: READ_UNCOMMITTED });
  await cluster.connect();
  try {
    await cluster.addTargetTopic(topic);
    const [answer] = await cluster.fetchTopicsOffset([
      { topic, fromBeginning: false, partitions: partitions.map((partition) => ({ partition })) },
    ]);
    return new Map(answer.partitions.map((p) => [p.partition, Number(p.offset)]));
  } finally {
    await cluster.disconnect();
  }
}

/** Offsets `group` committed on `topic` (the positions its run reached), by partition. */
async function groupPositions(
  admin: Admin,
  group: string,
  topic: string,
): Promise<Map<number, number>> {
  const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  // -1: nothing committed (the run never had the partition, or closed without committing).
  return new Map(
    committed.partitions.filter((p) => Number(p.offset) >= 0)
      .map((p) => [p.partition, Number(p.offset)]),
  );
}

/** Partitions a run left short of their end, each as "partition P reached R of E (from L)". */
function shortOf(ends: Map<number, Range>, reached: Map<number, number>): string[] {
  const short: string[] = [];
  for (const [partition, { low, end }] of [...ends].sort(([a], [b]) => a - b)) {
    if (end <= low) continue; // nothing to read there
    const at = reached.get(partition);
    if (at === undefined || at < end) {
      short.push(`partition ${partition} reached ${at ?? "nothing"} of ${end} (from ${low})`);
    }
  }
  return short;
}

/**
 * One run of the console consumer: its fresh group, the end offsets' span and the offsets
 * themselves, its idle timeout, and the admin client that watches its group.
 */
interface Run {
  group: string;
  span: number;
  idleMs: number;
  ends: Map<number, Range>;
  admin: Admin;
}

/** How often a run's committed positions are looked at (ms); it commits as often. */
const WATCH_MS = 300;

/** One run of the console consumer over all partitions (a fresh group, from the earliest). */
async function readTopic(
  topic: string,
  { group, span, idleMs, ends, admin }: Run,
  clientOptions: KafkaClientOptions,
  options: ConsoleRecordsOptions,
): Promise<ConsoleRecord[]> {
  const out: ConsoleRecord[] = [];
  {
    const child = new Deno.Command("java", {
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
        group,
        // Its committed offsets are the positions the run reached, which prove it whole and
        // tell when it may stop.
        "--consumer-property",
        "enable.auto.commit=true",
        "--consumer-property",
        `auto.commit.interval.ms=${WATCH_MS}`,
        "--from-beginning",
        // Without transactions it stops at the end offsets' record count; transaction markers
        // take offsets too, so a transactional topic's read is ended by stopAtEnd instead.
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
    }).spawn();
    const exited = child.output();
    await stopAtEnd(child, exited, () => groupPositions(admin, group, topic), ends);
    const run = await exited;
    const text = new TextDecoder().decode(run.stdout);
    const stderr = new TextDecoder().decode(run.stderr);
    // The tool exits 1 when its idle timeout ends the read, 143 when stopped at the end offsets
    // (it reports its count either way); anything else is a failure.
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

/**
 * Ends a run once its group's committed positions reach every partition's end offset: SIGTERM
 * makes the console consumer leave its poll, commit, report its count and exit, so a read of a
 * transactional topic (which no record count ends) takes what it reads, not another idle
 * timeout. A run that never gets there ends at its idle timeout, as before.
 */
async function stopAtEnd(
  child: Deno.ChildProcess,
  exited: Promise<unknown>,
  positions: () => Promise<Map<number, number>>,
  ends: Map<number, Range>,
): Promise<void> {
  let over = false;
  const gone = exited.then(() => (over = true), () => (over = true));
  while (!over) {
    await Promise.race([sleep(WATCH_MS), gone]);
    if (over) return;
    const reached = await positions().catch(() => new Map<number, number>());
    if (shortOf(ends, reached).length === 0) {
      try {
        child.kill("SIGTERM");
      } catch { /* exited meanwhile */ }
      return;
    }
  }
}
