/**
 * The house rule of `lib/`, as data: two layers — capabilities below, applications above — and
 * which folder may import which. `tests/unit/layers_test.ts` checks every import against it.
 *
 * A folder may import a folder of a lower rank, never one of its own rank or higher, and only
 * through that folder's `mod.ts` front door. Applications (`course/*`, `marketplace`) never
 * import one another.
 * @module
 */

/** Rank of each capability folder under `lib/`: a folder imports only lower ranks. */
export const CAPABILITY_RANKS: Record<string, number> = {
  env: 0, // config, flags, endpoints, paths, wait/retry — imports nothing of ours
  schemas: 1, // one JSON/Avro schema per event type
  kafka: 2, // client, topics, ACLs, probes, DLQ, producer
  monitoring: 2, // prom-client registry, /metrics, lag exporter
  streams: 3, // exactly-once consume → transform → produce runtime
  connect: 3, // Kafka Connect REST and connector configs, PostgreSQL helpers
  registry: 3, // schema registry client
  stack: 4, // the local services as processes, Kafka's own tools
  lake: 5, // WebHDFS, Parquet, the exactly-once lake sink
  bench: 6, // benchmark rounds, statistics, reports
};

/** Rank of every application folder (`course/<practical>`, `marketplace`). */
export const APPLICATION_RANK = 10;

/**
 * The folder a `lib/`-relative path belongs to: `kafka`, `course/practice3`, `marketplace`… A
 * file deeper down belongs to its top folder (`stack/process/process.ts` is `stack`'s), so the
 * rule sees a folder's subfolders as its own and lets outsiders in only through its `mod.ts`.
 */
export function folderOf(libRelativePath: string): string | undefined {
  const parts = libRelativePath.split("/");
  if (parts.length < 2) return undefined;
  return parts[0] === "course" ? `course/${parts[1]}` : parts[0];
}

/** Rank of a folder, or undefined for a folder the rule does not know (a new room: declare it). */
export function rankOf(folder: string): number | undefined {
  if (folder.startsWith("course/") || folder === "marketplace" || folder === "console") {
    return APPLICATION_RANK;
  }
  return CAPABILITY_RANKS[folder];
}

/**
 * Why an import from `from` (folder) of `target` (lib-relative path) breaks the rule, or
 * undefined when it keeps it.
 */
export function importViolation(from: string, target: string): string | undefined {
  const to = folderOf(target);
  if (!to || to === from) return undefined;
  const rf = rankOf(from), rt = rankOf(to);
  if (rf === undefined) return `folder '${from}' has no rank in lib/layers.ts`;
  if (rt === undefined) return `folder '${to}' has no rank in lib/layers.ts`;
  if (rt >= rf) {
    return rf === APPLICATION_RANK && rt === APPLICATION_RANK
      ? `applications never import one another ('${from}' → '${to}')`
      : `'${from}' (rank ${rf}) may not import '${to}' (rank ${rt}): imports go down`;
  }
  if (target !== `${to}/mod.ts`) return `imports from '${to}' go through ${to}/mod.ts`;
  return undefined;
}
