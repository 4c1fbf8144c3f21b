/**
 * MirrorMaker's watchdog without a MirrorMaker: the task status it reads from the JMX exporter's
 * text, and when it restarts — only a running MirrorMaker whose task was seen FAILED on two looks
 * in a row, never one that is stopped. (tests/integration/mirror_test.ts fences the real task and
 * sees the stack's watchdog bring MirrorMaker back.)
 */
import assert from "node:assert/strict";
import { failedTasks, type MirrorMaker, MirrorWatchdog } from "../../lib/stack/mod.ts";

const EXPORTED = `# HELP kafka_connect_connector_task_status The status of the connector task.
# TYPE kafka_connect_connector_task_status gauge
kafka_connect_connector_task_status{connector="MirrorHeartbeatConnector",status="running",task="0"} 1.0
kafka_connect_connector_task_status{connector="MirrorSourceConnector",status="failed",task="0"} 1.0
kafka_connect_connector_task_status{connector="MirrorCheckpointConnector",status="failed",task="1"} 0.0
kafka_connect_connector_status{connector="MirrorSourceConnector",status="running"} 1.0
`;

Deno.test("failedTasks: the tasks whose status series says failed now, nothing else", () => {
  assert.deepEqual(failedTasks(EXPORTED), ["MirrorSourceConnector/0"]);
  assert.deepEqual(
    failedTasks(EXPORTED.replace('status="failed",task="0"', 'status="running",task="0"')),
    [],
  );
  assert.deepEqual(failedTasks(""), []);
});

/** A MirrorMaker stand-in: its pid, the failed tasks each look reads, and what was done to it. */
function fakeMirrorMaker(looks: string[][]) {
  const done: string[] = [];
  let pid: number | undefined = 100;
  const mm = {
    jmxPort: 7082,
    pid: () => pid,
    failedTasks: () => Promise.resolve(looks.shift() ?? []),
    stop: () => (done.push("stop"), pid = undefined, Promise.resolve()),
    start: () => (done.push("start"), pid = 101, Promise.resolve()),
  };
  return { mm: mm as unknown as MirrorMaker, done, kill: () => (pid = undefined) };
}

Deno.test("MirrorWatchdog: restarts on the second look in a row that sees a task failed", async () => {
  const { mm, done } = fakeMirrorMaker([
    [],
    ["MirrorSourceConnector/0"],
    [],
    [
      "MirrorSourceConnector/0",
    ],
    ["MirrorSourceConnector/0"],
    [],
  ]);
  const w = new MirrorWatchdog({ mirrorMaker: mm });
  const states = [];
  for (let i = 0; i < 6; i++) states.push((await w.check()).state);
  // One failed look, then a healthy one: no restart; two in a row: a restart.
  assert.deepEqual(states, ["ok", "failed", "ok", "failed", "restarted", "ok"]);
  assert.deepEqual(done, ["stop", "start"]);
  assert.equal(w.restarts, 1);
});

Deno.test("MirrorWatchdog: a stopped or killed MirrorMaker is left alone", async () => {
  const { mm, done, kill } = fakeMirrorMaker([["MirrorSourceConnector/0"], [
    "MirrorSourceConnector/0",
  ]]);
  kill();
  const w = new MirrorWatchdog({ mirrorMaker: mm });
  assert.equal((await w.check()).state, "absent");
  assert.equal((await w.check()).state, "absent");
  assert.deepEqual(done, []);
  assert.throws(
    () => new MirrorWatchdog({ mirrorMaker: { jmxPort: 0 } as unknown as MirrorMaker }),
    /no JMX exporter/,
  );
});
