/**
 * Kafka Connect on the real stack: the extra task's masked source, practice 5's Debezium CDC,
 * a worker crash in the middle of a stream, a refused config, and monitoring (alert rules
 * with promtool, every dashboard query against the live Prometheus). The file brings Connect
 * and monitoring up once and, at the end, stops what it started (the shared test stack is
 * left as found).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import type { Kafka } from "kafkajs";
import type pg from "pg";
import { ConnectClient, sourceTaskMetrics } from "../../lib/connect/client.ts";
import { jdbcSinkConfig } from "../../lib/connect/sink.ts";
import { dropSlotWhenIdle, withClient } from "../../lib/connect/postgres.ts";
import { extraSourceConfig } from "../../lib/course/extra/connector.ts";
import { loadUsers, setupUsers } from "../../lib/course/extra/users.ts";
import {
  type ChangeEvent,
  decodeChangeEvent,
  initPractice5,
  loadPractice5,
  localizeConnector,
  readConnectorFile,
} from "../../lib/course/practice5/cdc.ts";
import { prometheusBinary, Stack } from "../../lib/stack/mod.ts";
import { PROJECT_ROOT } from "../../lib/env/paths.ts";
import { readTopicUntil, type TopicRecord } from "../../lib/kafka/mod.ts";
import { eventually, runTask, TEST_ENV, testKafka, testStack, unique } from "../_stack.ts";
import { consoleRecords } from "../_console.ts";
import { sleep } from "../../lib/env/mod.ts";

const saved = await Stack.load(TEST_ENV.STACK_DIR);
const before = { connect: saved.options.connect, monitoring: saved.options.monitoring };
let stackPromise: Promise<Stack> | undefined;
/** The test stack with Connect and monitoring (started once for this file). */
const stackUp = () => (stackPromise ??= testStack({ connect: true, monitoring: true }));

const slotOf = (name: string) => name.replace(/[^a-z0-9]/g, "_").slice(0, 50);

/** Reads a topic from the beginning, to its end, until `done(values)` holds; the values. */
async function collect(
  kafka: Kafka,
  topic: string,
  done: (values: string[]) => boolean,
  timeoutMs = 120_000,
): Promise<string[]> {
  await eventually(() => topicExists(kafka, topic), timeoutMs, `topic ${topic}`);
  const values = (rs: TopicRecord[]) => rs.flatMap((r) => r.value ? [r.value.toString()] : []);
  const records = await readTopicUntil(kafka, {
    topics: [topic],
    until: (rs) => done(values(rs)),
    what: `expected records on ${topic}`,
    timeoutMs,
  });
  return values(records);
}

async function topicExists(kafka: Kafka, topic: string): Promise<boolean> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.listTopics()).includes(topic);
  } finally {
    await admin.disconnect();
  }
}

async function cleanup(connect: ConnectClient, name: string, dbUrl: string) {
  await connect.delete(name).catch(() => {});
  await dropSlotWhenIdle(dbUrl, slotOf(name)).catch(() => {});
}

Deno.test("extra task: inserted and updated users reach the topic with private_info = CENSORED", async () => {
  const stack = await stackUp();
  const connect = new ConnectClient({ url: stack.connect!.url() });
  const kafka = await testKafka("connect-test");
  const name = unique("extra-src");
  const db = slotOf(unique("extra_db"));
  const url = await setupUsers({ url: stack.postgres!.url(), database: db });
  const topic = `postgresql-jdbc-bulk-users-${name}`;
  try {
    await loadUsers({ url, rows: 50 });
    await connect.putConfig(
      name,
      extraSourceConfig({
        url,
        topic,
        slot: slotOf(name),
        batchMaxRows: 500,
        batchSize: 65_536,
        lingerMs: 10,
        compression: "gzip", // kafkajs reads gzip; snappy and lz4 need codecs it lacks
      }),
    );
    await connect.waitRunning(name);
    // Rows written while the connector streams: new ones and changed ones.
    await eventually(() => topicExists(kafka, topic), 60_000, `topic ${topic}`);
    await loadUsers({ url, rows: 10 }); // ids 51..60
    await withClient(url, (c) =>
      c.query(
        "UPDATE users SET name = 'Renamed_' || id, private_info = 'new secret', updated_at = now() WHERE id IN (7, 55)",
      ));
    const values = await collect(kafka, topic, (vs) => {
      const rows = vs.map((v) => JSON.parse(v));
      const ids = new Set(rows.map((r) => r.id));
      return ids.size === 60 &&
        rows.filter((r) => String(r.name).startsWith("Renamed_")).length === 2;
    });
    const rows = values.map((v) => JSON.parse(v));
    assert.deepEqual(
      new Set(rows.map((r) => r.id)),
      new Set(Array.from({ length: 60 }, (_, i) => i + 1)),
    );
    for (const r of rows) {
      assert.equal(r.private_info, "CENSORED", `private_info of user ${r.id} must be masked`);
      assert.deepEqual(Object.keys(r).sort(), ["id", "name", "private_info", "updated_at"]);
    }
    const renamed = rows.filter((r) => String(r.name).startsWith("Renamed_"));
    assert.deepEqual(renamed.map((r) => [r.id, r.name]).sort(), [[55, "Renamed_55"], [
      7,
      "Renamed_7",
    ]]);
    // The update carries the new updated_at (later than the row's first version).
    const first7 = rows.find((r) => r.id === 7 && r.name !== "Renamed_7");
    assert.ok(renamed.find((r) => r.id === 7).updated_at > first7.updated_at);
    // Connect's own metrics counted what it wrote.
    const m = await sourceTaskMetrics(`http://127.0.0.1:${stack.connect!.jmxPort}/metrics`, name);
    assert.ok(m.writeTotal >= 62, `source-record-write-total ${m.writeTotal} >= 62`);
  } finally {
    await cleanup(connect, name, url);
    await withClient(
      stack.postgres!.url(),
      (c) => c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`),
    )
      .catch(() => {});
  }
});

Deno.test("extra:connector refuses a bad config and shows Connect's error; bad flags name the flag", async () => {
  await stackUp();
  const bad = await runTask("extra:connector", ["--name", unique("bad"), "--password", "wrong"]);
  assert.equal(bad.code, 1);
  assert.match(
    bad.stderr,
    /Kafka Connect refused PUT \/connectors\/bad-[^/]+\/config \(HTTP 400\)/,
  );
  assert.match(bad.stderr, /password authentication failed for user "practicum"/);
  const connect = new ConnectClient();
  assert.ok(!(await connect.connectors()).some((n) => n.startsWith("bad-")), "nothing registered");
  const flag = await runTask("extra:connector", ["--compression", "brotli"]);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /--compression .* current value is 'brotli'/);
});

Deno.test("practice 5: Debezium events for insert, update and delete on users and orders carry the right before/after", async () => {
  const stack = await stackUp();
  const connect = new ConnectClient({ url: stack.connect!.url() });
  const kafka = await testKafka("connect-test");
  const name = unique("p5");
  const db = slotOf(unique("p5_db"));
  const url = await initPractice5(stack.postgres!.url(), db);
  const prefix = slotOf(name);
  const def = localizeConnector(await readConnectorFile(), url, {
    "slot.name": slotOf(name),
    "publication.name": `${slotOf(name)}_pub`,
    "topic.prefix": prefix,
  });
  try {
    await connect.putConfig(name, def.config);
    await connect.waitRunning(name);
    const report = await loadPractice5({ url, users: 3, ordersPerUser: 2, updates: 1, deletes: 1 });
    const goneUser = report.userIds[2];
    await withClient(url, (c) => c.query("DELETE FROM users WHERE id = $1", [goneUser]));
    const decode = (vs: string[]) => vs.map((v) => decodeChangeEvent(v));
    const users = decode(await collect(kafka, `${prefix}.public.users`, (vs) => vs.length >= 5));
    const orders = decode(await collect(kafka, `${prefix}.public.orders`, (vs) => vs.length >= 9));
    const ops = (es: ChangeEvent[]) => es.map((e) => e.op).join("");
    assert.equal(ops(users), "cccud");
    // orders: 6 creates, the update of order 1, the delete of the last order, then the cascade
    // of the deleted user's remaining order.
    assert.equal(ops(orders), "ccccccudd");
    const [u1] = report.updatedUserIds;
    const upd = users.find((e) => e.op === "u")!;
    assert.equal(upd.before!.id, u1);
    assert.equal(upd.after!.email, `updated-${upd.before!.email}`);
    assert.equal(upd.after!.name, upd.before!.name);
    const del = users.find((e) => e.op === "d")!;
    assert.equal(del.after, null);
    assert.equal(
      del.before!.id,
      goneUser,
      "delete carries the whole old row (REPLICA IDENTITY FULL)",
    );
    assert.match(String(del.before!.email), /^user-/);
    for (const e of users.filter((e) => e.op === "c")) assert.equal(e.before, null);
    const oupd = orders.find((e) => e.op === "u")!;
    assert.deepEqual([oupd.before!.quantity, oupd.after!.quantity], [1, 101]);
    assert.equal(oupd.before!.product_name, oupd.after!.product_name);
    const odel = orders.filter((e) => e.op === "d");
    assert.deepEqual(odel.map((e) => e.before!.id), [
      report.deletedOrderIds[0],
      report.orderIds[4],
    ]);
    assert.ok(odel.every((e) => e.after === null && e.before!.user_id !== undefined));
    assert.ok(users.every((e) => e.table === "users") && orders.every((e) => e.table === "orders"));
  } finally {
    await cleanup(connect, name, url);
    await withClient(
      stack.postgres!.url(),
      (c) => c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`),
    )
      .catch(() => {});
  }
});

/**
 * Writes a CDC drill's changes, one autocommit transaction (hence one LSN) each: an insert per
 * step, an update every 5th and a delete every 7th, and keeps each row's final state — its
 * name, or null once deleted — as acknowledged by PostgreSQL.
 */
class ChangeWriter {
  readonly inserted: number[] = [];
  readonly final = new Map<number, string | null>();
  updates = 0;
  deletes = 0;
  #i = 0;
  constructor(readonly label: string) {}
  async step(c: pg.Client): Promise<void> {
    const i = this.#i++;
    const r = await c.query(
      "INSERT INTO users (name, email) VALUES ($1, $2) RETURNING id",
      [`${this.label} ${i}`, `${this.label}-${i}@example.com`],
    );
    this.inserted.push(r.rows[0].id);
    this.final.set(r.rows[0].id, `${this.label} ${i}`);
    const live = [...this.final].filter(([, v]) => v !== null).map(([id]) => id);
    if (i % 5 === 4) {
      const id = live[Math.floor(live.length / 2)];
      await c.query("UPDATE users SET name = $1 WHERE id = $2", [`updated ${i}`, id]);
      this.final.set(id, `updated ${i}`);
      this.updates++;
    }
    if (i % 7 === 6) {
      await c.query("DELETE FROM users WHERE id = $1", [live[0]]);
      this.final.set(live[0], null);
      this.deletes++;
    }
  }
}

/** Each row's change events in LSN order. */
function eventsByRow(events: ChangeEvent[]): Map<number, ChangeEvent[]> {
  const rows = new Map<number, ChangeEvent[]>();
  for (const e of [...events].sort((a, b) => a.lsn! - b.lsn!)) {
    const id = Number((e.after ?? e.before)!.id);
    rows.set(id, [...(rows.get(id) ?? []), e]);
  }
  return rows;
}

/** Rows whose last event is not their final state (name, or null once deleted), described. */
function rowsBehind(events: ChangeEvent[], final: Map<number, string | null>): string[] {
  const rows = eventsByRow(events);
  return [...final].flatMap(([id, state]) => {
    const last = rows.get(id)?.at(-1);
    const ok = state === null ? last?.op === "d" : last?.after?.name === state;
    return ok ? [] : [
      `${id}: ${state ?? "deleted"} ≠ ${last ? `${last.op} ${last.after?.name}` : "none"}`,
    ];
  });
}

/** Reads a CDC topic until every row's last event is its final state; the events. */
async function collectUntilFinal(
  kafka: Kafka,
  topic: string,
  final: Map<number, string | null>,
): Promise<ChangeEvent[]> {
  let latest: string[] = [];
  const values = await collect(
    kafka,
    topic,
    (vs) => rowsBehind((latest = vs).map((v) => decodeChangeEvent(v)), final).length === 0,
    180_000,
  ).catch((err) => {
    const left = rowsBehind(latest.map((v) => decodeChangeEvent(v)), final);
    throw new Error(`${err.message}; ${left.length} rows behind: ${left.slice(0, 8).join("; ")}`);
  });
  return values.map((v) => decodeChangeEvent(v));
}

/**
 * At-least-once replay: a restarted task resumes from its last flushed offset, so duplicates,
 * if any, are exact copies of one contiguous range of changes — nothing inside it seen once.
 * Asserts that, and that the stream was not snapshotted again; returns how many changes came
 * twice.
 */
function assertOneReplayedRange(events: ChangeEvent[]): number {
  assert.ok(events.every((e) => typeof e.lsn === "number"), "every event carries source.lsn");
  assert.deepEqual(
    events.filter((e) => e.op === "r").map((e) => e.after!.id),
    [],
    "the restarted task resumed the stream from its offset (no new snapshot)",
  );
  const seen = new Map<number, string[]>();
  for (const e of events) {
    seen.set(e.lsn!, [...(seen.get(e.lsn!) ?? []), JSON.stringify([e.op, e.before, e.after])]);
  }
  const twice = [...seen].filter(([, copies]) => copies.length > 1);
  for (const [lsn, copies] of twice) {
    assert.ok(copies.every((c) => c === copies[0]), `LSN ${lsn}: copies differ`);
  }
  const lsns = twice.map(([lsn]) => lsn);
  const inside = [...seen].filter(([lsn]) =>
    lsns.length > 0 && lsn >= Math.min(...lsns) && lsn <= Math.max(...lsns)
  );
  assert.deepEqual(
    inside.filter(([, copies]) => copies.length === 1).map(([lsn]) => lsn),
    [],
    "the duplicates form one replayed range",
  );
  return twice.length;
}

/**
 * Waits until the connector has committed a streaming position (Connect's stored source
 * offset, flushed every second). Killed before that, the task restarts with no offset and
 * snapshot.mode=initial takes a fresh snapshot: `r` reads of the rows that exist, where a
 * deleted row is merely absent — no `d` event — so a crash that early tests the snapshot, not
 * the replay of the stream.
 */
async function streamingOffsetCommitted(workerUrl: string, name: string): Promise<boolean> {
  const res = await fetch(`${workerUrl}/connectors/${name}/offsets`);
  if (!res.ok) {
    await res.body?.cancel();
    return false;
  }
  const { offsets } = await res.json() as { offsets: { offset: Record<string, unknown> }[] };
  return offsets.some(({ offset }) => "lsn_proc" in offset && !("snapshot" in offset));
}

/**
 * Practice 5's connector on a database of its own, for one CDC crash drill, with the writer of
 * the drill's changes.
 */
async function cdcDrill(stack: Stack, label: string) {
  const connect = new ConnectClient({ url: stack.connect!.url() });
  const name = unique(`p5-${label}`);
  const db = slotOf(unique(`${label}_db`));
  const url = await initPractice5(stack.postgres!.url(), db);
  const prefix = slotOf(name);
  const def = localizeConnector(await readConnectorFile(), url, {
    "slot.name": slotOf(name),
    "publication.name": `${slotOf(name)}_pub`,
    "topic.prefix": prefix,
  });
  return {
    connect,
    name,
    url,
    topic: `${prefix}.public.users`,
    changes: new ChangeWriter(label),
    start: async () => {
      await connect.putConfig(name, def.config);
      await connect.waitRunning(name);
    },
    /** Deletes the connector, its slot and its database. */
    dispose: async () => {
      await cleanup(connect, name, url);
      await withClient(
        stack.postgres!.url(),
        (c) => c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`),
      ).catch(() => {});
    },
  };
}

Deno.test("a Connect worker killed (SIGKILL) mid-stream of inserts, updates and deletes: nothing lost, every row's last event is its final state, duplicates only as one replayed range", async () => {
  const stack = await stackUp();
  const worker = stack.connect!;
  const kafka = await testKafka("connect-test");
  const drill = await cdcDrill(stack, "crash");
  const { connect, name, url, changes } = drill;
  const { inserted, final } = changes;
  let writing = true;
  try {
    await drill.start();
    const writer = withClient(url, async (c) => {
      while (writing) {
        await changes.step(c);
        await sleep(20);
      }
    });
    await eventually(
      async () =>
        inserted.length >= 30 && changes.deletes > 0 &&
        await streamingOffsetCommitted(worker.url(), name),
      60_000,
      "rows before the crash and a committed streaming offset",
    );
    await worker.stop({ hard: true });
    const atCrash = inserted.length;
    await sleep(2000);
    writing = false;
    await writer;
    assert.ok(inserted.length > atCrash, "rows were written while the worker was down");
    await worker.start();
    await connect.waitRunning(name, 180_000);
    const events = await collectUntilFinal(kafka, drill.topic, final);
    const ids = new Set(events.map((e) => Number((e.after ?? e.before)!.id)));
    assert.deepEqual(inserted.filter((id) => !ids.has(id)), [], "no inserted row is missing");
    const twice = assertOneReplayedRange(events);
    console.log(
      `worker kill: ${inserted.length} inserts, ${changes.updates} updates, ` +
        `${changes.deletes} deletes, ${events.length} events, ${twice} changes delivered twice`,
    );
    assert.ok(changes.updates > 0 && changes.deletes > 0, "the stream held updates and deletes");
  } finally {
    writing = false;
    if (worker.pid() === undefined) await worker.start();
    await drill.dispose();
  }
});

Deno.test("PostgreSQL killed (SIGKILL, every process) during CDC: the connector resumes by itself, nothing committed is lost, every row's last event is its final state", async () => {
  const stack = await stackUp();
  const postgres = stack.postgres!;
  const kafka = await testKafka("connect-test");
  const drill = await cdcDrill(stack, "pgkill");
  const { connect, name, url, changes } = drill;
  let writing = true;
  let refused = 0;
  try {
    await drill.start();
    // The application keeps writing: while the server is down its statements fail and it
    // reconnects, as a service with a connection pool would.
    const writer = (async () => {
      while (writing) {
        await withClient(url, async (c) => {
          while (writing) {
            await changes.step(c);
            await sleep(20);
          }
        }).catch(() => refused++);
        if (writing) await sleep(300);
      }
    })();
    await eventually(
      async () =>
        changes.inserted.length >= 30 && changes.deletes > 0 &&
        await streamingOffsetCommitted(stack.connect!.url(), name),
      60_000,
      "rows before the crash and a committed streaming offset",
    );
    await postgres.stop({ hard: true });
    const atCrash = changes.inserted.length;
    await sleep(2000);
    await postgres.start();
    await eventually(
      () => changes.inserted.length >= atCrash + 30,
      60_000,
      "the application writing again after the restart",
    );
    writing = false;
    await writer;
    assert.ok(refused > 0, "the crash cut the application's connection");
    // Debezium retries a lost connection inside its task; a task that gave up is FAILED here,
    // with its stack trace, and nobody restarts it.
    await connect.waitRunning(name, 120_000);
    // The truth is what PostgreSQL holds after crash recovery: a statement in flight at the
    // kill may have committed or not, whatever the application was told.
    const rows = await withClient(url, (c) => c.query("SELECT id, name FROM users"));
    const present = new Map<number, string>(rows.rows.map((r) => [Number(r.id), r.name]));
    const final = new Map<number, string | null>();
    for (const id of [...changes.final.keys(), ...present.keys()]) {
      final.set(id, present.get(id) ?? null);
    }
    const gone = changes.inserted.filter((id) => !present.has(id)).length;
    assert.equal(gone, [...final.values()].filter((v) => v === null).length);
    const events = await collectUntilFinal(kafka, drill.topic, final);
    const ids = new Set(events.map((e) => Number((e.after ?? e.before)!.id)));
    assert.deepEqual(
      [...final.keys()].filter((id) => !ids.has(id)),
      [],
      "no committed row is missing",
    );
    const twice = assertOneReplayedRange(events);
    const status = await connect.status(name);
    assert.deepEqual(
      [status.connector.state, ...status.tasks.map((t) => t.state)],
      ["RUNNING", "RUNNING"],
      `the connector and its task run without a restart by hand: ${
        JSON.stringify(status).slice(0, 1500)
      }`,
    );
    console.log(
      `PostgreSQL kill: ${changes.inserted.length} inserts (${atCrash} before the kill), ` +
        `${changes.updates} updates, ${changes.deletes} deletes, ${refused} connections cut or ` +
        `refused, ${events.length} events, ${twice} changes delivered twice`,
    );
  } finally {
    writing = false;
    if ((await postgres.status())[0].state !== "running") await postgres.start();
    await drill.dispose();
  }
});

Deno.test("Debezium's JDBC sink upserts a topic into a PostgreSQL table; a poison record goes to its DLQ and the rest flows", async () => {
  const stack = await stackUp();
  const connect = new ConnectClient({ url: stack.connect!.url() });
  const kafka = await testKafka("connect-test");
  const name = unique("jdbc-sink");
  const topic = `${name}-products`;
  const table = slotOf(name);
  const url = stack.postgres!.url();
  const keySchema = { type: "struct", fields: [{ field: "id", type: "int32", optional: false }] };
  const valueSchema = {
    type: "struct",
    fields: [
      { field: "id", type: "int32", optional: false },
      { field: "name", type: "string", optional: true },
      { field: "price", type: "double", optional: true },
    ],
  };
  const record = (id: number, name: string, price: number) => ({
    key: JSON.stringify({ schema: keySchema, payload: { id } }),
    value: JSON.stringify({ schema: valueSchema, payload: { id, name, price } }),
  });
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({
      topic,
      messages: [record(1, "tea", 1.5), record(2, "coffee", 3), record(3, "milk", 0.9)],
    });
    // A record the worker cannot convert, then an update that must still arrive.
    await producer.send({
      topic,
      messages: [{ key: record(4, "", 0).key, value: "{not json" }, record(2, "coffee (new)", 3.5)],
    });
    const dlq = `${topic}.dlq`;
    await connect.putConfig(
      name,
      jdbcSinkConfig({
        url,
        topics: [topic],
        table,
        deadLetterTopic: dlq,
        deadLetterReplicationFactor: 3,
      }),
    );
    await connect.waitRunning(name);
    const rows = await eventually(
      async () => {
        const r = await withClient(
          url,
          (c) => c.query(`select id, name, price from ${table} order by id`),
        )
          .catch(() => undefined);
        return r && r.rows.length === 3 && r.rows[1].name === "coffee (new)" ? r.rows : undefined;
      },
      90_000,
      `rows in ${table}`,
    );
    assert.deepEqual(rows, [
      { id: 1, name: "tea", price: 1.5 },
      { id: 2, name: "coffee (new)", price: 3.5 },
      { id: 3, name: "milk", price: 0.9 },
    ]);
    // The DLQ, read by Kafka's console consumer: the poison record once, with Connect's context.
    const dead = await eventually(
      async () => (await topicExists(kafka, dlq)) ? await consoleRecords(dlq) : undefined,
      60_000,
      `records in ${dlq}`,
    );
    assert.equal(dead.length, 1, JSON.stringify(dead));
    assert.equal(dead[0].value, "{not json");
    assert.equal(dead[0].headers["__connect.errors.topic"], topic);
    assert.equal(dead[0].headers["__connect.errors.offset"], "3");
    assert.equal(dead[0].headers["__connect.errors.stage"], "VALUE_CONVERTER");
    assert.match(dead[0].headers["__connect.errors.exception.class.name"], /DataException/);
    assert.equal((await connect.status(name)).tasks[0].state, "RUNNING");
  } finally {
    await producer.disconnect();
    await connect.delete(name).catch(() => {});
    await withClient(url, (c) => c.query(`drop table if exists ${table}`)).catch(() => {});
  }
});

Deno.test("promtool: the alert rules are valid, fire on their conditions, and the stack's config passes", async () => {
  const stack = await stackUp();
  const promtool = await prometheusBinary("promtool");
  const run = async (args: string[], cwd = join(PROJECT_ROOT, "compose/prometheus")) => {
    const out = await new Deno.Command(promtool, { args, cwd }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text);
    return text;
  };
  // promtool loads every rule the file declares (the count read from the YAML, not written here).
  const declared = (parseYaml(
    await Deno.readTextFile(join(PROJECT_ROOT, "compose/prometheus/alerts.yml")),
  ) as { groups: { rules: unknown[] }[] }).groups.flatMap((g) => g.rules).length;
  assert.ok(declared >= 6, `${declared} rules in alerts.yml`);
  assert.match(
    await run(["check", "rules", "alerts.yml"]),
    new RegExp(`SUCCESS: ${declared} rules found`),
  );
  assert.match(await run(["test", "rules", "alerts_test.yml"]), /SUCCESS/);
  await run(["check", "config", stack.prometheus!.config]);
  // The live Prometheus loaded the same rules.
  const rules = await (await fetch(`${stack.prometheus!.url()}/api/v1/rules`)).json();
  const names = rules.data.groups.flatMap((g: { rules: { name: string; health: string }[] }) =>
    g.rules.map((r) => `${r.name}:${r.health}`)
  );
  for (
    const alert of [
      "KafkaUnderReplicatedPartitions",
      "KafkaOfflinePartitions",
      "KafkaConnectTaskFailed",
      "KafkaConsumerLag",
    ]
  ) {
    assert.ok(names.includes(`${alert}:ok`), `${alert} loaded and evaluating: ${names}`);
  }
  // Prometheus found the stack's Alertmanager, which answers.
  const am = await eventually(
    async () => {
      const r = await (await fetch(`${stack.prometheus!.url()}/api/v1/alertmanagers`)).json();
      return r.data.activeAlertmanagers.length > 0 ? r.data.activeAlertmanagers : undefined;
    },
    30_000,
    "an active Alertmanager",
  );
  assert.match(am[0].url, new RegExp(`127\\.0\\.0\\.1:${stack.alertmanager!.port}/api/v2/alerts`));
  assert.equal((await fetch(`${stack.alertmanager!.url()}/-/ready`)).status, 200);
  // The generated config reaches the live Prometheus: it scrapes the brokers and the Connect
  // worker of this stack, and they answer.
  const health = await eventually(
    async () => {
      const r = await (await fetch(`${stack.prometheus!.url()}/api/v1/targets`)).json();
      const active: { labels: { job: string }; health: string; scrapeUrl: string }[] =
        r.data.activeTargets;
      const up = (job: string) => active.filter((t) => t.labels.job === job && t.health === "up");
      return up("kafka").length >= 1 && up("connect").length === 1 ? active : undefined;
    },
    60_000,
    "the kafka and connect scrape targets up",
  );
  assert.ok(
    health.some((t) => t.scrapeUrl.includes(`:${stack.connect!.jmxPort}/`)),
    JSON.stringify(health.map((t) => t.scrapeUrl)),
  );
});

Deno.test("every Grafana panel's PromQL returns data from the live stack", async () => {
  const stack = await stackUp();
  const connect = new ConnectClient({ url: stack.connect!.url() });
  const kafka = await testKafka("connect-test");
  const prom = stack.prometheus!.url();
  // Something for every panel: a running source connector, a consumer group with lag.
  const name = unique("dash-src");
  const db = slotOf(unique("dash_db"));
  const url = await setupUsers({ url: stack.postgres!.url(), database: db });
  const topic = `postgresql-jdbc-bulk-users-${name}`;
  const group = unique("dash-group");
  try {
    await loadUsers({ url, rows: 200 });
    await connect.putConfig(name, extraSourceConfig({ url, topic, slot: slotOf(name) }));
    await connect.waitRunning(name);
    await eventually(() => topicExists(kafka, topic), 60_000, `topic ${topic}`);
    const admin = kafka.admin();
    await admin.connect();
    await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: "0" }] });
    await admin.disconnect();

    const queries: { file: string; title: string; expr: string }[] = [];
    const dir = join(PROJECT_ROOT, "compose/grafana/dashboards");
    for await (const f of Deno.readDir(dir)) {
      // The platform's dashboards (final-*.json) need the platform running: checked by
      // tests/integration/final_monitoring_test.ts.
      if (!f.name.endsWith(".json") || f.name.startsWith("final-")) continue;
      const dash = JSON.parse(await Deno.readTextFile(join(dir, f.name)));
      for (const p of dash.panels ?? []) {
        for (const t of p.targets ?? []) {
          queries.push({ file: f.name, title: p.title, expr: t.expr });
        }
      }
    }
    assert.ok(queries.some((q) => q.file === "connect.json"), "connect.json has panels");
    assert.ok(queries.length >= 10, `${queries.length} panel queries`);
    const empty = async () => {
      const out: string[] = [];
      for (const q of queries) {
        const expr = q.expr.replaceAll("$__rate_interval", "30s").replaceAll("$__range", "5m");
        const res = await fetch(`${prom}/api/v1/query?query=${encodeURIComponent(expr)}`);
        const body = await res.json();
        if (body.status !== "success") out.push(`${q.file} "${q.title}": ${body.error}`);
        else if (body.data.result.length === 0) {
          out.push(`${q.file} "${q.title}": no data for ${expr}`);
        }
      }
      return out;
    };
    let last: string[] = [];
    await eventually(
      async () => (last = await empty()).length === 0,
      150_000,
      "data on every panel",
    )
      .catch((err) => {
        throw new Error(`${err.message}\n${last.join("\n")}`);
      });
  } finally {
    await cleanup(connect, name, url);
    await withClient(
      stack.postgres!.url(),
      (c) => c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`),
    )
      .catch(() => {});
  }
});

// Teardown, not a test: runs after the file's tests, pass or fail.
Deno.test.afterAll(async () => {
  if (!stackPromise) return;
  const stack = await stackPromise;
  if (!before.monitoring) {
    for (const s of [stack.lagExporter, stack.prometheus, stack.alertmanager]) await s?.stop();
  }
  if (!before.connect) await stack.connect?.stop();
  await Deno.writeTextFile(
    join(TEST_ENV.STACK_DIR, "stack.json"),
    JSON.stringify({ ...stack.options, ...before }, null, 2) + "\n",
  );
  const endpoints = stack.endpoints();
  if (!before.connect) delete endpoints.connectUrl, delete endpoints.connectMetricsUrl;
  if (!before.monitoring) delete endpoints.prometheusUrl, delete endpoints.alertmanagerUrl;
  await Deno.writeTextFile(
    join(TEST_ENV.STACK_DIR, "endpoints.json"),
    JSON.stringify(endpoints, null, 2) + "\n",
  );
});
