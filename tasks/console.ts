/**
 * `deno task console [--port N] [--hostname H]` — the web console for the stack's clusters
 * (main, secure as SASL_SSL, mirror), their Connect clusters, schema registry and ACLs, behind a
 * login form. `--hash-password` reads a password
 * from stdin and prints its hash for `CONSOLE_USERS`.
 */
import { defineTask, envInt, flagInt, runMain } from "../lib/env/mod.ts";
import {
  discoverClusters,
  ensureConsoleUsers,
  hashPassword,
  startConsole,
} from "../lib/console/mod.ts";

const SPEC = defineTask({
  task: "console",
  summary:
    "Web console (Kafka UI with a login form): brokers, topics, consumer groups and messages of every cluster the stack runs, Connect, schema registry, ACLs; admins produce, create topics, pause/resume/restart connectors and reset group offsets.",
  flags: {
    port: { type: "string", default: "8090", valueName: "N", description: "HTTP port" },
    hostname: {
      type: "string",
      default: "127.0.0.1",
      valueName: "HOST",
      description: "address to listen on",
    },
    "hash-password": {
      type: "boolean",
      description: "read a password from stdin, print its hash for CONSOLE_USERS, exit",
    },
  },
  env: {
    CONSOLE_USERS: {
      description: "users as name:role:hash;… (role viewer or admin; hash from --hash-password)",
      default: "<STACK_DIR>/secrets/console/users.json, generated with admin and viewer",
    },
    CONSOLE_SECURE_USER: {
      description: "principal the console uses on the secure cluster",
      default: "admin",
    },
    CONSOLE_CLUSTERS: { description: "more plaintext clusters: name=host:port[,host:port];…" },
    CONSOLE_CONNECT: {
      description: "more Kafka Connect clusters of a cluster: cluster/name=http://host:port;…",
    },
    KAFKA_CONNECT_URL: {
      description: "main's Connect worker (page `connect`)",
      default: "the running local stack's",
    },
    KAFKA_SCHEMA_REGISTRY_URL: {
      description: "main's schema registry",
      default: "the running local stack's",
    },
    CONSOLE_SESSION_TTL: { description: "session lifetime in seconds", default: "3600" },
    CONSOLE_LOGIN_MAX_ATTEMPTS: {
      description: "failed logins per client and user before a pause",
      default: "5",
    },
    CONSOLE_LOGIN_WINDOW: { description: "window of the failed logins, seconds", default: "300" },
    KAFKA_BOOTSTRAP_SERVERS: {
      description: "the main cluster",
      default: "the running local stack's",
    },
  },
  examples: [
    "deno task console",
    "echo -n 'a-long-password' | deno task console --hash-password",
    "CONSOLE_USERS='alice:admin:pbkdf2-sha256$…' deno task console --port 8091",
  ],
});

await runMain(async (cli) => {
  if (cli.booleans["hash-password"]) {
    const text = (await new Response(Deno.stdin.readable).text()).replace(/\r?\n$/, "");
    console.log(await hashPassword(text));
    return;
  }
  const port = flagInt(cli, "port", 8090, { min: 0, max: 65535 });
  const { users, source, generated } = await ensureConsoleUsers();
  const clusters = discoverClusters();
  const server = startConsole({
    users,
    clusters,
    port,
    hostname: cli.values.hostname ?? "127.0.0.1",
    sessionTtlSeconds: envInt("CONSOLE_SESSION_TTL", { default: 3600, min: 60, max: 7 * 86_400 }),
    maxLoginAttempts: envInt("CONSOLE_LOGIN_MAX_ATTEMPTS", { default: 5, min: 1, max: 1000 }),
    loginWindowSeconds: envInt("CONSOLE_LOGIN_WINDOW", { default: 300, min: 1, max: 86_400 }),
  });
  console.log(`Console on ${server.url}/ (users from ${source}: ${[...users.keys()].join(", ")})`);
  if (generated) console.log(`Generated passwords of admin and viewer are in ${generated}`);
  for (const c of clusters) {
    console.log(`  cluster ${c.name}: ${c.options.brokers.join(",")} (${c.description})`);
    for (const t of c.connect ?? []) console.log(`    Connect ${t.name}: ${t.url}`);
    if (c.registry) console.log(`    schema registry: ${c.registry.url}`);
  }
  const stop = async () => {
    await server.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}, SPEC);
