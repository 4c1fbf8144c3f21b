/**
 * Kafka client factory: plaintext for the local stack, SASL_SSL (PLAIN or SCRAM) for a
 * secured or managed cluster, all from configuration.
 *
 * @example
 * ```ts
 * import { createKafka, kafkaConfigFromEnv } from "./client.ts";
 * const kafka = createKafka(kafkaConfigFromEnv({ clientId: "orders-producer" }));
 * ```
 * @module
 */
import { installReadCommittedFix } from "./read_committed.ts";
import { Kafka, type KafkaConfig, type logCreator, logLevel, type SASLOptions } from "kafkajs";
import process from "node:process";
import {
  anyAccepts,
  ConfigError,
  envChoice,
  type EnvDef,
  envString,
  serviceAtPort,
  ServiceUnreachableError,
} from "../env/mod.ts";
import { KAFKA_CLIENT_PORTS, localEndpoints } from "../env/mod.ts";

/** How to reach and authenticate to a cluster. */
export interface KafkaClientOptions {
  /** Bootstrap servers, `host:port`. */
  brokers: string[];
  /** Client id shown in broker logs and quotas. @default "practicum" */
  clientId?: string;
  /** `PLAINTEXT`, `SSL`, `SASL_SSL` or `SASL_PLAINTEXT`. @default "PLAINTEXT" */
  securityProtocol?: SecurityProtocol;
  /** PEM file of the CA that signed the brokers' certificates (SSL, SASL_SSL). */
  caFile?: string;
  /** SASL mechanism. @default "plain" */
  saslMechanism?: "plain" | "scram-sha-256" | "scram-sha-512";
  /** SASL user. */
  username?: string;
  /** SASL password. */
  password?: string;
  /** kafkajs log level: ERROR, WARN, INFO, DEBUG or NOTHING. @default "WARN" */
  logLevel?: keyof typeof logLevel;
  /** Connection timeout in ms. @default 10000 */
  connectionTimeout?: number;
  /** Retries of a failed request or connection. @default 8 */
  retries?: number;
}

/** Security protocols a client can speak, as Kafka names them. */
export const SECURITY_PROTOCOLS = ["PLAINTEXT", "SSL", "SASL_SSL", "SASL_PLAINTEXT"] as const;
/** One of {@linkcode SECURITY_PROTOCOLS}. */
export type SecurityProtocol = typeof SECURITY_PROTOCOLS[number];

/** The env variables {@linkcode kafkaConfigFromEnv} reads, for a task's `--help`. */
export const KAFKA_ENV: Record<string, EnvDef> = {
  KAFKA_BOOTSTRAP_SERVERS: {
    description: "bootstrap servers, host:port[,host:port…]",
    default: `the running local stack's, else localhost:${KAFKA_CLIENT_PORTS.main}`,
  },
  KAFKA_SECURITY_PROTOCOL: {
    description: "PLAINTEXT, SSL, SASL_SSL or SASL_PLAINTEXT",
    default: "PLAINTEXT",
  },
  KAFKA_SASL_MECHANISM: { description: "plain, scram-sha-256 or scram-sha-512", default: "plain" },
  KAFKA_SASL_USERNAME: { description: "SASL user (SASL_* protocols)" },
  KAFKA_SASL_PASSWORD: { description: "SASL password (SASL_* protocols)" },
  KAFKA_SSL_CA_FILE: { description: "PEM file of the CA that signed the brokers' certificates" },
};

/** Reads client options from env; bootstrap defaults to the running local stack. */
export function kafkaConfigFromEnv(
  overrides: Partial<KafkaClientOptions> = {},
  env: { get(name: string): string | undefined } = Deno.env,
): KafkaClientOptions {
  const raw = envString(
    "KAFKA_BOOTSTRAP_SERVERS",
    localEndpoints().kafka.main ?? `localhost:${KAFKA_CLIENT_PORTS.main}`,
    env,
  );
  const brokers = raw.split(",").map((s) => s.trim()).filter(Boolean);
  for (const b of brokers) {
    if (!/^[^:\s]+:\d{1,5}$/.test(b)) {
      throw new ConfigError(
        `Cannot use KAFKA_BOOTSTRAP_SERVERS as each entry must be host:port: current value is '${raw}'`,
      );
    }
  }
  const securityProtocol = envChoice(
    "KAFKA_SECURITY_PROTOCOL",
    SECURITY_PROTOCOLS,
    "PLAINTEXT",
    env,
  );
  const saslMechanism = envChoice(
    "KAFKA_SASL_MECHANISM",
    ["plain", "scram-sha-256", "scram-sha-512"] as const,
    "plain",
    env,
  );
  return {
    brokers,
    securityProtocol,
    saslMechanism,
    caFile: env.get("KAFKA_SSL_CA_FILE") || undefined,
    username: env.get("KAFKA_SASL_USERNAME") || undefined,
    password: env.get("KAFKA_SASL_PASSWORD") || undefined,
    // KAFKAJS_LOG_LEVEL (older name) wins over LOG_LEVEL, the level every task documents.
    logLevel: envChoice(
      env.get("KAFKAJS_LOG_LEVEL") ? "KAFKAJS_LOG_LEVEL" : "LOG_LEVEL",
      ["NOTHING", "ERROR", "WARN", "INFO", "DEBUG"] as const,
      "WARN",
      env,
    ),
    ...overrides,
  };
}

/** Retriable broker answers kafkajs logs as errors although it retries them itself. */
const RETRIABLE =
  /coordinator is (loading|not available)|not the correct coordinator|leader|LEADER_NOT_AVAILABLE|rebalanc|There is no leader|NOT_CONTROLLER|Connection error|ECONNREFUSED|does not host this topic-partition/i;

const LEVEL_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(logLevel).map(([name, n]) => [n, name]),
);

/** kafkajs logs as one line each; retriable protocol errors are demoted to debug. */
const lineLogger: logCreator = (configured) => ({ namespace, level, log }) => {
  const { message, error, ...rest } = log as { message: string; error?: string };
  let effective = level;
  if (effective === logLevel.ERROR && RETRIABLE.test(`${message} ${error ?? ""}`)) {
    effective = logLevel.DEBUG;
  }
  // PartitionedProducer and the streams runtime bound kafkajs' retries on purpose: they re-send
  // themselves, with the same sequence numbers, so this warning does not apply.
  if (/^Limiting retries for the idempotent producer/.test(message)) effective = logLevel.DEBUG;
  // A consumer crashed on a retriable error (a rebalance, a coordinator moving) and kafkajs
  // restarts it by design: information, not an error of a healthy run.
  if (/^Restarting the consumer/.test(message)) effective = logLevel.INFO;
  if (effective > configured || effective === logLevel.NOTHING) return;
  const tag = LEVEL_NAMES[effective] ?? "LOG";
  const extra = error ? ` — ${error}` : "";
  const where = "broker" in rest ? ` (${(rest as { broker: string }).broker})` : "";
  console.error(`[kafkajs ${tag}] ${namespace ?? "client"}: ${message}${extra}${where}`);
};

let warningFiltered = false;

/**
 * kafkajs computes some timer delays from stale timestamps and Node's timers then warn
 * "TimeoutNegativeWarning" (the timer fires at once, as kafkajs intends); hide that one
 * warning so task output stays readable. Other warnings pass through.
 */
function filterTimerWarning(): void {
  if (warningFiltered) return;
  warningFiltered = true;
  // kafkajs' one-time notice that v2 changed the default partitioner (we use the new one).
  if (Deno.env.get("KAFKAJS_NO_PARTITIONER_WARNING") === undefined) {
    Deno.env.set("KAFKAJS_NO_PARTITIONER_WARNING", "1");
  }
  const emit = process.emitWarning.bind(process);
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const name = typeof warning === "string" ? String(rest[0] ?? "") : warning.name;
    if (name === "TimeoutNegativeWarning") return;
    (emit as (...a: unknown[]) => void)(warning, ...rest);
  }) as typeof process.emitWarning;
}

/** Creates a kafkajs client from validated options. */
export function createKafka(options: KafkaClientOptions): Kafka {
  filterTimerWarning();
  installReadCommittedFix();
  const {
    brokers,
    clientId = "practicum",
    securityProtocol = "PLAINTEXT",
    caFile,
    saslMechanism = "plain",
    username,
    password,
    logLevel: level = "WARN",
    connectionTimeout = 10_000,
    retries = 8,
  } = options;
  if (brokers.length === 0) throw new ConfigError("Cannot create a Kafka client without brokers");
  const config: KafkaConfig = {
    brokers,
    clientId,
    connectionTimeout,
    requestTimeout: 30_000,
    logLevel: logLevel[level],
    logCreator: lineLogger,
    retry: { retries, initialRetryTime: 200, maxRetryTime: 5_000 },
  };
  if (securityProtocol === "SSL" || securityProtocol === "SASL_SSL") {
    let ca: string | undefined;
    if (caFile) {
      try {
        ca = Deno.readTextFileSync(caFile);
      } catch (err) {
        throw new ConfigError(
          `Cannot read the CA file KAFKA_SSL_CA_FILE='${caFile}': ${(err as Error).message}`,
        );
      }
      if (!ca.includes("-----BEGIN CERTIFICATE-----")) {
        throw new ConfigError(
          `KAFKA_SSL_CA_FILE='${caFile}' holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
        );
      }
    }
    config.ssl = ca ? { ca: [ca], rejectUnauthorized: true } : true;
  }
  if (securityProtocol === "SASL_SSL" || securityProtocol === "SASL_PLAINTEXT") {
    if (!username || !password) {
      throw new ConfigError(
        `KAFKA_SECURITY_PROTOCOL=${securityProtocol} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD`,
      );
    }
    config.sasl = { mechanism: saslMechanism, username, password } as SASLOptions;
  }
  return failFast(new Kafka(config), brokers);
}

/**
 * The first `connect()` of every admin, producer and consumer made from `kafka` first checks
 * that at least one bootstrap server accepts a TCP connection (within ~2 s), and otherwise
 * throws a {@linkcode ServiceUnreachableError} naming the servers and how to start them —
 * instead of kafkajs' retry loop (~20 s) ending in a stack trace. Later connects (after a
 * disconnect, in a failover drill) go straight to kafkajs and its retries.
 */
function failFast(kafka: Kafka, brokers: string[]): Kafka {
  let probe: Promise<void> | undefined;
  const check = () =>
    probe ??= anyAccepts(brokers).then((ok) => {
      if (ok) return;
      probe = undefined; // a later client may find the cluster up
      const port = Number(brokers[0].slice(brokers[0].lastIndexOf(":") + 1));
      const { service, hint } = serviceAtPort(port);
      throw new ServiceUnreachableError(
        service.startsWith("Kafka") ? service : "Kafka",
        brokers.join(","),
        hint,
      );
    });
  for (const kind of ["admin", "producer", "consumer"] as const) {
    const make = (kafka[kind] as (...a: unknown[]) => { connect(): Promise<void> }).bind(kafka);
    (kafka as unknown as Record<string, unknown>)[kind] = (...args: unknown[]) => {
      const client = make(...args);
      const connect = client.connect.bind(client);
      let first = true;
      client.connect = async () => {
        if (first) {
          first = false;
          await check();
        }
        return connect();
      };
      return client;
    };
  }
  return kafka;
}
