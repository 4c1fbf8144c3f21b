/**
 * Practice 4: a replicated topic, partition reassignment and a broker failure drill.
 * @module
 */

export * from "./failover.ts";
export * from "./topics.ts";
export {
  brokerLoad,
  electPreferredLeaders,
  executePlan,
  generatePlan,
  leaderSpread,
  planDifferences,
  planRows,
  readPlan,
  verifyPlan,
  waitReassignment,
} from "../../stack/mod.ts";
