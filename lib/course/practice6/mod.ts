/**
 * Practice 6: topics and ACLs on the secure cluster, and the producer and consumer that show
 * what the ACLs allow. The producer user may write topic-1 and topic-2; the consumer user may
 * read topic-1 only (with its group); reading topic-2 fails with TOPIC_AUTHORIZATION_FAILED,
 * as in the seed's consumer log.
 *
 * @example
 * ```ts
 * import { setupPractice6 } from "./mod.ts";
 * await setupPractice6(adminOfSuperUser);
 * ```
 * @module
 */
import type { Admin, Kafka } from "kafkajs";
import {
  type AclGrant,
  applyAcls,
  ensureTopic,
  type KafkaClientOptions,
  type TopicSpec,
  tryRead as probeRead,
  type TryReadOptions,
} from "../../kafka/mod.ts";
import { retry } from "../../env/mod.ts";

export type { AclGrant } from "../../kafka/mod.ts";
export { type Access, tryDescribe, tryWrite } from "../../kafka/mod.ts";

/** {@linkcode probeRead} with the practical's consumer group as the default group. */
export function tryRead(
  kafka: Kafka,
  options: Partial<KafkaClientOptions>,
  topic: string,
  readOptions: Partial<TryReadOptions> = {},
): ReturnType<typeof probeRead> {
  return probeRead(kafka, options, topic, { group: CONSUMER_GROUP, ...readOptions });
}

/** The seed's topics, replicated on the 3 nodes of the secure cluster. */
export const PRACTICE6_TOPICS: TopicSpec[] = ["topic-1", "topic-2"].map((topic) => ({
  topic,
  partitions: 3,
  replicationFactor: 3,
  config: { "min.insync.replicas": "2" },
}));

/** Consumer group of the consumer user (its ACL is on this prefix). */
export const CONSUMER_GROUP = "practice6-consumer";

/** The ACLs of practice 6. */
export const PRACTICE6_ACLS: AclGrant[] = [
  ...["topic-1", "topic-2"].flatMap((t) =>
    (["WRITE", "DESCRIBE"] as const).map((operation) => ({
      principal: "User:producer",
      resourceType: "topic" as const,
      resourceName: t,
      operation,
    }))
  ),
  ...(["READ", "DESCRIBE"] as const).map((operation) => ({
    principal: "User:consumer",
    resourceType: "topic" as const,
    resourceName: "topic-1",
    operation,
  })),
  {
    principal: "User:consumer",
    resourceType: "group",
    resourceName: CONSUMER_GROUP,
    operation: "READ",
    pattern: "prefixed",
  },
];

/** Creates the topics (idempotent) and the ACLs; returns the ACLs now on the topics/group. */
export async function setupPractice6(admin: Admin): Promise<AclGrant[]> {
  for (const spec of PRACTICE6_TOPICS) {
    // A topic just created may not be in every broker's metadata yet: ask again.
    await retry(() => ensureTopic(admin, spec), {
      delayMs: 1_000,
      retryIf: (err) => /does not host this topic-partition/.test(String(err)),
    });
  }
  return await applyAcls(admin, PRACTICE6_ACLS);
}
