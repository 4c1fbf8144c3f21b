/**
 * `deno task practice4:reassign [--generate] [--execute] [--verify] [--topic T]
 *  [--brokers 0,1,2] [--dir D]` — the seed's kafka-reassign-partitions flow:
 *
 *   --generate  writes rebalance_topic.json, asks Kafka for a plan over --brokers and saves it
 *               as reassignment.json (the current assignment as rollback.json); prints both
 *   --execute   starts the reassignment of reassignment.json
 *   --verify    runs --verify until every partition is complete, elects the preferred leaders,
 *               prints the distribution before/after and saves after.json; exit 1 when the
 *               cluster does not match the plan or leaders are unbalanced (max − min > 1)
 *
 * Without a step flag all three run in order. Files go to --dir (default
 * `<stack data folder>/practice4`). Runs Kafka's own tools from the stack's jars.
 */
import { join } from "node:path";
import { ConfigError, defineTask, parseIntValue, runMain } from "../../lib/env/mod.ts";
import {
  createKafka,
  describePartitions,
  KAFKA_ENV,
  kafkaConfigFromEnv,
} from "../../lib/kafka/mod.ts";
import { defaultStackDir } from "../../lib/env/mod.ts";
import {
  BALANCED_TOPIC,
  brokerLoad,
  electPreferredLeaders,
  executePlan,
  generatePlan,
  leaderSpread,
  planDifferences,
  planRows,
  readPlan,
  waitReassignment,
} from "../../lib/course/practice4/mod.ts";

const SPEC = defineTask({
  task: "practice4:reassign",
  summary:
    "The seed's kafka-reassign-partitions flow: --generate a plan, --execute it, --verify it (all three in order without a step flag).",
  flags: {
    generate: {
      type: "boolean",
      description:
        "write rebalance_topic.json, ask Kafka for a plan over --brokers, save reassignment.json and rollback.json",
    },
    execute: { type: "boolean", description: "start the reassignment of reassignment.json" },
    verify: {
      type: "boolean",
      description:
        "wait until complete, elect preferred leaders, print before/after; exit 1 when unbalanced",
    },
    topic: {
      type: "string",
      default: "balanced_topic",
      valueName: "NAME",
      description: "topic to reassign",
    },
    brokers: {
      type: "string",
      default: "0,1,2",
      valueName: "IDS",
      description: "broker ids of the plan",
    },
    dir: {
      type: "string",
      default: "<stack data folder>/practice4",
      valueName: "DIR",
      description: "folder of the plan files",
    },
  },
  env: {
    ...KAFKA_ENV,
  },
  examples: [
    "deno task practice4:reassign",
    "deno task practice4:reassign --generate --brokers 0,1",
  ],
});

await runMain(async (cli) => {
  const flags = cli;
  const all = !flags.booleans.generate && !flags.booleans.execute && !flags.booleans.verify;
  const topic = flags.values.topic ?? BALANCED_TOPIC.topic;
  const brokers = (flags.values.brokers ?? "0,1,2").split(",").map((b) =>
    parseIntValue("--brokers", b.trim(), { min: 0 })
  );
  const workDir = flags.values.dir ?? join(defaultStackDir(), "practice4");
  const planFile = join(workDir, "reassignment.json");
  const config = kafkaConfigFromEnv({ clientId: "practice4-reassign" });
  const bootstrap = config.brokers.join(",");
  const admin = createKafka(config).admin();
  await admin.connect();
  try {
    const live = (await admin.describeCluster()).brokers.map((b) => b.nodeId);
    const missing = brokers.filter((b) => !live.includes(b));
    if (missing.length) {
      throw new ConfigError(
        `Cannot use --brokers ${brokers.join(",")}: broker(s) ${
          missing.join(",")
        } are not in the ` +
          `cluster (live: ${live.join(",")})`,
      );
    }
    const before = await describePartitions(admin, topic);
    await Deno.mkdir(workDir, { recursive: true });
    if (all || flags.booleans.generate) {
      console.log(`Current distribution of ${topic}:`);
      console.table(brokerLoad(before, brokers));
      const { proposed } = await generatePlan({ bootstrap, topic, brokers, workDir });
      console.log(`Proposed reassignment (saved to ${planFile}):`);
      console.table(planRows(proposed, before));
      await Deno.writeTextFile(
        join(workDir, "before.json"),
        JSON.stringify(before, null, 2) + "\n",
      );
    }
    if (all || flags.booleans.execute) {
      const plan = await readPlan(planFile);
      await Deno.writeTextFile(
        join(workDir, "before.json"),
        JSON.stringify(before, null, 2) + "\n",
      );
      console.log(`Executing ${planFile} (${plan.partitions.length} partitions)…`);
      const out = await executePlan({ bootstrap, planFile });
      console.log(
        out.split("\n").filter((l) => /Successfully|started|Warning/i.test(l)).join("\n"),
      );
    }
    if (all || flags.booleans.verify) {
      const plan = await readPlan(planFile);
      const res = await waitReassignment({
        bootstrap,
        planFile,
        onPoll: (r) =>
          !r.complete &&
          console.log(
            `…${r.lines.filter((l) => !/completed/.test(l)).length} partition(s) still moving`,
          ),
      });
      console.log(res.lines.join("\n"));
      await electPreferredLeaders({ bootstrap, plan, workDir });
      const after = await describePartitions(admin, topic);
      await Deno.writeTextFile(join(workDir, "after.json"), JSON.stringify(after, null, 2) + "\n");
      const beforeSaved = JSON.parse(
        await Deno.readTextFile(join(workDir, "before.json")).catch(() => JSON.stringify(before)),
      );
      console.log("Replicas and leaders per broker, before → after:");
      const b = brokerLoad(beforeSaved, brokers);
      console.table(
        brokerLoad(after, brokers).map((a) => {
          const x = b.find((y) => y.broker === a.broker);
          return {
            broker: a.broker,
            "replicas before": x?.replicas ?? 0,
            "replicas after": a.replicas,
            "leaders before": x?.leaders ?? 0,
            "leaders after": a.leaders,
          };
        }),
      );
      const diff = planDifferences(plan, after);
      const spread = leaderSpread(brokerLoad(after, brokers));
      console.log(
        diff.length === 0
          ? `The cluster matches the plan; leader spread (max − min) = ${spread}`
          : `The cluster differs from the plan:\n${diff.join("\n")}`,
      );
      if (diff.length || spread > 1) Deno.exit(1);
    }
  } finally {
    await admin.disconnect();
  }
}, SPEC);
