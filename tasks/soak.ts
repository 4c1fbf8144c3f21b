/**
 * `deno task soak [--minutes 10] [--seed N]` — repeats the broker drills (lib/stack's
 * BrokerDrill: leader kill, follower kill, active-controller kill, rolling restart, all under
 * load) on random schedules from a seed, for as long as asked, on a 3-node cluster of its own
 * (a temp folder, ports offset by `--port-offset`). After each round of three faults it reads
 * the round's topic back with Kafka's console consumer and checks that nothing acknowledged
 * was lost, duplicated or reordered; it stops at the first round that fails (exit 1) and
 * prints the seed that reproduces it. The test suite runs one fixed schedule
 * (tests/integration/broker_roll_test.ts). `--client platformatic` drills @platformatic/kafka's
 * idempotent producer instead of the project's (kafkajs) one: a candidate client must pass the
 * same drills before the project could switch to it.
 */
import { ConfigError, defineTask, flagInt, runMain } from "../lib/env/mod.ts";
import {
  BrokerDrill,
  checkDrill,
  type DrillProducer,
  randomSchedule,
  Stack,
} from "../lib/stack/mod.ts";
import { platformaticDrillProducer } from "../lib/bench/clients/mod.ts";

/** The producers a soak can drill: the project's (default) or a candidate client's. */
const CLIENTS: Record<string, ((bootstrap: string) => DrillProducer) | undefined> = {
  project: undefined,
  platformatic: platformaticDrillProducer,
};

const SPEC = defineTask({
  task: "soak",
  summary:
    "Repeats the broker drills (leader, follower and active-controller kills, rolling restarts) under load on random schedules, checking every round for lost, duplicated or reordered records.",
  flags: {
    minutes: {
      type: "string",
      default: "10",
      valueName: "N",
      description: "how long to keep starting rounds",
    },
    seed: {
      type: "string",
      valueName: "N",
      description: "seed of the schedules (default: random, printed)",
    },
    "faults-per-round": {
      type: "string",
      default: "3",
      valueName: "N",
      description: "faults injected per round (one topic per round)",
    },
    client: {
      type: "string",
      default: "project",
      valueName: "NAME",
      description: `producer under test: ${Object.keys(CLIENTS).join(" or ")}`,
    },
    "port-offset": {
      type: "string",
      default: "22500",
      valueName: "N",
      description: "port offset of the soak's own cluster",
    },
  },
  examples: ["deno task soak --minutes 30", "deno task soak --minutes 5 --seed 42"],
});

await runMain(async (cli) => {
  const minutes = flagInt(cli, "minutes", 10, { min: 1, max: 24 * 60 });
  const seed = flagInt(cli, "seed", Math.floor(Math.random() * 1e9), { min: 0 });
  const perRound = flagInt(cli, "faults-per-round", 3, { min: 1, max: 20 });
  const portOffset = flagInt(cli, "port-offset", 22_500, { min: 0, max: 50_000 });
  const client = cli.values.client ?? "project";
  if (!(client in CLIENTS)) {
    throw new ConfigError(
      `--client '${client}' is not known: expected one of ${Object.keys(CLIENTS).join(", ")}`,
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "soak-" });
  const stack = new Stack({ dir, portOffset, brokers: 3, postgres: false, jmx: false });
  const started = Date.now();
  const deadline = started + minutes * 60_000;
  console.log(`soak: ${client}'s producer, seed ${seed}, ${minutes} min, cluster in ${dir}`);
  let failedRound: number | undefined;
  try {
    await stack.up();
    for (let round = 1; Date.now() < deadline; round++) {
      const schedule = randomSchedule(seed + round, perRound);
      const drill = new BrokerDrill(stack.kafka, {
        topic: `soak-${round}`,
        log: (l) => console.log(`  ${l}`),
        producer: CLIENTS[client],
      });
      console.log(`round ${round} (seed ${seed} + ${round}): ${schedule.join(", ")}`);
      await drill.start();
      for (const fault of schedule) await drill.inject(fault);
      const result = await drill.finish();
      const v = checkDrill(result);
      const ok = v.lost.length + v.duplicated.length + v.reordered.length === 0;
      console.log(
        `round ${round}: ${ok ? "OK" : "FAILED"} — ${result.acked.size} acknowledged, ` +
          `${result.failed.length} failed, ${result.records.length} in the topic, ` +
          `${v.lost.length} lost, ${v.duplicated.length} duplicated, ` +
          `${v.reordered.length} keys out of order`,
      );
      if (!ok) {
        failedRound = round;
        console.log(
          `  lost: ${v.lost.slice(0, 10).join(" ")}\n  duplicated: ${
            v.duplicated.slice(0, 10).join(" ")
          }\n  out of order: ${v.reordered.join(" ")}`,
        );
        break;
      }
    }
  } finally {
    await stack.down();
    if (failedRound === undefined) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  const took = ((Date.now() - started) / 60_000).toFixed(1);
  if (failedRound !== undefined) {
    console.log(
      `soak FAILED in round ${failedRound} after ${took} min; logs in ${dir}; ` +
        `again with: deno task soak --client ${client} --seed ${seed}`,
    );
    Deno.exit(1);
  }
  console.log(`soak OK: ${took} min, seed ${seed}`);
}, SPEC);
