/** Test helper: Kafka's console consumer as the tests' independent reader (lib/stack). */
export { type ConsoleRecord, consoleRecords } from "../lib/stack/mod.ts";
