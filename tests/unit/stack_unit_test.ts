import assert from "node:assert/strict";
import { join } from "node:path";
import {
  ChecksumError,
  fetchBundle,
  KafkaCluster,
  nodePorts,
  readLock,
  readPid,
  resolveStackOptions,
  startDetached,
  stopProcess,
} from "../../lib/stack/mod.ts";
import { pollUntil } from "../../lib/env/mod.ts";

Deno.test("node ports follow the seed for node 0 and step by 100", () => {
  assert.deepEqual(nodePorts(9092, 0), { plaintext: 9092, controller: 9093, external: 9094 });
  assert.deepEqual(nodePorts(9092, 2), { plaintext: 9292, controller: 9293, external: 9294 });
  assert.deepEqual(nodePorts(29092, 1), { plaintext: 29192, controller: 29193, external: 29194 });
});

Deno.test("a 3-node cluster: every node is broker+controller with all three voters", () => {
  const c = new KafkaCluster({ dir: "/tmp/x", brokers: 3 });
  assert.equal(c.bootstrap(), "localhost:9094,localhost:9194,localhost:9294");
  const p = c.properties(1);
  assert.equal(p["process.roles"], "broker,controller");
  assert.equal(p["node.id"], "1");
  assert.equal(p["controller.quorum.voters"], "0@127.0.0.1:9093,1@127.0.0.1:9193,2@127.0.0.1:9293");
  assert.equal(
    p["listener.security.protocol.map"],
    "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,EXTERNAL:PLAINTEXT",
  );
  assert.equal(p["advertised.listeners"], "PLAINTEXT://127.0.0.1:9192,EXTERNAL://localhost:9194");
  assert.equal(p["offsets.topic.replication.factor"], "3");
  assert.equal(p["transaction.state.log.min.isr"], "2");
  const one = new KafkaCluster({ dir: "/tmp/x", brokers: 1 }).properties(0);
  assert.equal(one["offsets.topic.replication.factor"], "1");
  assert.equal(one["transaction.state.log.min.isr"], "1");
});

Deno.test("cluster and stack options are validated with the option's name and value", () => {
  assert.throws(
    () => new KafkaCluster({ dir: "/tmp/x", brokers: 0 }),
    /'brokers' must be an integer from 1 to 9: current value is 0/,
  );
  assert.throws(
    () => new KafkaCluster({ dir: "/tmp/x", clusterId: "short" }),
    /'clusterId' .* current value is 'short'/,
  );
  assert.throws(
    () => resolveStackOptions({ brokers: 12 }),
    /'brokers' must be 1 to 9: current value is 12/,
  );
});

Deno.test("the lock pins every file of the kafka bundle with a SHA-256", async () => {
  const lock = await readLock();
  const files = lock.bundles.kafka.files;
  assert.ok(files.some((f) => f.path.endsWith("kafka_2.13-4.1.1.jar")));
  assert.ok(files.some((f) => f.path.includes("kafka-tools-4.1.1.jar")));
  for (const f of files) {
    assert.match(f.sha256, /^[0-9a-f]{64}$/, f.path);
    assert.ok(f.size > 0, f.path);
    assert.ok(!f.path.startsWith("/"), f.path);
  }
});

Deno.test("a download whose bytes differ from the lock is refused and not cached", async () => {
  const cache = await Deno.makeTempDir();
  const lock = await readLock();
  const small = [...lock.bundles.kafka.files].sort((a, b) => a.size - b.size)[0];
  // A repository that serves the right size but the wrong content.
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(new Uint8Array(small.size)),
  );
  const saved = {
    cache: Deno.env.get("KAFKA_PRACTICUM_CACHE"),
    repo: Deno.env.get("MAVEN_REPOSITORY"),
  };
  Deno.env.set("KAFKA_PRACTICUM_CACHE", cache);
  Deno.env.set("MAVEN_REPOSITORY", `http://127.0.0.1:${server.addr.port}`);
  try {
    await assert.rejects(
      () =>
        fetchBundle("kafka", {
          progress: false,
          lock: { ...lock, bundles: { kafka: { coordinates: [], files: [small] } } },
        }),
      (e: Error) => e instanceof ChecksumError && e.message.includes(small.sha256),
    );
    const cached = await Deno.stat(join(cache, "maven", small.path)).then(() => true, () => false);
    assert.equal(cached, false);
  } finally {
    for (
      const [k, v] of [["KAFKA_PRACTICUM_CACHE", saved.cache], [
        "MAVEN_REPOSITORY",
        saved.repo,
      ]] as const
    ) {
      if (v === undefined) Deno.env.delete(k);
      else Deno.env.set(k, v);
    }
    await server.shutdown();
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("pid files: a process read while its wrapper execs it counts as running, every time", async () => {
  const dir = await Deno.makeTempDir();
  const pidFile = join(dir, "pid");
  const states: string[] = [];
  try {
    for (let i = 0; i < 60; i++) {
      const pid = await startDetached({
        cmd: "sleep",
        args: ["30"],
        log: join(dir, "log"),
        pidFile,
      });
      states.push(readPid(pidFile, "sleep").state); // at once: the wrapper may still be exec'ing
      Deno.kill(-pid, "SIGKILL");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.deepEqual(states.filter((s) => s !== "running"), [], `${states.length} starts`);
});

/** The state letter /proc gives `pid` (R, S, Z, …), or undefined when there is no such process. */
function procState(pid: number): string | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  } catch {
    return undefined;
  }
}

/** Waits until `pid` has ended (gone from /proc, or a zombie not yet reaped). */
async function processGone(pid: number): Promise<void> {
  await pollUntil(`process ${pid} to end after SIGKILL`, () => {
    const state = procState(pid);
    if (state === undefined || state === "Z") return true;
    throw new Error(`/proc/${pid} is in state ${state}`);
  }, { timeoutMs: 30_000, intervalMs: 50 });
}

Deno.test("pid files: running, stale after the process dies, absent after stop", async () => {
  const dir = await Deno.makeTempDir();
  const pidFile = join(dir, "pid");
  try {
    // Long-lived, so that only the kill below can end it while the test waits.
    const pid = await startDetached({
      cmd: "sleep",
      args: ["600"],
      log: join(dir, "log"),
      pidFile,
    });
    assert.deepEqual(readPid(pidFile, "sleep"), { state: "running", pid });
    assert.equal(readPid(pidFile, "not-this-command").state, "stale");
    Deno.kill(pid, "SIGKILL");
    await processGone(pid);
    assert.deepEqual(readPid(pidFile, "sleep"), { state: "stale", pid });
    assert.equal(await stopProcess(pidFile), undefined);
    assert.equal(readPid(pidFile).state, "absent");
    const pid2 = await startDetached({
      cmd: "sleep",
      args: ["30"],
      log: join(dir, "log"),
      pidFile,
    });
    assert.equal(await stopProcess(pidFile, { marker: "sleep" }), pid2);
    assert.equal(readPid(pidFile).state, "absent");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
