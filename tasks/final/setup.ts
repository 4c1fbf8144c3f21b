/**
 * `deno task final:setup` — the final project's `kafka-init`: creates every topic of the
 * declared topology (lib/marketplace/topology.ts) on the secure cluster and its ACLs, as the
 * super user `admin` (idempotent), generates the SHOP API's store keys when absent, and prints
 * the ACL table as the cluster now holds it: principal × topic × operations.
 * Needs `deno task stack up --secure` (or KAFKA_* env pointing at a secured cluster).
 */
import { runMain } from "../../lib/env/mod.ts";
import {
  type AclGrant,
  createKafka,
  explainKafkaError,
  secureKafkaConfigFromEnv,
} from "../../lib/kafka/mod.ts";
import {
  ensureStoreKeys,
  FINAL_TOPICS,
  setupFinalTopology,
  storeKeysFile,
  STORES,
} from "../../lib/marketplace/mod.ts";

/** Operations a grant gives on `topic` (literal name, or a prefix of it). */
function opsOn(acls: AclGrant[], principal: string, topic: string): string[] {
  return [
    ...new Set(
      acls.filter((a) =>
        a.principal === principal && a.resourceType === "topic" &&
        (a.pattern === "prefixed" ? topic.startsWith(a.resourceName) : a.resourceName === topic)
      ).map((a) => a.operation),
    ),
  ].sort();
}

await runMain(async () => {
  const options = secureKafkaConfigFromEnv("admin", { clientId: "final-setup" });
  const admin = createKafka(options).admin();
  let acls: AclGrant[];
  try {
    await admin.connect();
    acls = await setupFinalTopology(admin);
  } catch (err) {
    throw explainKafkaError(err, options, "set up the final project's topics and ACLs");
  } finally {
    await admin.disconnect().catch(() => {});
  }
  console.log(`Topics ready: ${FINAL_TOPICS.map((t) => t.topic).join(", ")}`);
  const principals = [...new Set(acls.map((a) => a.principal))].sort();
  console.log("ACLs on the final topics (principal × topic → operations; '-' = none):");
  console.table(Object.fromEntries(principals.map((p) => [
    p,
    Object.fromEntries(
      FINAL_TOPICS.map((t) => [t.topic, opsOn(acls, p, t.topic).join(",") || "-"]),
    ),
  ])));
  const other = acls.filter((a) => a.resourceType !== "topic" || a.pattern === "prefixed");
  console.log("Group, transactional id and prefixed grants:");
  console.table(other.map((a) => ({
    principal: a.principal,
    resource: `${a.resourceType}:${a.resourceName}${a.pattern === "prefixed" ? "*" : ""}`,
    operation: a.operation,
  })));
  const file = storeKeysFile();
  const keys = await ensureStoreKeys(STORES, file);
  console.log(`Store keys of ${Object.keys(keys).length} stores in ${file} (mode 0600)`);
});
