/**
 * The process `deno task soak:eos` starts and kills: one @platformatic/kafka exactly-once
 * copier (lib/bench/clients' platformaticCopier). Arguments: BOOTSTRAP INPUT OUTPUT GROUP
 * TRANSACTIONAL_ID CRASH_WINDOW_MS.
 */
import { platformaticCopier } from "../lib/bench/clients/mod.ts";

const [bootstrap, input, output, group, transactionalId, window] = Deno.args;
const crashWindowMs = Number(window);
if (!transactionalId || !(crashWindowMs >= 0)) {
  console.error(
    "usage: soak_eos_copier.ts BOOTSTRAP INPUT OUTPUT GROUP TRANSACTIONAL_ID CRASH_WINDOW_MS",
  );
  Deno.exit(2);
}
await platformaticCopier({ bootstrap, input, output, group, transactionalId, crashWindowMs });
