/**
 * Test helper for the compose files: `docker compose config` (the real Compose parser, client
 * only) gives the normalized model, and {@linkcode kafkaDrift} compares its Kafka services with
 * the local stack's {@linkcode KafkaCluster} so that the two ways of running cannot drift apart.
 */
import { join } from "node:path";
import { defaultBrokerProperties, type KafkaCluster, nodePorts } from "../lib/stack/mod.ts";
import { PROJECT_ROOT } from "../lib/env/paths.ts";

/** A service of the normalized compose model (the parts the checks read). */
export interface ComposeService {
  image?: string;
  command?: string[] | null;
  entrypoint?: string[] | null;
  environment?: Record<string, string | null>;
  ports?: { target: number; published: string | number; protocol?: string }[];
  profiles?: string[];
}

/** The normalized compose model. */
export interface ComposeModel {
  name?: string;
  services: Record<string, ComposeService>;
}

/** Pinned Docker Compose release built when the docker CLI lacks its compose plugin. */
const COMPOSE_MODULE = "github.com/docker/compose/v2/cmd@v2.32.4";

let cli: Promise<void> | undefined;

/**
 * Makes sure `docker compose` works. Machines of this kind have the docker client; when its
 * compose plugin is missing, the pinned release is built from the Go module proxy (checked
 * against Go's checksum database) and installed as the CLI plugin — once per machine.
 */
function ensureComposeCli(): Promise<void> {
  cli ??= (async () => {
    const ok = await new Deno.Command("docker", {
      args: ["compose", "version"],
      stdout: "null",
      stderr: "null",
    })
      .output().then((o) => o.success, () => false);
    if (ok) return;
    console.error(
      `docker compose is missing: building ${COMPOSE_MODULE} (once per machine, a few minutes)…`,
    );
    const build = await new Deno.Command("go", {
      args: ["install", COMPOSE_MODULE],
      env: { GOFLAGS: "-mod=mod" },
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!build.success) {
      throw new Error(
        `go install ${COMPOSE_MODULE} failed:\n${new TextDecoder().decode(build.stderr)}`,
      );
    }
    const gopath = new TextDecoder().decode(
      (await new Deno.Command("go", { args: ["env", "GOPATH"] }).output()).stdout,
    ).trim();
    const plugins = join(Deno.env.get("HOME") ?? "/root", ".docker", "cli-plugins");
    await Deno.mkdir(plugins, { recursive: true });
    await Deno.copyFile(join(gopath, "bin", "cmd"), join(plugins, "docker-compose"));
    await Deno.chmod(join(plugins, "docker-compose"), 0o755);
  })();
  return cli;
}

/** Runs `docker compose -f <file> config --format json`; throws with Compose's message. */
export async function composeConfig(
  file: string,
  env: Record<string, string> = {},
): Promise<ComposeModel> {
  const path = join(PROJECT_ROOT, file);
  await ensureComposeCli();
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("docker", {
      args: ["compose", "-f", path, "config", "--format", "json"],
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (err) {
    throw new Error(`docker (with the compose plugin) is needed to validate ${file}: ${err}`);
  }
  const dec = new TextDecoder();
  if (!out.success) {
    throw new Error(`docker compose config rejected ${file}:\n${dec.decode(out.stderr)}`);
  }
  return JSON.parse(dec.decode(out.stdout));
}

const env = (s: ComposeService, k: string) => {
  const v = s.environment?.[k];
  return v === null || v === undefined ? undefined : String(v);
};

/** `KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR` → `offsets.topic.replication.factor`. */
function propertyOf(envName: string): string {
  return envName.replace(/^KAFKA_/, "").toLowerCase().replaceAll("_", ".");
}

/**
 * Differences between the compose file's `kafka-0..n-1` services and the local cluster: node ids,
 * roles, cluster id, voters, listener protocols, the EXTERNAL port each node publishes and
 * advertises, and every broker default the compose file sets. Empty when they agree.
 */
export function kafkaDrift(
  model: ComposeModel,
  cluster: KafkaCluster,
  prefix = "kafka-",
): string[] {
  const drift: string[] = [];
  const defaults = defaultBrokerProperties(cluster.brokers);
  for (const id of cluster.nodeIds) {
    const name = `${prefix}${id}`;
    const s = model.services[name];
    if (!s) {
      drift.push(`service ${name} is missing`);
      continue;
    }
    const local = cluster.properties(id);
    const want: Record<string, string | undefined> = {
      CLUSTER_ID: cluster.clusterId,
      KAFKA_NODE_ID: String(id),
      KAFKA_PROCESS_ROLES: local["process.roles"],
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: local["listener.security.protocol.map"],
      KAFKA_CONTROLLER_LISTENER_NAMES: local["controller.listener.names"],
      KAFKA_INTER_BROKER_LISTENER_NAME: local["inter.broker.listener.name"],
    };
    for (const [k, v] of Object.entries(want)) {
      if (env(s, k) !== v) {
        drift.push(`${name}: ${k} is '${env(s, k)}', the local stack has '${v}'`);
      }
    }
    const voters = (env(s, "KAFKA_CONTROLLER_QUORUM_VOTERS") ?? "").split(",").map((v) =>
      v.split("@")[0]
    );
    if (voters.join(",") !== cluster.nodeIds.join(",")) {
      drift.push(
        `${name}: quorum voters ${voters.join(",")} != node ids ${cluster.nodeIds.join(",")}`,
      );
    }
    const external = nodePorts(cluster.portBase, id).external;
    const advertised = env(s, "KAFKA_ADVERTISED_LISTENERS") ?? "";
    if (!advertised.includes(`EXTERNAL://localhost:${external}`)) {
      drift.push(
        `${name}: advertises '${advertised}', the local stack advertises EXTERNAL://localhost:${external}`,
      );
    }
    const listenerPort = Number(
      (env(s, "KAFKA_LISTENERS") ?? "").match(/EXTERNAL:\/\/[^:]*:(\d+)/)?.[1],
    );
    const published = (s.ports ?? []).find((p) => p.target === listenerPort);
    if (!published || Number(published.published) !== external) {
      drift.push(
        `${name}: EXTERNAL listener port ${listenerPort} is not published on host port ${external}`,
      );
    }
    for (const [k, v] of Object.entries(s.environment ?? {})) {
      const prop = propertyOf(k);
      if (prop in defaults && String(v) !== defaults[prop]) {
        drift.push(`${name}: ${k}=${v} but the local stack sets ${prop}=${defaults[prop]}`);
      }
    }
  }
  return drift;
}

/** The task a Deno service runs (`deno task <name>` in command or entrypoint), if any. */
export function denoTaskOf(s: ComposeService): string | undefined {
  const words = [...(s.entrypoint ?? []), ...(s.command ?? [])];
  const i = words.indexOf("task");
  return i >= 0 ? words[i + 1] : undefined;
}
