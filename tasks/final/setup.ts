/**
 * `deno task final:setup` — the final project's `kafka-init`: creates every topic of the
 * declared topology (lib/marketplace/topology.ts) on the secure cluster and its ACLs, as the
 * super user `admin` (idempotent), generates the SHOP API's store keys when absent, and prints
 * the ACL table as the cluster now holds it: one row per principal × resource with its operations.
 * Needs `deno task stack up --secure` (or KAFKA_* env pointing at a secured cluster).
 */
import { defineTask, runMain } from "../../lib/env/mod.ts";
import {
  type AclGrant,
  createKafka,
  explainKafkaError,
  KAFKA_ENV,
  secureKafkaConfigFromEnv,
} from "../../lib/kafka/mod.ts";
import {
  ensureStoreKeys,
  FINAL_TOPICS,
  PRINCIPALS,
  setupFinalTopology,
  storeKeysFile,
  STORES,
} from "../../lib/marketplace/mod.ts";
import { applyPlatformConfig } from "../../lib/marketplace/mod.ts";

const SPEC = defineTask({
  task: "final:setup",
  summary:
    "Creates the final project's topics and ACLs on the secure cluster (idempotent), the SHOP API's store keys, and prints the ACL table.",
  env: { ...KAFKA_ENV },
  examples: ["deno task final:setup"],
});

const PRINCIPAL_ORDER: string[] = Object.values(PRINCIPALS).map((p) => `User:${p}`);

/** How a grant's resource reads in the table: a topic by name, other resources typed, `*` = prefix. */
function resourceLabel(a: AclGrant): string {
  const name = `${a.resourceName}${a.pattern === "prefixed" ? "*" : ""}`;
  return a.resourceType === "topic" ? name : `${a.resourceType}:${name}`;
}

/**
 * The ACL table, one row per principal × resource with its operations, in at most 100 columns:
 * the final topics first (in declared order), then prefixes, groups and transactional ids.
 */
function aclTable(acls: AclGrant[]): string[] {
  const topicOrder = FINAL_TOPICS.map((t) => t.topic);
  const rank = (a: AclGrant) => {
    const i = a.resourceType === "topic" && a.pattern !== "prefixed"
      ? topicOrder.indexOf(a.resourceName)
      : -1;
    return i >= 0 ? i : topicOrder.length + 1;
  };
  const rows = new Map<
    string,
    { principal: string; resource: string; ops: Set<string>; order: number[] }
  >();
  for (const a of acls) {
    const principal = a.principal.replace(/^User:/, "");
    const resource = resourceLabel(a);
    const key = `${a.principal}\u0000${resource}`;
    const p = PRINCIPAL_ORDER.indexOf(a.principal);
    const row = rows.get(key) ??
      { principal, resource, ops: new Set(), order: [p < 0 ? 99 : p, rank(a)] };
    row.ops.add(a.operation);
    rows.set(key, row);
  }
  const sorted = [...rows.values()].sort((x, y) =>
    x.order[0] - y.order[0] || x.order[1] - y.order[1] || x.resource.localeCompare(y.resource)
  );
  const w1 = Math.max(9, ...sorted.map((r) => r.principal.length));
  const w2 = Math.max(8, ...sorted.map((r) => r.resource.length));
  const line = (a: string, b: string, c: string) =>
    `  ${a.padEnd(w1)}  ${b.padEnd(w2)}  ${c}`.trimEnd().slice(0, 100);
  const out = [line("PRINCIPAL", "RESOURCE", "OPERATIONS")];
  let last = "";
  for (const r of sorted) {
    out.push(
      line(r.principal === last ? "" : r.principal, r.resource, [...r.ops].sort().join(", ")),
    );
    last = r.principal;
  }
  return out;
}

await runMain(async () => {
  applyPlatformConfig("admin");
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
  console.log(
    "ACLs of cluster A (topic = literal name, * = prefix; every other principal: nothing;",
  );
  console.log("  user admin is the super user):");
  for (const l of aclTable(acls)) console.log(l);
  const file = storeKeysFile();
  const keys = await ensureStoreKeys(STORES, file);
  console.log(`Store keys of ${Object.keys(keys).length} stores in ${file} (mode 0600)`);
}, SPEC);
