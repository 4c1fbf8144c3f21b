/**
 * Creates the platform's topics and ACLs on cluster A (idempotent) from the declared
 * topology, waiting until every broker shows the ACLs.
 *
 * @example
 * ```ts
 * import { setupFinalTopology } from "./setup.ts";
 * const acls = await setupFinalTopology(adminOfSuperUser);
 * ```
 * @module
 */
import type { Admin } from "kafkajs";
import { type AclGrant, applyAcls, ensureTopic } from "../kafka/mod.ts";
import { retry } from "../env/mod.ts";
import { FINAL_ACLS, FINAL_TOPICS } from "./topology.ts";

/** Creates every topic of {@linkcode FINAL_TOPICS} and every grant of {@linkcode FINAL_ACLS}. */
export async function setupFinalTopology(admin: Admin): Promise<AclGrant[]> {
  for (const spec of FINAL_TOPICS) {
    // A topic just created may not be in every broker's metadata yet: ask again.
    await retry(() => ensureTopic(admin, spec), {
      delayMs: 1_000,
      retryIf: (err) => /does not host this topic-partition|NOT_CONTROLLER/.test(String(err)),
    });
  }
  return await applyAcls(admin, FINAL_ACLS);
}
