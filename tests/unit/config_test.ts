import assert from "node:assert/strict";
import { ConfigError, envBool, envChoice, envInt, envNumber } from "../../lib/env/config.ts";

const env = (vars: Record<string, string>) => ({ get: (k: string) => vars[k] });

Deno.test("envInt reads, defaults and names the variable in errors", () => {
  assert.equal(envInt("N", { default: 10 }, env({})), 10);
  assert.equal(envInt("N", { default: 10 }, env({ N: " 42 " })), 42);
  assert.throws(
    () => envInt("SEND_MSG_COUNT", { min: 0 }, env({ SEND_MSG_COUNT: "abc" })),
    (e: Error) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /SEND_MSG_COUNT/);
      assert.match(e.message, /'abc'/);
      return true;
    },
  );
  assert.throws(
    () => envInt("BATCH_SIZE", { min: 1 }, env({ BATCH_SIZE: "0" })),
    /BATCH_SIZE as it must be >= 1: current value is 0/,
  );
  assert.throws(() => envInt("X", {}, env({})), /X is required/);
  assert.throws(() => envInt("X", { default: 1 }, env({ X: "1.5" })), /must be an integer/);
});

Deno.test("envNumber accepts fractions, refuses junk", () => {
  assert.equal(envNumber("I", { default: 1, min: 0 }, env({ I: "0.25" })), 0.25);
  assert.throws(
    () =>
      envNumber("SEND_MSG_INTERVAL_SECONDS", { min: 0 }, env({ SEND_MSG_INTERVAL_SECONDS: "-1" })),
    /SEND_MSG_INTERVAL_SECONDS/,
  );
  assert.throws(() => envNumber("I", { min: 0 }, env({ I: "soon" })), /'soon'/);
});

Deno.test("envBool and envChoice validate their values", () => {
  assert.equal(envBool("B", false, env({ B: "yes" })), true);
  assert.equal(envBool("B", true, env({ B: "0" })), false);
  assert.throws(() => envBool("B", true, env({ B: "maybe" })), /B as it must be true or false/);
  assert.equal(envChoice("P", ["a", "b"] as const, "a", env({ P: "b" })), "b");
  assert.throws(
    () => envChoice("P", ["a", "b"] as const, "a", env({ P: "c" })),
    /one of a, b: current value is 'c'/,
  );
});
