/**
 * The platform soak's kill schedule, a pure function of its seed: which component is killed
 * with SIGKILL, at which second of the run, and how many seconds later it is restarted. Every
 * component asked for is killed at least once (in a seeded order); a longer run kills them
 * again, one kill per slot of about 30 s. Slots do not overlap: a kill's restart is planned
 * before the next kill.
 *
 * @example
 * ```ts
 * import { soakSchedule } from "./schedule.ts";
 * for (const k of soakSchedule({ seed: 7, seconds: 120 })) {
 *   console.log(`${k.atS}s kill ${k.component}, restart after ${k.restartAfterS}s`);
 * }
 * ```
 * @module
 */
import { mulberry32 } from "../users_sim.ts";

/** What the soak can kill. */
export const SOAK_COMPONENTS = [
  "product-filter",
  "connect",
  "mirror-maker",
  "lake-sink",
  "broker",
  "shop-api",
  "client-api",
] as const;

/** One component the soak kills. */
export type SoakComponent = typeof SOAK_COMPONENTS[number];

/** One planned kill. */
export interface PlannedKill {
  component: SoakComponent;
  /** Second of the run (from the start of the load) to kill at. */
  atS: number;
  /** Seconds between the kill and the restart. */
  restartAfterS: number;
}

/** Options of {@linkcode soakSchedule}. */
export interface ScheduleOptions {
  seed: number;
  /** Length of the load, in seconds. */
  seconds: number;
  /** Components to kill (each at least once). @default SOAK_COMPONENTS */
  components?: readonly SoakComponent[];
  /** Seconds of load before the first kill. @default 10 */
  warmupS?: number;
  /** Seconds of load after the last planned restart. @default 10 */
  tailS?: number;
}

/** Seconds per kill in a long run (one kill per slot). */
const SLOT_S = 30;

/** The seeded schedule: kills in time order, each component at least once. */
export function soakSchedule(options: ScheduleOptions): PlannedKill[] {
  const { seed, seconds, components = SOAK_COMPONENTS, warmupS = 10, tailS = 10 } = options;
  if (!Number.isInteger(seed)) {
    throw new RangeError(`Cannot plan as 'seed' must be an integer: current value is ${seed}`);
  }
  if (components.length === 0) {
    throw new RangeError("Cannot plan as 'components' is empty");
  }
  const window = seconds - warmupS - tailS;
  if (!(window >= components.length * 4)) {
    throw new RangeError(
      `Cannot plan as 'seconds' must leave ${components.length * 4} s between warm-up and tail ` +
        `for ${components.length} kills: current value is ${seconds}`,
    );
  }
  const rng = mulberry32(seed);
  const slots = Math.max(components.length, Math.floor(window / SLOT_S));
  const order: SoakComponent[] = [];
  while (order.length < slots) order.push(...shuffled(components, rng));
  const slotS = window / slots;
  return order.slice(0, slots).map((component, i) => {
    const restartAfterS = Math.min(2 + Math.floor(rng() * 6), Math.max(1, Math.floor(slotS / 2)));
    const jitter = rng() * Math.max(0, slotS - restartAfterS - 1);
    return { component, atS: Math.round(warmupS + i * slotS + jitter), restartAfterS };
  });
}

/** A seeded Fisher–Yates shuffle (a copy). */
function shuffled<T>(items: readonly T[], rng: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
