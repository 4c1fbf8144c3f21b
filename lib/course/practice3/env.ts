/**
 * Practice 3's configuration from env, shared by its tasks.
 *
 * - `PRACTICE3_APP_ID` (default `practice3-filter`): group, transactional-id and changelog prefix;
 * - `PRACTICE3_TOPIC_PREFIX` (default empty): prepended to the four topic names, so several
 *   runs (tests, demos) can share one cluster;
 * - `PROCESSING_GUARANTEE`: `exactly_once` (default) or `at_least_once`.
 * @module
 */
import { envChoice, envString } from "../../env/mod.ts";
import { ConfigError } from "../../env/mod.ts";
import type { Guarantee } from "../../streams/mod.ts";
import { PRACTICE3_APP_ID, TOPICS } from "./topics.ts";

/** Practice 3's settings. */
export interface Practice3Env {
  appId: string;
  topics: { messages: string; filtered: string; blocked: string; words: string };
  guarantee: Guarantee;
}

/** Reads {@linkcode Practice3Env}; invalid values are a ConfigError naming the variable. */
export function practice3Env(
  env: { get(name: string): string | undefined } = Deno.env,
): Practice3Env {
  const appId = envString("PRACTICE3_APP_ID", PRACTICE3_APP_ID, env);
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(appId)) {
    throw new ConfigError(
      `Cannot use PRACTICE3_APP_ID as it must be 1-200 of [A-Za-z0-9._-]: current value is '${appId}'`,
    );
  }
  const prefix = envString("PRACTICE3_TOPIC_PREFIX", "", env);
  if (!/^[A-Za-z0-9._-]*$/.test(prefix)) {
    throw new ConfigError(
      `Cannot use PRACTICE3_TOPIC_PREFIX as it may hold only [A-Za-z0-9._-]: current value is '${prefix}'`,
    );
  }
  return {
    appId,
    guarantee: envChoice(
      "PROCESSING_GUARANTEE",
      ["exactly_once", "at_least_once"] as const,
      "exactly_once",
      env,
    ),
    topics: {
      messages: prefix + TOPICS.messages,
      filtered: prefix + TOPICS.filtered,
      blocked: prefix + TOPICS.blocked,
      words: prefix + TOPICS.words,
    },
  };
}
