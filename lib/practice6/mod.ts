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
import {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  type Admin,
  type Kafka,
  Partitioners,
  ResourcePatternTypes,
} from "kafkajs";
import { ensureTopic, type TopicSpec } from "../kafka/topics.ts";
import { explainKafkaError, KafkaAccessError } from "../kafka/errors.ts";
import type { KafkaClientOptions } from "../kafka/client.ts";

/** The seed's topics, replicated on the 3 nodes of the secure cluster. */
export const PRACTICE6_TOPICS: TopicSpec[] = ["topic-1", "topic-2"].map((topic) => ({
  topic,
  partitions: 3,
  replicationFactor: 3,
  config: { "min.insync.replicas": "2" },
}));

/** Consumer group of the consumer user (its ACL is on this prefix). */
export const CONSUMER_GROUP = "practice6-consumer";

/** One ACL as the practice grants it. */
export interface AclGrant {
  principal: string;
  resourceType: "topic" | "group";
  resourceName: string;
  operation: "READ" | "WRITE" | "DESCRIBE";
  /** Literal name, or every name starting with it. @default "literal" */
  pattern?: "literal" | "prefixed";
}

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

function toKafkajs(g: AclGrant) {
  return {
    resourceType: g.resourceType === "topic" ? AclResourceTypes.TOPIC : AclResourceTypes.GROUP,
    resourceName: g.resourceName,
    resourcePatternType: g.pattern === "prefixed"
      ? ResourcePatternTypes.PREFIXED
      : ResourcePatternTypes.LITERAL,
    principal: g.principal,
    host: "*",
    operation: AclOperationTypes[g.operation],
    permissionType: AclPermissionTypes.ALLOW,
  };
}

function operationName(code: number): AclGrant["operation"] {
  const entry = Object.entries(AclOperationTypes).find(([, v]) => v === code);
  return (entry?.[0] ?? String(code)) as AclGrant["operation"];
}

/** Creates the topics (idempotent) and the ACLs; returns the ACLs now on the topics/group. */
export async function setupPractice6(admin: Admin): Promise<AclGrant[]> {
  for (const spec of PRACTICE6_TOPICS) {
    // A topic just created may not be in every broker's metadata yet: ask again.
    for (let attempt = 1;; attempt++) {
      try {
        await ensureTopic(admin, spec);
        break;
      } catch (err) {
        if (attempt >= 5 || !/does not host this topic-partition/.test(String(err))) throw err;
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  }
  await admin.createAcls({ acl: PRACTICE6_ACLS.map(toKafkajs) });
  // In KRaft each broker applies new ACLs when the metadata update reaches it, a moment after
  // createAcls returns: wait until describe shows them all several times in a row.
  const deadline = Date.now() + 30_000;
  let acls = await describePractice6Acls(admin);
  for (let streak = 0; streak < 3 && Date.now() < deadline;) {
    await new Promise((r) => setTimeout(r, 300));
    acls = await describePractice6Acls(admin);
    streak = acls.length >= PRACTICE6_ACLS.length ? streak + 1 : 0;
  }
  if (acls.length < PRACTICE6_ACLS.length) {
    throw new Error(
      `Only ${acls.length} of ${PRACTICE6_ACLS.length} ACLs are visible 30 s after creating them`,
    );
  }
  return acls;
}

/** The ACLs of any principal on topic-1, topic-2 and the consumer group. */
export async function describePractice6Acls(admin: Admin): Promise<AclGrant[]> {
  const res = await admin.describeAcls({
    resourceType: AclResourceTypes.ANY,
    resourcePatternType: ResourcePatternTypes.ANY,
    operation: AclOperationTypes.ANY,
    permissionType: AclPermissionTypes.ANY,
  });
  const names = new Set(["topic-1", "topic-2", CONSUMER_GROUP]);
  const out: AclGrant[] = [];
  for (const r of res.resources) {
    if (!names.has(r.resourceName)) continue;
    for (const a of r.acls) {
      out.push({
        principal: a.principal,
        resourceType: r.resourceType === AclResourceTypes.TOPIC ? "topic" : "group",
        resourceName: r.resourceName,
        operation: operationName(a.operation),
        pattern: r.resourcePatternType === ResourcePatternTypes.PREFIXED ? "prefixed" : "literal",
      });
    }
  }
  return out.sort((a, b) =>
    `${a.principal}${a.resourceName}${a.operation}`.localeCompare(
      `${b.principal}${b.resourceName}${b.operation}`,
    )
  );
}

/** Outcome of one access attempt. */
export type Access =
  | { allowed: true; detail: string }
  | { allowed: false; error: KafkaAccessError };

/** Sends `count` messages to `topic` (acks=all); denied access is returned, not thrown. */
export async function tryWrite(
  kafka: Kafka,
  options: Partial<KafkaClientOptions>,
  topic: string,
  count = 1,
  prefix = "message",
): Promise<Access> {
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    retry: { retries: 1 },
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  try {
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: count }, (_, i) => ({
        key: `${prefix}-${i}`,
        value: JSON.stringify({ id: `${prefix}-${i}`, text: `${prefix} ${i}`, at: new Date() }),
      })),
    });
    return { allowed: true, detail: `wrote ${count} message(s) to ${topic}` };
  } catch (err) {
    return { allowed: false, error: explainKafkaError(err, options, `write to topic '${topic}'`) };
  } finally {
    await producer.disconnect().catch(() => {});
  }
}

/** Options of {@linkcode tryRead}. */
export interface TryReadOptions {
  /** Consumer group. @default CONSUMER_GROUP */
  group?: string;
  /** Messages to wait for; 0 = only join the group and read what is there. @default 1 */
  min?: number;
  /** Give up after this long, in ms. @default 20000 */
  timeoutMs?: number;
  /** Once `min` messages (or the group join, for 0) arrived, stop after this quiet time. @default 1500 */
  idleMs?: number;
}

const COORDINATOR_BUSY =
  /coordinator is loading|coordinator is not available|not the correct coordinator|GROUP_LOAD_IN_PROGRESS|COORDINATOR_NOT_AVAILABLE|NOT_COORDINATOR/i;

/**
 * Reads `topic` from the beginning (or the group's committed offsets) until `min` messages and
 * then `idleMs` of quiet, or `timeoutMs`. Denied access is returned, not thrown.
 */
export async function tryRead(
  kafka: Kafka,
  options: Partial<KafkaClientOptions>,
  topic: string,
  readOptions: TryReadOptions = {},
): Promise<Access & { values?: string[] }> {
  const { group = CONSUMER_GROUP, min = 1, timeoutMs = 20_000, idleMs = 1_500 } = readOptions;
  const consumer = kafka.consumer({
    groupId: group,
    // A group coordinator still loading (a fresh cluster) is worth waiting for; every other
    // failure (authorization above all) is the answer and ends the attempt.
    retry: {
      retries: 10,
      restartOnFailure: (e) =>
        Promise.resolve(
          COORDINATOR_BUSY.test(`${e.message} ${(e as { type?: string }).type ?? ""}`),
        ),
    },
    allowAutoTopicCreation: false,
  });
  const values: string[] = [];
  let failure: unknown;
  let joined = false;
  let lastAt = Date.now();
  const { CRASH, GROUP_JOIN } = consumer.events;
  consumer.on(CRASH, (e) => {
    if (!e.payload.restart) failure = e.payload.error;
  });
  consumer.on(GROUP_JOIN, () => {
    joined = true;
    lastAt = Date.now();
  });
  const action = `read topic '${topic}' in group '${group}'`;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        values.push(message.value?.toString() ?? "");
        lastAt = Date.now();
        return Promise.resolve();
      },
    });
    const deadline = Date.now() + timeoutMs;
    const done = () => joined && values.length >= min && Date.now() - lastAt >= idleMs;
    while (!done() && failure === undefined && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    if (failure !== undefined) {
      return { allowed: false, error: explainKafkaError(failure, options, action) };
    }
    if (values.length < min || !joined) {
      return {
        allowed: false,
        error: new KafkaAccessError(
          "other",
          `Read ${values.length} of ${min} message(s) from '${topic}' in ${timeoutMs} ms`,
        ),
      };
    }
    return { allowed: true, detail: `read ${values.length} message(s) from ${topic}`, values };
  } catch (err) {
    return { allowed: false, error: explainKafkaError(err, options, action) };
  } finally {
    await consumer.disconnect().catch(() => {});
  }
}

/** Fetches the metadata of `topic` (DESCRIBE). */
export async function tryDescribe(
  kafka: Kafka,
  options: Partial<KafkaClientOptions>,
  topic: string,
): Promise<Access> {
  const admin = kafka.admin({ retry: { retries: 0 } });
  try {
    await admin.connect();
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    return {
      allowed: true,
      detail: `${topic} has ${meta.topics[0]?.partitions.length ?? 0} partitions`,
    };
  } catch (err) {
    return {
      allowed: false,
      error: explainKafkaError(err, options, `describe topic '${topic}'`),
    };
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
