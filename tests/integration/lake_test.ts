/**
 * The lake sink on the real stack: 500,000 order events into Kafka while the sink is killed
 * with SIGKILL three times — once from outside at a moment of the test's choosing, once right
 * after a file's rename and before its offset commit, once after a temp file is written and
 * before its rename — then drained. DuckDB and pyarrow (readers no one here wrote) must find
 * every valid event in Parquet exactly once, in the right partition folders, with the
 * columns typed by the event schema; every invalid event in the DLQ and none in Parquet.
 */
import assert from "node:assert/strict";
import { DLQ_HEADERS, dlqTopic, ensureTopic } from "../../lib/kafka/mod.ts";
import { produceOrders, verifyLakeTopic, WebHdfs } from "../../lib/lake/mod.ts";
import { eventually, TEST_ENV, testKafka, testStack, unique } from "../_stack.ts";
import { consoleRecords } from "../_console.ts";

const INVALID_EVERY = 1000;
/**
 * Events of the drill. The floor keeps it meaningful: at least 20 invalid events for the DLQ
 * and, with LAKE_ROLL_RECORDS at 1000, several files per partition for the three kills.
 */
const EVENTS = Math.max(20 * INVALID_EVERY, Number(Deno.env.get("LAKE_TEST_EVENTS") ?? 500_000));
const ROOT = "/lake/raw";

function startSink(
  topic: string,
  group: string,
  extra: Record<string, string> = {},
  drain = false,
) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../../tasks/lake/sink.ts", import.meta.url).pathname,
      ...(drain ? ["--drain"] : []),
    ],
    env: {
      ...TEST_ENV,
      LAKE_TOPICS: `${topic}=order`,
      LAKE_GROUP_ID: group,
      LAKE_ROLL_RECORDS: String(Math.max(1000, Math.floor(EVENTS / 25))),
      LAKE_ROLL_INTERVAL_MS: "5000",
      LAKE_METRICS_PORT: "0",
      KAFKAJS_LOG_LEVEL: "ERROR",
      ...extra,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()])
    .then(([o, e]) => o + e);
  return { child, out };
}

/** Exit status of a sink run, failing the test (and killing the run) after `ms`. */
async function exited(sink: ReturnType<typeof startSink>, what: string, ms = 240_000) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(async () => {
      sink.child.kill("SIGKILL");
      reject(
        new Error(`${what}: no exit after ${ms} ms. Output:\n${(await sink.out).slice(-3000)}`),
      );
    }, ms);
  });
  try {
    return await Promise.race([sink.child.status, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function committedFiles(hdfs: WebHdfs, topic: string): Promise<number> {
  return (await hdfs.walk(`${ROOT}/${topic}`)).filter((f) => !f.path.includes("/_tmp/")).length;
}

/**
 * The dead letters as Kafka's console consumer lists them — a list, not a set: a dead letter
 * written twice (after a kill) is two entries.
 */
async function deadLetters(topic: string): Promise<[number, number][]> {
  const dead = await consoleRecords(dlqTopic(topic));
  for (const d of dead) assert.match(d.headers[DLQ_HEADERS.error], /total_price/);
  return dead.map((d) => [
    Number(d.headers[DLQ_HEADERS.partition]),
    Number(d.headers[DLQ_HEADERS.offset]),
  ]);
}

Deno.test(`lake sink: ${EVENTS} events, kill -9 three times, every valid event in Parquet exactly once`, async () => {
  await testStack({ hdfs: true });
  const kafka = await testKafka();
  const hdfs = new WebHdfs();
  const topic = unique("lake-orders");
  const group = unique("lake-sink");
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopic(admin, { topic, partitions: 3, replicationFactor: 3 });

  // Events flow in while the sink runs and dies.
  const produced = produceOrders(kafka, topic, EVENTS, {
    invalidEvery: INVALID_EVERY,
    prefix: topic,
  });
  const logs: string[] = [];

  // Kill 1: from outside, once the sink has committed files.
  let sink = startSink(topic, group);
  await eventually(async () => (await committedFiles(hdfs, topic)) >= 2, 180_000, "first files");
  sink.child.kill("SIGKILL");
  assert.equal((await exited(sink, "kill 1")).signal, "SIGKILL");
  logs.push(await sink.out);

  // Kill 2: right after the rename of its 2nd file, before the offset commit.
  sink = startSink(topic, group, { LAKE_CRASH: "after-rename:2" });
  assert.equal((await exited(sink, "kill 2")).signal, "SIGKILL");
  const second = await sink.out;
  logs.push(second);
  assert.match(second, /fault injection: SIGKILL after-rename of file 2/);

  // Kill 3: after the temp file of its 2nd file is written, before the rename. This run
  // starts where kill 2 left a renamed but uncommitted file: it must adopt it, not rewrite it.
  sink = startSink(topic, group, { LAKE_CRASH: "after-temp-write:2" });
  assert.equal((await exited(sink, "kill 3")).signal, "SIGKILL");
  const third = await sink.out;
  logs.push(third);
  assert.match(third, /fault injection: SIGKILL after-temp-write of file 2/);

  const { invalid } = await produced;
  assert.equal(invalid, Math.floor(EVENTS / INVALID_EVERY));

  // The last run cleans the temp file and drains the topic.
  sink = startSink(topic, group, {}, true);
  const status = await exited(sink, "final drain");
  const last = await sink.out;
  logs.push(last);
  assert.equal(status.code, 0, last.slice(-3000));
  assert.match(last, /deleted stale temp file/);
  // The file kill 2 renamed but did not commit was found and skipped, not written again (by
  // run 3, or by this run when run 3 died before reaching that partition).
  assert.match(
    third + last,
    /are already in HDFS; skipping them/,
    "renamed, uncommitted file adopted",
  );

  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const dlq = await deadLetters(topic);
  const once = new Set(dlq.map(([p, o]) => `${p}/${o}`));
  assert.equal(once.size, invalid, "every invalid event is in the DLQ");
  assert.equal(dlq.length, invalid, `no dead letter twice (${dlq.length - once.size} duplicates)`);

  const report = await verifyLakeTopic(hdfs, ROOT, topic, dlq);
  const valid = EVENTS - invalid;
  assert.equal(
    report.rows,
    valid,
    `rows in Parquet (logs: ${logs.map((l) => l.slice(-800)).join("\n---\n")})`,
  );
  assert.equal(report.distinct_offsets, valid, "no record twice");
  assert.equal(report.distinct_order_ids, valid, "no event twice");
  assert.equal(report.dlq_in_parquet, 0, "no invalid record in Parquet");
  assert.equal(report.wrong_folder, 0, "every row in the dt/hour folder of its Kafka timestamp");
  assert.equal(report.range_gaps_or_overlaps, 0, "file names cover each partition's offsets once");
  assert.deepEqual(report.bad_files, []);
  for (const e of ends) {
    assert.equal(
      report.file_ranges_end[String(e.partition)],
      Number(e.high) - 1,
      `partition ${e.partition} written to its end`,
    );
    const p = report.partitions[String(e.partition)];
    const deadHere = dlq.filter(([part]) => part === e.partition).length;
    assert.equal(p.min, 0);
    assert.equal(
      p.rows + deadHere,
      Number(e.high),
      `partition ${e.partition}: Parquet + DLQ = all offsets`,
    );
  }
  assert.deepEqual(
    {
      order_id: report.duckdb_types.order_id,
      items: report.duckdb_types.items,
      total_price: report.duckdb_types.total_price,
      created_at: report.duckdb_types.created_at,
      _partition: report.duckdb_types._partition,
      _offset: report.duckdb_types._offset,
    },
    {
      order_id: "VARCHAR",
      items: "VARCHAR",
      total_price: "DOUBLE",
      created_at: "TIMESTAMP WITH TIME ZONE",
      _partition: "INTEGER",
      _offset: "BIGINT",
    },
  );
  assert.equal(report.pyarrow_types.created_at, "timestamp[ms, tz=UTC]");
  assert.equal(report.pyarrow_types.total_price, "double");
  assert.equal(report.pyarrow_types.status, "string");
  assert.equal(report.pyarrow_types._offset, "int64");
  await hdfs.delete(`${ROOT}/${topic}`, { recursive: true });
});
