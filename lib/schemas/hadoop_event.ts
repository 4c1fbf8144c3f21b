/**
 * The practice 7 event of `hadoop-topic` (seed "#7, Задание #2"): `{"event": "type_1",
 * "message": "message_1"}`. JSON Schema, TypeScript type and codec.
 * @module
 */
import { jsonCodec } from "./validator.ts";

/** An event of `hadoop-topic`. */
export interface HadoopEvent {
  event: string;
  message: string;
}

/** JSON Schema of {@linkcode HadoopEvent}. */
export const HADOOP_EVENT_SCHEMA = {
  $id: "hadoop-event.v1",
  type: "object",
  additionalProperties: false,
  required: ["event", "message"],
  properties: {
    event: { type: "string", minLength: 1, maxLength: 128 },
    message: { type: "string", maxLength: 65536 },
  },
} as const;

/** Codec of `hadoop-topic` events: validated JSON. */
export const hadoopEventCodec = jsonCodec<HadoopEvent>("hadoop-event", HADOOP_EVENT_SCHEMA);
