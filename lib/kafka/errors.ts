/**
 * Turns kafkajs' connection, TLS, SASL and authorization failures into one clear sentence
 * that says what went wrong and which setting to look at.
 *
 * @example
 * ```ts
 * import { explainKafkaError } from "./errors.ts";
 * try {
 *   await admin.connect();
 * } catch (err) {
 *   console.error(explainKafkaError(err, options).message);
 * }
 * ```
 * @module
 */
import type { KafkaClientOptions } from "./client.ts";

/** What kind of failure an explained error is. */
export type KafkaFailureKind =
  | "tls-expected"
  | "untrusted-certificate"
  | "authentication"
  | "authorization"
  | "connection"
  | "other";

/** A failure with a readable message and its kind; `cause` is the original error. */
export class KafkaAccessError extends Error {
  override name = "KafkaAccessError";
  constructor(readonly kind: KafkaFailureKind, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** Text of an error and of its causes (kafkajs nests the real reason). */
export function errorText(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let i = 0; e && i < 5; i++) {
    const x = e as { message?: string; type?: string; originalError?: unknown; cause?: unknown };
    parts.push(String(x.message ?? e));
    if (x.type) parts.push(x.type);
    e = x.originalError ?? x.cause;
  }
  return parts.join(" | ");
}

/** Kafka error codes that mean "not allowed". */
const AUTHZ = /(TOPIC|GROUP|CLUSTER|TRANSACTIONAL_ID)_AUTHORIZATION_FAILED|not authorized/i;

/**
 * Explains a kafkajs error for a client with `options` (what it tried to do is `action`,
 * e.g. "read topic 'topic-2'"). Returns a {@linkcode KafkaAccessError} whose message is one
 * sentence naming the cause and the setting to change.
 */
export function explainKafkaError(
  err: unknown,
  options: Partial<KafkaClientOptions>,
  action = "connect",
): KafkaAccessError {
  if (err instanceof KafkaAccessError) return err;
  const text = errorText(err);
  const where = options.brokers?.join(",") ?? "the brokers";
  const protocol = options.securityProtocol ?? "PLAINTEXT";
  const user = options.username ? `user '${options.username}'` : "this client";
  const mech = (options.saslMechanism ?? "plain").toUpperCase();
  if (/certificate|self[- ]signed|unable to verify|UNKNOWN_CA|unknown ca|altnames/i.test(text)) {
    const detail = text.match(/(self[- ]signed[^|]*|unable to verify[^|]*|Hostname[^|]*)/i)?.[1];
    return new KafkaAccessError(
      "untrusted-certificate",
      `TLS handshake with ${where} failed: the broker's certificate is not trusted by the CA in ` +
        `KAFKA_SSL_CA_FILE='${options.caFile ?? "(system CAs)"}'${
          detail ? ` (${detail.trim()})` : ""
        }; point it at the CA that signed the brokers' certificates.`,
      { cause: err },
    );
  }
  if (/SASL|Authentication failed|invalid credentials|Invalid username or password/i.test(text)) {
    return new KafkaAccessError(
      "authentication",
      `Authentication of ${user} with SASL ${mech} at ${where} failed: the user is unknown or ` +
        `the password is wrong (KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD).`,
      { cause: err },
    );
  }
  if ((err as Error)?.name === "KafkaJSGroupCoordinatorNotFound") {
    // kafkajs drops the brokers' answers here; it retries "coordinator not available" itself,
    // so every broker refused FindCoordinator, which for a consumer group means no ACL.
    return new KafkaAccessError(
      "authorization",
      `${user[0].toUpperCase()}${user.slice(1)} is not allowed to ${action} ` +
        `(GROUP_AUTHORIZATION_FAILED: every broker refused to name the group's coordinator): ` +
        "no ACL lets it use the consumer group; ask the cluster admin for an ACL.",
      { cause: err },
    );
  }
  if (AUTHZ.test(text)) {
    const code = text.match(/([A-Z_]+_AUTHORIZATION_FAILED)/)?.[1] ??
      (/topic/i.test(text)
        ? "TOPIC_AUTHORIZATION_FAILED"
        : /group/i.test(text)
        ? "GROUP_AUTHORIZATION_FAILED"
        : "AUTHORIZATION_FAILED");
    return new KafkaAccessError(
      "authorization",
      `${user[0].toUpperCase()}${user.slice(1)} is not allowed to ${action} (${code}): ` +
        `no ACL grants it; ask the cluster admin for an ACL.`,
      { cause: err },
    );
  }
  if (
    (protocol === "PLAINTEXT" || protocol === "SASL_PLAINTEXT") &&
    /Closed connection|ECONNRESET|socket hang up|Connection error: read/i.test(text)
  ) {
    return new KafkaAccessError(
      "tls-expected",
      `The broker at ${where} closed the connection on the first request: its listener expects ` +
        `TLS (SSL/SASL_SSL) but this client speaks ${protocol}; set KAFKA_SECURITY_PROTOCOL=SASL_SSL ` +
        `and KAFKA_SSL_CA_FILE.`,
      { cause: err },
    );
  }
  if (/ECONNREFUSED|Connection (error|timeout)|ETIMEDOUT|Closed connection/i.test(text)) {
    return new KafkaAccessError(
      "connection",
      `Cannot reach Kafka at ${where} over ${protocol}: ${text.split(" | ")[0]}; ` +
        "check KAFKA_BOOTSTRAP_SERVERS and that the cluster is up (`deno task stack status`).",
      { cause: err },
    );
  }
  return new KafkaAccessError("other", `Kafka ${action} failed: ${text}`, { cause: err });
}
