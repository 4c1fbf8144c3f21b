/**
 * The web console (`deno task console`): the seed's Kafka UI with a login form, for every
 * cluster the stack runs — brokers, topics, consumer groups live; messages decoded with the
 * project's schemas and dead-letter reasons; produce and create-topic for admins; Kafka Connect
 * clusters, the schema registry, ACLs, and consumer-group offset resets.
 * @module
 */
export * from "./auth.ts";
export * from "./forms.ts";
export * from "./decode.ts";
export * from "./clusters.ts";
export * from "./pages.ts";
export * from "./server.ts";
export * from "./services.ts";
export * from "./offsets.ts";
export * from "./pages_operate.ts";
