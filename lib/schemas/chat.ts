/**
 * Practice 3's events (topics `messages`, `blocked_users`, `forbidden_words`,
 * `filtered_messages`): JSON Schemas, TypeScript types and codecs. Field names are the seed's.
 *
 * @example
 * ```ts
 * import { messageCodec } from "./chat.ts";
 * const bytes = messageCodec.encode({ sender: "Игорь", recipient: "Андрей", text: "Привет" });
 * ```
 * @module
 */
import { jsonCodec } from "./validator.ts";

/** Longest accepted message text, in characters; longer texts go to the dead-letter topic. */
export const MAX_TEXT_LENGTH = 10_000;
/** Longest user name or forbidden word, in characters. */
export const MAX_NAME_LENGTH = 100;

/** A chat message (topics `messages` and `filtered_messages`). */
export interface ChatMessage {
  sender: string;
  recipient: string;
  text: string;
}

/** A block command (topic `blocked_users`): `user` no longer receives messages from `blocked`. */
export interface BlockCommand {
  user: string;
  blocked: string;
  /** `block` (the default, as in the seed's example) or `unblock`. */
  action?: "block" | "unblock";
}

/** A forbidden-word command (topic `forbidden_words`). */
export interface WordCommand {
  action: "add" | "remove";
  word: string;
}

const name = { type: "string", minLength: 1, maxLength: MAX_NAME_LENGTH } as const;

/** JSON Schema of {@linkcode ChatMessage}. */
export const CHAT_MESSAGE_SCHEMA = {
  $id: "practice3.message.v1",
  type: "object",
  required: ["sender", "recipient", "text"],
  properties: {
    sender: name,
    recipient: name,
    text: { type: "string", maxLength: MAX_TEXT_LENGTH },
  },
} as const;

/** JSON Schema of {@linkcode BlockCommand}. */
export const BLOCK_COMMAND_SCHEMA = {
  $id: "practice3.blocked_user.v1",
  type: "object",
  required: ["user", "blocked"],
  properties: {
    user: name,
    blocked: name,
    action: { enum: ["block", "unblock"] },
  },
} as const;

/** JSON Schema of {@linkcode WordCommand}: a word is letters/digits (any script), `-` or `_`. */
export const WORD_COMMAND_SCHEMA = {
  $id: "practice3.forbidden_word.v1",
  type: "object",
  required: ["action", "word"],
  properties: {
    action: { enum: ["add", "remove"] },
    word: {
      type: "string",
      minLength: 1,
      maxLength: MAX_NAME_LENGTH,
      pattern: "^[\\p{L}\\p{N}_-]+$",
    },
  },
} as const;

/** Codec of `messages` / `filtered_messages`. */
export const messageCodec = jsonCodec<ChatMessage>("message", CHAT_MESSAGE_SCHEMA);
/** Codec of `blocked_users`. */
export const blockCodec = jsonCodec<BlockCommand>("blocked_users command", BLOCK_COMMAND_SCHEMA);
/** Codec of `forbidden_words`. */
export const wordCodec = jsonCodec<WordCommand>("forbidden_words command", WORD_COMMAND_SCHEMA);
