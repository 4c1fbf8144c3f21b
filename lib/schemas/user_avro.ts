/**
 * Practice 7's Avro schemas (seed "#7, Задание #1"): the `User` record in its versions,
 * registered in the schema registry under the subject `<topic>-value`.
 *
 * - v1: name, favorite_number (optional);
 * - v2: v1 + `email` with a default — BACKWARD compatible (a v2 reader reads v1 records);
 * - incompatible: `favorite_number` turned into a required string — refused by the registry.
 * @module
 */

/** A user as the practice's producer sends it. */
export interface User {
  name: string;
  favorite_number: number | null;
  email?: string | null;
}

/** Version 1 of the `User` record. */
export const USER_AVRO_V1 = {
  type: "record",
  name: "User",
  namespace: "practicum.practice7",
  fields: [
    { name: "name", type: "string" },
    { name: "favorite_number", type: ["null", "int"], default: null },
  ],
} as const;

/** Version 2: adds `email` with a default, so it stays BACKWARD compatible. */
export const USER_AVRO_V2 = {
  ...USER_AVRO_V1,
  fields: [...USER_AVRO_V1.fields, { name: "email", type: ["null", "string"], default: null }],
} as const;

/** A change the registry must refuse under BACKWARD: a field's type changes. */
export const USER_AVRO_INCOMPATIBLE = {
  ...USER_AVRO_V1,
  fields: [
    { name: "name", type: "string" },
    { name: "favorite_number", type: "string" },
  ],
} as const;

/** The versions by name, as the tasks accept them. */
export const USER_AVRO_VERSIONS = {
  v1: USER_AVRO_V1,
  v2: USER_AVRO_V2,
  incompatible: USER_AVRO_INCOMPATIBLE,
} as const;
