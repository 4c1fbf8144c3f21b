/**
 * Practice 5: Debezium CDC of the users and orders tables — the database, the connector
 * definition, a load generator and the change-event decoder.
 * @module
 */
export * from "./cdc.ts";
export * from "./consumer.ts";
