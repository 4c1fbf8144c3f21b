/**
 * Client options for a secured cluster (SASL_SSL) from configuration. Every value comes from
 * env when set — `KAFKA_BOOTSTRAP_SERVERS`, `KAFKA_SECURITY_PROTOCOL`, `KAFKA_SSL_CA_FILE`,
 * `KAFKA_SASL_MECHANISM`, `KAFKA_SASL_USERNAME`, `KAFKA_SASL_PASSWORD` — so the same code
 * points at any cluster; otherwise from the local stack's secure profile
 * (`deno task stack up --secure`): its SASL_SSL bootstrap, generated CA and the password of
 * the user asked for.
 *
 * @example
 * ```ts
 * import { createKafka, secureKafkaConfigFromEnv } from "./mod.ts";
 * const kafka = createKafka(secureKafkaConfigFromEnv("producer", { clientId: "practice6-producer" }));
 * ```
 * @module
 */
import { ConfigError, envChoice, envString } from "../env/mod.ts";
import { localEndpoints } from "../env/mod.ts";
import { type KafkaClientOptions, kafkaConfigFromEnv, SECURITY_PROTOCOLS } from "./client.ts";

/** What the local stack records about its secure cluster in `endpoints.json`. */
export interface SecureEndpoints {
  /** SASL_PLAINTEXT bootstrap of the same cluster (inter-broker listener). */
  internal: string;
  /** PEM of the CA. */
  caFile: string;
  /** JSON with the generated passwords (`users`). */
  secretsFile: string;
}

/** The secure cluster of the local stack, or undefined when it is not up. */
export function localSecureCluster(): (SecureEndpoints & { bootstrap: string }) | undefined {
  const ep = localEndpoints();
  const sec = ep.kafkaSecure as SecureEndpoints | undefined;
  if (!ep.kafka.secure || !sec) return undefined;
  return { ...sec, bootstrap: ep.kafka.secure };
}

/** Password of a user of the local stack's secure cluster. */
export function localSecurePassword(user: string): string | undefined {
  const sec = localSecureCluster();
  if (!sec) return undefined;
  try {
    return JSON.parse(Deno.readTextFileSync(sec.secretsFile)).users?.[user];
  } catch {
    return undefined;
  }
}

/**
 * SASL_SSL client options for `user` (see the module doc). Fails with a clear message when
 * neither env nor a local secure cluster provides the bootstrap servers.
 */
export function secureKafkaConfigFromEnv(
  user: string,
  overrides: Partial<KafkaClientOptions> = {},
  env: { get(name: string): string | undefined } = Deno.env,
): KafkaClientOptions {
  const local = localSecureCluster();
  const bootstrap = env.get("KAFKA_BOOTSTRAP_SERVERS") || local?.bootstrap;
  if (!bootstrap) {
    throw new ConfigError(
      "No secure Kafka cluster: set KAFKA_BOOTSTRAP_SERVERS (and KAFKA_SSL_CA_FILE, KAFKA_SASL_*) " +
        "or start the local one with `deno task stack up --secure`",
    );
  }
  const username = envString("KAFKA_SASL_USERNAME", user, env);
  const base = kafkaConfigFromEnv({}, {
    get: (name: string) => name === "KAFKA_BOOTSTRAP_SERVERS" ? bootstrap : env.get(name),
  });
  return {
    ...base,
    securityProtocol: envChoice("KAFKA_SECURITY_PROTOCOL", SECURITY_PROTOCOLS, "SASL_SSL", env),
    saslMechanism: envChoice(
      "KAFKA_SASL_MECHANISM",
      ["plain", "scram-sha-256", "scram-sha-512"] as const,
      "scram-sha-512",
      env,
    ),
    caFile: env.get("KAFKA_SSL_CA_FILE") || local?.caFile,
    username,
    password: env.get("KAFKA_SASL_PASSWORD") || localSecurePassword(username),
    ...overrides,
  };
}
