/**
 * `deno task stack up|down|status|logs` — the local Kafka + PostgreSQL stack.
 *
 *   up [--brokers 1|3] [--no-postgres] [--secure]   start (a second `up` is a no-op);
 *                                          --secure adds the SASL_SSL cluster of practice 6
 *     [--connect] [--monitoring] [--no-jmx]    --connect: Kafka Connect + Debezium plugins (REST 8083);
 *                                          --monitoring: Prometheus 9090, Alertmanager 9099, lag exporter
 *     [--registry] [--hdfs]                --registry: schema registry 8081 (Confluent API, Apicurio);
 *                                          --hdfs: HDFS NameNode 9000/9870 (WebHDFS) + DataNode
 *     [--spark]                            standalone Spark master 7177 (UI 8088) + one worker
 *                                          (2 cores, 2 GiB for executors), pyspark's own jars
 *     [--mirror] [--mirror-brokers N]      --mirror: cluster B (13094) + MirrorMaker 2 from the
 *                                          secure cluster (implies --secure); B has 1 node or N
 *   down                                   stop everything this data folder started
 *   status [--json]                        each process with pid, ports and health — the stack's
 *                                          own and the Deno services other tasks started on it
 *                                          (the platform's: shop-api, product-filter, …) — then
 *                                          each service's data: its shape and size (two text
 *                                          tables; --json: the same as one JSON object)
 *   reset [SERVICE] [--yes]                delete a service's data (e.g. kafka-main, postgres;
 *                                          all services when none is named) after saying what
 *                                          it deletes and asking; --yes: do not ask (scripts)
 *   logs [service] [--lines N]             tail of each log (e.g. `logs kafka-main-0`, `logs
 *                                          kafka-main`: each node's, `logs shop-api`)
 *   restart SERVICE                        stop and start one service (a Deno service with the
 *                                          arguments and environment it was started with)
 *   stop SERVICE                           stop one service (`up`, or the demo, starts it again)
 */
import {
  ConfigError,
  defineTask,
  formatTable,
  KAFKA_CLIENT_PORTS,
  parseIntValue,
  runMain,
  SERVICE_ENV,
  STACK_PORTS,
} from "../lib/env/mod.ts";
import {
  dataName,
  dataStatus,
  describeReset,
  executeReset,
  formatBytes,
  planReset,
  type ProcessStatus,
  Stack,
  tailFile,
} from "../lib/stack/mod.ts";

const USAGE =
  "usage: deno task stack up [--brokers N] [--no-postgres] [--registry] [--hdfs] [--spark] [--secure] [--connect] [--monitoring] [--no-jmx] [--mirror] [--mirror-brokers N] | down | status [--json] | reset [SERVICE] [--yes] | logs [SERVICE] [--lines N] | restart SERVICE | stop SERVICE";

const SPEC = defineTask({
  task: "stack",
  summary:
    "The local stack (Kafka KRaft, PostgreSQL and, on demand, Connect, registry, HDFS, Spark, the secure cluster, cluster B + MirrorMaker 2, monitoring) as processes, no Docker.",
  flags: {
    brokers: {
      type: "string",
      default: "1",
      valueName: "N",
      description: "up: nodes of the main cluster",
    },
    "no-postgres": { type: "boolean", description: "up: without PostgreSQL" },
    registry: { type: "boolean", description: `up: schema registry (${STACK_PORTS.registry})` },
    hdfs: {
      type: "boolean",
      description: `up: HDFS NameNode (${STACK_PORTS.hdfsRpc}/${STACK_PORTS.hdfsHttp}) + DataNode`,
    },
    spark: {
      type: "boolean",
      description:
        `up: standalone Spark master (spark://127.0.0.1:${STACK_PORTS.sparkMaster}, UI ${STACK_PORTS.sparkMasterUi}) + one worker`,
    },
    secure: {
      type: "boolean",
      description:
        `up: the SASL_SSL cluster of practice 6 and the final project (${KAFKA_CLIENT_PORTS.secure})`,
    },
    connect: {
      type: "boolean",
      description: `up: Kafka Connect + Debezium (${STACK_PORTS.connect})`,
    },
    monitoring: {
      type: "boolean",
      description:
        `up: Prometheus (${STACK_PORTS.prometheus}), Alertmanager (${STACK_PORTS.alertmanager}), lag exporter`,
    },
    "no-jmx": { type: "boolean", description: "up: without the JMX exporter on the brokers" },
    mirror: {
      type: "boolean",
      description:
        `up: cluster B (${KAFKA_CLIENT_PORTS.mirror}) + MirrorMaker 2 from the secure cluster (implies --secure)`,
    },
    "mirror-brokers": {
      type: "string",
      default: "1",
      valueName: "N",
      description: "up: nodes of cluster B (implies --mirror)",
    },
    yes: { type: "boolean", description: "reset: do not ask for confirmation" },
    lines: { type: "string", default: "20", valueName: "N", description: "logs: lines per log" },
    json: { type: "boolean", description: "status: print the tables as one JSON object" },
  },
  env: {
    ...SERVICE_ENV.stack,
  },
  positionals: [
    {
      name: "COMMAND",
      description: "what to do",
      required: true,
      choices: ["up", "down", "status", "reset", "logs", "restart", "stop"],
    },
    {
      name: "SERVICE",
      description:
        "reset, logs, restart, stop: one service (e.g. kafka-main, postgres, shop-api; logs also kafka-main-0)",
    },
  ],
  usage: [
    "up [--brokers N] [--no-postgres] [--registry] [--hdfs] [--spark] [--secure] [--connect] [--monitoring] [--no-jmx] [--mirror] [--mirror-brokers N]",
    "down",
    "status [--json]",
    "reset [SERVICE] [--yes]",
    "logs [SERVICE] [--lines N]",
    "restart SERVICE",
    "stop SERVICE",
  ],
  examples: [
    "deno task stack up --brokers 3",
    "deno task stack up --brokers 3 --connect --hdfs",
    "deno task stack up --hdfs --spark",
    "deno task stack restart shop-api",
    "deno task stack down",
  ],
});

/** A process's row in `status` (its JSON too). */
function statusRow(r: ProcessStatus) {
  return {
    service: r.name,
    state: r.state,
    pid: r.pid ?? null,
    ports: r.ports,
    health: r.health ?? "",
  };
}

function formatPorts(p: Record<string, number>): string {
  return Object.entries(p).map(([k, v]) => `${k}:${v}`).join(" ");
}

/** " (pid 1, 2)" for the processes of `rows` that ran, or "" when none did. */
function pids(rows: ProcessStatus[]): string {
  const running = rows.filter((r) => r.state === "running" && r.pid);
  return running.length
    ? ` (was pid ${running.map((r) => r.pid).join(", ")})`
    : " (was not running)";
}

/** The tail of a log, or a line saying it is empty. */
async function tailLog(path: string, lines: number): Promise<string> {
  const tail = await tailFile(path, lines);
  return tail.trim() ? tail : `(${path} is empty: the service has written nothing yet)`;
}

await runMain(async (cli) => {
  const [command] = cli.positional;
  const flags = { ...cli, positional: cli.positional.slice(1) };
  switch (command) {
    case "up": {
      const brokers = flags.values.brokers !== undefined
        ? parseIntValue("--brokers", flags.values.brokers, { min: 1, max: 9 })
        : 1;
      const stack = new Stack({
        brokers,
        postgres: !flags.booleans["no-postgres"],
        registry: flags.booleans.registry,
        hdfs: flags.booleans.hdfs,
        spark: flags.booleans.spark,
        secure: flags.booleans.secure,
        connect: flags.booleans.connect,
        monitoring: flags.booleans.monitoring,
        jmx: !flags.booleans["no-jmx"],
        mirror: flags.booleans.mirror || flags.values["mirror-brokers"] !== undefined,
        mirrorBrokers: flags.values["mirror-brokers"] !== undefined
          ? parseIntValue("--mirror-brokers", flags.values["mirror-brokers"], { min: 1, max: 9 })
          : 1,
      });
      const started = Date.now();
      await stack.up();
      console.log(
        `Stack up in ${((Date.now() - started) / 1000).toFixed(1)}s (${stack.options.dir})`,
      );
      console.log(`  Kafka bootstrap:  ${stack.kafka.bootstrap()}`);
      if (stack.postgres) console.log(`  PostgreSQL:       ${stack.postgres.url()}`);
      if (stack.registry) console.log(`  Schema registry:  ${stack.registry.url()}`);
      if (stack.hdfs) {
        console.log(
          `  HDFS:             ${stack.hdfs.defaultFs()} (WebHDFS ${stack.hdfs.webhdfsUrl()})`,
        );
      }
      if (stack.spark) {
        console.log(`  Spark master:     ${stack.spark.masterUrl()} (UI ${stack.spark.uiUrl()})`);
      }
      if (stack.connect) console.log(`  Kafka Connect:    ${stack.connect.url()}`);
      if (stack.prometheus) console.log(`  Prometheus:       ${stack.prometheus.url()}`);
      if (stack.alertmanager) console.log(`  Alertmanager:     ${stack.alertmanager.url()}`);
      if (stack.secureKafka) {
        console.log(`  Kafka secure:     ${stack.secureKafka.bootstrap()} (SASL_SSL)`);
        console.log(`  Secure secrets:   ${stack.secureKafka.secrets().dir}`);
      }
      if (stack.mirrorKafka && stack.mirrorMaker) {
        console.log(`  Kafka mirror (B): ${stack.mirrorKafka.bootstrap()}`);
        console.log(`  MirrorMaker 2:    ${stack.mirrorMaker.flow} (${stack.mirrorMaker.log})`);
      }
      break;
    }
    case "down": {
      const stack = await Stack.load();
      const stopped = await stack.down();
      console.log(`Stack down: ${stopped.join(", ")}`);
      break;
    }
    case "status": {
      const stack = await Stack.load();
      const services = (await stack.status()).map(statusRow);
      const data = (await dataStatus(stack.services)).map((d) => ({
        data: d.service,
        shape: d.shape,
        size: formatBytes(d.bytes),
        bytes: d.bytes,
        folders: d.folders,
      }));
      if (flags.booleans.json) {
        console.log(JSON.stringify({ services, data }, null, 2));
        break;
      }
      console.log(
        formatTable(services.map((r) => ({ ...r, ports: formatPorts(r.ports) }))).join("\n"),
      );
      console.log();
      console.log(
        formatTable(data.map((d) => ({ ...d, folders: d.folders.join(" ") })), [
          "data",
          "shape",
          "size",
          "folders",
        ]).join("\n"),
      );
      break;
    }
    case "reset": {
      const saved = await Stack.load();
      // Every service this folder may hold data of, not only those of the last `up`.
      const every = new Stack({
        ...saved.options,
        postgres: true,
        registry: true,
        hdfs: true,
        spark: true,
        secure: true,
        connect: true,
        monitoring: true,
        mirror: true,
      });
      const plan = await planReset(every.services, flags.positional[0]).catch((e) => {
        throw new ConfigError((e as Error).message);
      });
      if (plan.items.length === 0) {
        console.log(describeReset(plan));
        break;
      }
      console.log(`This stops and deletes the data of:\n${describeReset(plan)}`);
      if (!flags.booleans.yes) {
        if (!Deno.stdin.isTerminal()) {
          throw new ConfigError("Not deleting without a confirmation: pass --yes to reset");
        }
        const answer = prompt("Delete it? [y/N]");
        if (!/^y(es)?$/i.test(answer?.trim() ?? "")) {
          console.log("Nothing deleted.");
          break;
        }
      }
      console.log(`Reset: ${(await executeReset(plan)).join(", ")}`);
      break;
    }
    case "logs": {
      const stack = await Stack.load();
      const lines = flags.values.lines
        ? parseIntValue("--lines", flags.values.lines, { min: 1 })
        : 20;
      const want = flags.positional[0];
      // A service's processes (`kafka-main`: each node), or one process (`kafka-main-0`).
      const all = [...stack.services, ...(await stack.attached())];
      const rows = (await Promise.all(all.map(async (s) => {
        const st = await s.status();
        return !want || s.name === want || dataName(s) === want
          ? st
          : st.filter((r) => r.name === want);
      }))).flat();
      if (rows.length === 0) {
        throw new ConfigError(
          `No service named '${want}': this stack has ${all.map(dataName).join(", ")}`,
        );
      }
      for (const r of rows) {
        console.log(`==> ${r.name} (${r.log}) <==\n${await tailLog(r.log, lines)}\n`);
      }
      break;
    }
    case "restart":
    case "stop": {
      const stack = await Stack.load();
      const name = flags.positional[0];
      if (!name) throw new ConfigError(`Which service? ${USAGE}`);
      const service = await stack.service(name).catch((e) => {
        throw new ConfigError((e as Error).message);
      });
      const before = await service.status();
      await service.stop();
      if (command === "stop") {
        console.log(`Stopped ${name}${pids(before)}.`);
        break;
      }
      await service.start();
      const after = await service.status();
      console.log(`Restarted ${name}${pids(before)}:`);
      console.log(
        formatTable(after.map(statusRow).map((r) => ({ ...r, ports: formatPorts(r.ports) })))
          .join("\n"),
      );
      const down = after.filter((r) => r.state !== "running");
      if (down.length) {
        throw new Error(
          `${
            down.map((r) => r.name).join(", ")
          } did not stay up: see \`deno task stack logs ${name}\``,
        );
      }
      break;
    }
    default:
      throw new ConfigError(command ? `Unknown command '${command}'. ${USAGE}` : USAGE);
  }
}, SPEC);
