/**
 * {@linkcode runSoak}: the platform soak as one job. The platform comes up with the demo's own
 * stages (the stack, topics/ACLs/connectors, the forbidden list reaching the filter, the
 * services); then for `minutes` products flow through the SHOP API, dead letters into
 * `input-products` and simulated users through the CLIENT API while the seeded schedule kills
 * components with SIGKILL and restarts them (one printed line per kill, restart and recovery,
 * with the second of the run); then the run waits, reading with the project's clients, until
 * no hop misses anything, and reconciles once more with independent readers into the table.
 *
 * @example
 * ```ts
 * import { runSoak } from "./run.ts";
 * const result = await runSoak({ stack, minutes: 3, seed: 42, rate: 4 });
 * console.log(result.ok, result.rows);
 * ```
 * @module
 */
import { pollUntil, sleep } from "../../env/mod.ts";
import type { Stack } from "../../stack/mod.ts";
import { generateProducts, STORES } from "../catalog.ts";
import { ensureStoreKeys, storeKeysFile } from "../store_keys.ts";
import { devClaimsFromEnv, devTokens, identitySecretFromEnv } from "../client_api/identity.ts";
import { mulberry32 } from "../users_sim.ts";
import { acquirePlatformLock, PlatformRefused, preflight } from "../platform/preflight.ts";
import { type PlatformRun, platformRun } from "../platform/context.ts";
import {
  forbiddenList,
  type PlatformClients,
  stackUp,
  startServices,
  topologyAndConnectors,
} from "../platform/stages.ts";
import { type PlannedKill, type SoakComponent, soakSchedule } from "./schedule.ts";
import { type ComponentKiller, componentKiller } from "./kill.ts";
import { StageError } from "../stages.ts";
import { deadLetterLoad, productLoad, userLoad } from "./load.ts";
import { type SoakAcks, soakRows } from "./check.ts";
import { fastReaders, independentReaders } from "./readers.ts";
import { allOk, type StageRow } from "./reconcile.ts";

/** Options of {@linkcode runSoak}. */
export interface SoakOptions {
  stack: Stack;
  /** Minutes of load (and kills). */
  minutes: number;
  seed: number;
  /** Products per second through the SHOP API. @default 4 */
  rate?: number;
  /** Components to kill. @default all of SOAK_COMPONENTS */
  components?: readonly SoakComponent[];
  /** Simulated users. @default 4 */
  users?: number;
  /**
   * Kill on schedule while earlier kills' components are still restarting (failures that
   * overlap, as they do in production; the run takes about the longest restart, not their sum).
   * @default false: each kill waits until the component before it is back
   */
  overlap?: boolean;
  /** Leave the platform running at the end. @default false: its services and the stack stop */
  keep?: boolean;
  /** Longest wait for the platform to catch up after the load, in ms. @default 300000 */
  settleMs?: number;
  out?: (line: string) => void;
}

/** What a soak saw. */
export interface SoakResult {
  ok: boolean;
  seed: number;
  schedule: PlannedKill[];
  /** The lines printed as the schedule happened. */
  events: string[];
  rows: StageRow[];
  /** Who read the final table. */
  readers: string;
}

/** Runs the soak on `options.stack` (brought up with the platform's stages). */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const { stack, keep = false } = options;
  const { dir, portOffset } = stack.options;
  const release = await acquirePlatformLock(dir);
  try {
    const problems = await preflight(stack, 1);
    if (problems.length) throw new PlatformRefused(problems);
    Deno.env.set("STACK_DIR", dir);
    Deno.env.set("STACK_PORT_OFFSET", String(portOffset));
    return await soak(options);
  } finally {
    if (!keep) await stack.down().catch(() => {});
    await release();
  }
}

async function soak(o: SoakOptions): Promise<SoakResult> {
  const { stack, minutes, seed, rate = 4, users = 4, settleMs = 300_000, out = console.log } = o;
  const run = platformRun(stack, { out, stageTimeoutMs: 300_000 });
  const clients = await stackUp(run);
  await topologyAndConnectors(run, clients);
  const tag = `soak-${seed}-${Date.now().toString(36)}`;
  const products = generateProducts(Math.max(8, rate * 3), { seed, idPrefix: `${tag}-` });
  const productIds = products.map((p) => p.product_id);
  const forbidden = [productIds[1], productIds[4]];
  await forbiddenList(run, clients, productIds, forbidden);
  await startServices(run);

  const seconds = Math.round(minutes * 60);
  const schedule = soakSchedule({ seed, seconds, components: o.components });
  out(`soak: seed ${seed}, ${seconds} s of load, ${rate} products/s, ${users} users`);
  const firstUser = Math.floor(Date.now() / 1000) * 100 % 1e11;
  const load = await startLoad(run, clients, {
    products,
    rate,
    users,
    firstUser,
    seconds,
    seed,
    tag,
  });
  const events = await runSchedule(run, clients, schedule, seed, seconds, o.overlap ?? false);
  const acks: SoakAcks = {
    ...await load.stop(),
    productIds: new Set(productIds),
    forbiddenIds: new Set(forbidden),
    userIds: new Set(Array.from({ length: users }, (_, i) => `user-${firstUser + i}`)),
    deadLetterPrefix: tag,
  };
  out(
    `load done: ${acks.products.acked.size} products acknowledged ` +
      `(${acks.products.unacked.size} not), ${acks.deadLetters.acked.size} dead letters, ` +
      `${acks.users.statuses.size} CLIENT API answers (${acks.users.unreachable} unreachable)` +
      (acks.users.error ? `; the simulation failed: ${acks.users.error}` : ""),
  );
  await settle(run, clients, acks, settleMs);
  const readers = independentReaders(stack, clients.postgresUrl, clients.hdfs);
  out(`reconciling with ${readers.name} …`);
  const rows = await soakRows(readers, acks);
  return { ok: allOk(rows), seed, schedule, events, rows, readers: readers.name };
}

/** The three loads, started together; `stop` waits for them and returns what they recorded. */
async function startLoad(
  run: PlatformRun,
  clients: PlatformClients,
  p: {
    products: ReturnType<typeof generateProducts>;
    rate: number;
    users: number;
    firstUser: number;
    seconds: number;
    seed: number;
    tag: string;
  },
) {
  const keys = await ensureStoreKeys(STORES, storeKeysFile(run.stack.options.dir));
  const { secret } = await identitySecretFromEnv(run.stack.options.dir);
  const products = productLoad({
    shopUrl: `http://127.0.0.1:${run.svc("shop-api").port}`,
    keys,
    products: p.products,
    rate: p.rate,
  });
  const deadLetters = deadLetterLoad(clients.kafkaA, p.tag);
  const users = userLoad({
    clientUrl: `http://127.0.0.1:${run.svc("client-api").port}`,
    token: devTokens(secret, devClaimsFromEnv()),
    users: p.users,
    firstUser: p.firstUser,
    seed: p.seed,
  });
  const started = Date.now();
  return {
    stop: async () => {
      await sleep(Math.max(0, started + p.seconds * 1000 - Date.now()));
      return {
        products: await products.stop(),
        deadLetters: await deadLetters.stop(),
        users: await users.stop(),
      };
    },
  };
}

/** The kills and restarts at their seconds, one line each; returns the lines. */
async function runSchedule(
  run: PlatformRun,
  clients: PlatformClients,
  schedule: PlannedKill[],
  seed: number,
  seconds: number,
  overlap: boolean,
): Promise<string[]> {
  const killer = componentKiller(
    run.stack,
    run.services,
    clients.kafkaA,
    mulberry32(seed ^ 0x5eed),
  );
  const t0 = Date.now();
  const events: string[] = [];
  const line = (what: string) => {
    const l = `  [${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${what}`;
    events.push(l);
    run.out(l);
  };
  run.out(`schedule (seed ${seed}): ${schedule.map((k) => `${k.atS}s ${k.component}`).join(", ")}`);
  const killed = new Set<SoakComponent>();
  let skipped = 0;
  // With `overlap`, each restart runs beside the kills after it; a component is killed again
  // only once it is back.
  const restarting = new Map<SoakComponent, Promise<void>>();
  const failures: unknown[] = [];
  for (const k of schedule) {
    // Restarts take longer than planned on a busy machine: once the load's time is over, only
    // a component not killed yet is still killed (each at least once), the rest are skipped.
    if (Date.now() - t0 >= seconds * 1000 && killed.has(k.component)) {
      skipped++;
      continue;
    }
    await restarting.get(k.component);
    await sleep(Math.max(0, t0 + k.atS * 1000 - Date.now()));
    line(`kill -9 ${await killer.kill(k.component)}`);
    killed.add(k.component);
    const back = (async () => {
      await sleep(k.restartAfterS * 1000);
      line(`restart ${k.component}`);
      await restartPatiently(killer, k.component, line);
      line(`${k.component} back`);
    })();
    if (!overlap) {
      await back;
      continue;
    }
    restarting.set(
      k.component,
      back.catch((err) => void failures.push(err)).finally(() => restarting.delete(k.component)),
    );
  }
  await Promise.all(restarting.values());
  if (failures.length) throw failures[0];
  if (skipped) line(`${skipped} planned kills skipped: the ${seconds} s of load were over`);
  if (Date.now() - t0 > seconds * 1000) line("the load went on until the last component was back");
  return events;
}

/**
 * Restarts `c` and waits until it serves; a component slow to come back (its own wait timed
 * out on a loaded machine, the process still there) is waited for twice more, each noted in a
 * line, before the run fails naming it.
 */
async function restartPatiently(
  killer: ComponentKiller,
  c: SoakComponent,
  line: (what: string) => void,
): Promise<void> {
  for (let wait = 1;; wait++) {
    try {
      return await killer.restart(c);
    } catch (err) {
      if (wait === 3) throw new StageError(`restart ${c}`, err);
      line(`${c} not back yet (${(err as Error).message.split("\n")[0]}); waiting again`);
    }
  }
}

/** Waits (project's readers) until no hop misses anything, or `settleMs` passes. */
async function settle(
  run: PlatformRun,
  clients: PlatformClients,
  acks: SoakAcks,
  settleMs: number,
): Promise<void> {
  const readers = fastReaders(clients.kafkaA, clients.kafkaB, clients.postgresUrl, clients.hdfs);
  let last = "";
  await pollUntil("every hop caught up", async () => {
    const rows = await soakRows(readers, acks);
    const behind = rows.filter((r) => r.lost > 0).map((r) => `${r.stage} ${r.seen}/${r.expected}`);
    const now = behind.length ? `waiting for ${behind.join(", ")}` : "every hop caught up";
    if (now !== last) run.out(`  … ${now}`);
    last = now;
    return behind.length === 0;
  }, { timeoutMs: settleMs, intervalMs: 5_000 }).catch(() => {
    run.out(`  gave up waiting after ${settleMs / 1000} s: the table shows what is missing`);
  });
}
