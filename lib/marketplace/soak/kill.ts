/**
 * Kill -9 and restart of each component the platform soak kills, through the stack's own
 * service objects: the platform's Deno services (SIGKILL to the pid their status shows, then
 * `start`, which waits for `/healthz`), the Connect worker and MirrorMaker 2
 * (`stop({ hard: true })`, `start`), and a broker of cluster A (`stopNode(id, { hard: true })`,
 * `startNode`, then waits until every partition of the platform's topics is fully in sync
 * again, so the next kill does not take a second replica away).
 *
 * @example
 * ```ts
 * import { componentKiller } from "./kill.ts";
 * const killer = componentKiller(stack, services, kafkaA, rng);
 * const what = await killer.kill("lake-sink");
 * await killer.restart("lake-sink");
 * ```
 * @module
 */
import type { Kafka } from "kafkajs";
import { pollUntil } from "../../env/mod.ts";
import { type DenoService, killHard, readPid, type Stack } from "../../stack/mod.ts";
import { FINAL_TOPICS } from "../topology.ts";
import type { SoakComponent } from "./schedule.ts";

/** Kills and restarts components by name. */
export interface ComponentKiller {
  /** SIGKILL to the component; returns what was killed (e.g. `broker 2 (pid 123)`). */
  kill: (c: SoakComponent) => Promise<string>;
  /** Starts the component again and waits until it serves. */
  restart: (c: SoakComponent) => Promise<void>;
}

/** The killer of a stack's components; `rng` picks which broker of A. */
export function componentKiller(
  stack: Stack,
  services: readonly DenoService[],
  kafkaA: Kafka,
  rng: () => number,
): ComponentKiller {
  const cluster = stack.secureKafka?.cluster;
  let broker: number | undefined;
  const svc = (name: string) => {
    const s = services.find((x) => x.name === name);
    if (!s) throw new Error(`no platform service '${name}' on this stack`);
    return s;
  };
  return {
    kill: async (c) => {
      if (c === "connect") return await killStackService(stack.connect, "Connect worker");
      if (c === "mirror-maker") return await killStackService(stack.mirrorMaker, "MirrorMaker 2");
      if (c === "broker") {
        if (!cluster) throw new Error("the stack has no secure cluster A");
        broker = cluster.nodeIds[Math.floor(rng() * cluster.nodeIds.length)];
        const pid = cluster.pid(broker);
        await cluster.stopNode(broker, { hard: true });
        return `broker ${broker} of A (pid ${pid ?? "-"})`;
      }
      return await killDenoService(svc(c));
    },
    restart: async (c) => {
      if (c === "connect") return await stack.connect!.start();
      if (c === "mirror-maker") return await stack.mirrorMaker!.start();
      if (c === "broker") {
        if (!cluster!.alive(broker!)) await cluster!.startNode(broker!);
        return await fullyInSync(kafkaA, broker!);
      }
      await svc(c).start();
    },
  };
}

/** A JVM service of the stack that can stop with SIGKILL. */
interface HardStoppable {
  status: () => Promise<{ pid?: number }[]>;
  stop: (o: { hard: boolean }) => Promise<void>;
}

async function killStackService(s: HardStoppable | undefined, what: string): Promise<string> {
  if (!s) throw new Error(`the stack has no ${what}`);
  const pid = (await s.status())[0]?.pid;
  await s.stop({ hard: true });
  return `${what} (pid ${pid ?? "-"})`;
}

async function killDenoService(s: DenoService): Promise<string> {
  const st = readPid(s.pidFile);
  if (st.state !== "running") return `${s.name} (was not running)`;
  killHard(st.pid);
  await pollUntil(`${s.name} (pid ${st.pid}) gone after SIGKILL`, () => {
    return readPid(s.pidFile).state !== "running";
  }, { timeoutMs: 30_000, intervalMs: 100 });
  return `${s.name} (pid ${st.pid})`;
}

/**
 * Waits until broker `id` is registered again and every partition of the platform's topics on
 * A has all its replicas in sync.
 */
async function fullyInSync(kafka: Kafka, id: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await pollUntil(`broker ${id} back, every partition in sync on A`, async () => {
      const { brokers } = await admin.describeCluster();
      if (!brokers.some((b) => b.nodeId === id)) return false;
      const { topics } = await admin.fetchTopicMetadata({
        topics: FINAL_TOPICS.map((t) => t.topic),
      });
      return topics.every((t) =>
        t.partitions.every((p) => p.leader >= 0 && p.isr.length === p.replicas.length)
      );
    }, { timeoutMs: 180_000, intervalMs: 1_000 });
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
