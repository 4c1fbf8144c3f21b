/**
 * What every client runner of `bench:produce` and `bench:consume` is given and returns.
 *
 * @module
 */

/** One producer run: `records` copies of `value` to `topic` (3 partitions), acks=all, idempotent. */
export interface ProduceJob {
  bootstrap: string;
  topic: string;
  records: number;
  value: Buffer;
  partitions: number;
  /** Called now and then with the records acknowledged so far. */
  progress: (done: number) => void;
}

/** One consumer run: read `records` from `topic` from the start with a fresh group. */
export interface ConsumeJob {
  bootstrap: string;
  topic: string;
  records: number;
  partitions: number;
}

/** `host:port` of the first bootstrap server. */
export function firstBroker(bootstrap: string): { host: string; port: number } {
  const [host, port] = bootstrap.split(",")[0].split(":");
  return { host, port: Number(port) };
}

/** Counts records until `records`; `t0` at the first. */
export class Tally {
  seen = 0;
  t0 = 0;
  readonly done = Promise.withResolvers<number>();
  constructor(readonly records: number) {}
  add(n: number): void {
    if (this.t0 === 0) this.t0 = performance.now();
    this.seen += n;
    if (this.seen >= this.records) this.done.resolve((performance.now() - this.t0) / 1000);
  }
}

/**
 * Sends `total` records in calls of at most `perCall`, `outstanding` calls at once, reporting
 * progress as each call is acknowledged; returns the seconds from the first call to the last
 * acknowledgement. `send(n)` builds and sends one call of `n` records.
 */
export async function sendInLanes(
  job: ProduceJob,
  total: number,
  perCall: number,
  outstanding: number,
  send: (n: number) => Promise<void>,
  ackedBefore = 0,
): Promise<number> {
  let sent = 0;
  let acked = ackedBefore;
  const t0 = performance.now();
  const lane = async () => {
    while (sent < total) {
      const n = Math.min(perCall, total - sent);
      sent += n;
      await send(n);
      acked += n;
      job.progress(acked);
    }
  };
  await Promise.all(Array.from({ length: outstanding }, lane));
  return (performance.now() - t0) / 1000;
}
