/**
 * Schema registry client (Confluent-compatible API, served here by Apicurio): config from env,
 * subjects, registration with clear errors on incompatible schemas.
 * @module
 */
export * from "./client.ts";
