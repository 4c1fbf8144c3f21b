/**
 * ACLs as data: a grant is a plain object (principal, resource, operation, pattern), so a
 * topology declares its ACL table once and the setup task, the tests and the docs read it.
 * {@linkcode applyAcls} creates grants and waits until every broker shows them;
 * {@linkcode describeAcls} reads back what the cluster holds for some resources, and
 * {@linkcode listAcls} every ACL with all its fields (host, ALLOW or DENY).
 *
 * @example
 * ```ts
 * import { applyAcls, type AclGrant } from "./acl.ts";
 * const grants: AclGrant[] = [
 *   { principal: "User:shop-api", resourceType: "topic", resourceName: "input-products", operation: "WRITE" },
 * ];
 * await applyAcls(admin, grants);
 * ```
 * @module
 */
import {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  type Admin,
  ResourcePatternTypes,
} from "kafkajs";
import { pollUntil } from "../env/mod.ts";

/** One ACL grant (always ALLOW, from any host). */
export interface AclGrant {
  /** e.g. `User:producer`. */
  principal: string;
  resourceType: "topic" | "group" | "transactionalId" | "cluster";
  resourceName: string;
  operation:
    | "READ"
    | "WRITE"
    | "DESCRIBE"
    | "DESCRIBE_CONFIGS"
    | "CREATE"
    | "IDEMPOTENT_WRITE"
    | "ALL";
  /** Literal name, or every name starting with it. @default "literal" */
  pattern?: "literal" | "prefixed";
}

const RESOURCE_TYPES: Record<AclGrant["resourceType"], number> = {
  topic: AclResourceTypes.TOPIC,
  group: AclResourceTypes.GROUP,
  transactionalId: AclResourceTypes.TRANSACTIONAL_ID,
  cluster: AclResourceTypes.CLUSTER,
};

function toKafkajs(g: AclGrant) {
  return {
    resourceType: RESOURCE_TYPES[g.resourceType],
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

function resourceTypeName(code: number): AclGrant["resourceType"] {
  const entry = Object.entries(RESOURCE_TYPES).find(([, v]) => v === code);
  return (entry?.[0] ?? String(code)) as AclGrant["resourceType"];
}

/** A stable key of a grant, for comparing declared and described tables. */
export function aclKey(g: AclGrant): string {
  return [g.principal, g.resourceType, g.resourceName, g.operation, g.pattern ?? "literal"].join(
    "|",
  );
}

/** The ACLs the cluster holds on the resources named in `names` (all when omitted), sorted. */
export async function describeAcls(admin: Admin, names?: Iterable<string>): Promise<AclGrant[]> {
  const res = await admin.describeAcls({
    resourceType: AclResourceTypes.ANY,
    resourcePatternType: ResourcePatternTypes.ANY,
    operation: AclOperationTypes.ANY,
    permissionType: AclPermissionTypes.ANY,
  });
  const wanted = names ? new Set(names) : undefined;
  const out: AclGrant[] = [];
  for (const r of res.resources) {
    if (wanted && !wanted.has(r.resourceName)) continue;
    for (const a of r.acls) {
      out.push({
        principal: a.principal,
        resourceType: resourceTypeName(r.resourceType),
        resourceName: r.resourceName,
        operation: operationName(a.operation),
        pattern: r.resourcePatternType === ResourcePatternTypes.PREFIXED ? "prefixed" : "literal",
      });
    }
  }
  return out.sort((a, b) => aclKey(a).localeCompare(aclKey(b)));
}

/** One ACL as the cluster holds it, every field named (ALLOW and DENY alike). */
export interface AclEntry {
  principal: string;
  host: string;
  /** `TOPIC`, `GROUP`, `CLUSTER`, `TRANSACTIONAL_ID`, `DELEGATION_TOKEN`, … */
  resourceType: string;
  resourceName: string;
  /** `LITERAL` or `PREFIXED`. */
  pattern: string;
  /** `READ`, `WRITE`, `ALL`, … */
  operation: string;
  /** `ALLOW` or `DENY`. */
  permission: string;
}

/** The name of `code` in one of kafkajs' enums (the number itself when it has none). */
function enumName(types: Record<string, string | number>, code: number): string {
  return Object.entries(types).find(([, v]) => v === code)?.[0] ?? String(code);
}

/** Every ACL the cluster holds, sorted by principal, resource and operation. */
export async function listAcls(admin: Admin): Promise<AclEntry[]> {
  const res = await admin.describeAcls({
    resourceType: AclResourceTypes.ANY,
    resourcePatternType: ResourcePatternTypes.ANY,
    operation: AclOperationTypes.ANY,
    permissionType: AclPermissionTypes.ANY,
  });
  const out = res.resources.flatMap((r) =>
    r.acls.map((a) => ({
      principal: a.principal,
      host: a.host,
      resourceType: enumName(AclResourceTypes, r.resourceType),
      resourceName: r.resourceName,
      pattern: enumName(ResourcePatternTypes, r.resourcePatternType),
      operation: enumName(AclOperationTypes, a.operation),
      permission: enumName(AclPermissionTypes, a.permissionType),
    }))
  );
  const key = (e: AclEntry) =>
    [e.principal, e.resourceType, e.resourceName, e.pattern, e.operation, e.permission, e.host]
      .join("|");
  return out.sort((a, b) => key(a).localeCompare(key(b)));
}

/**
 * Creates `grants` (idempotent) and waits until describe shows every one of them several
 * times in a row: in KRaft each broker applies new ACLs when the metadata update reaches it,
 * a moment after createAcls returns. Returns the ACLs now held on the grants' resources.
 */
export async function applyAcls(
  admin: Admin,
  grants: AclGrant[],
  timeoutMs = 30_000,
): Promise<AclGrant[]> {
  await admin.createAcls({ acl: grants.map(toKafkajs) });
  const names = new Set(grants.map((g) => g.resourceName));
  const wanted = new Set(grants.map(aclKey));
  let streak = 0;
  let acls: AclGrant[] = [];
  await pollUntil(`${grants.length} ACLs visible on every broker`, async () => {
    acls = await describeAcls(admin, names);
    const seen = new Set(acls.map(aclKey));
    const all = [...wanted].every((k) => seen.has(k));
    streak = all ? streak + 1 : 0;
    return streak >= 3;
  }, { timeoutMs, intervalMs: 300 });
  return acls;
}
