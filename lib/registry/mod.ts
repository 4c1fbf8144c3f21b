/**
 * Schema registry client (Confluent-compatible API, served here by Apicurio): config from env,
 * subjects, registration with clear errors on incompatible schemas, and a read-only browser of
 * subjects, versions and compatibility levels.
 * @module
 */
export * from "./client.ts";
export * from "./browse.ts";
