/**
 * A local PostgreSQL server from the machine's (Debian's) binaries, with a database and a
 * user for the practicals. When we are root it runs as an unprivileged user, since
 * PostgreSQL refuses to run as root. `wal_level=logical` so Debezium can read changes.
 *
 * The shape of its data is the major version it was made with (`PG_VERSION`): binaries of
 * another major version cannot open it, so `up` refuses before touching it and names the
 * way on (the old version's binaries via `PG_BIN_DIR`, or `deno task stack reset postgres`).
 * An `initdb` that never finished (no server ever ran on the folder) is redone on the next
 * start.
 *
 * @example
 * ```ts
 * import { PostgresServer } from "./postgres.ts";
 * const pg = new PostgresServer({ dir: ".stack", port: 5432 });
 * await pg.start();
 * console.log(pg.url()); // postgres://practicum:practicum@127.0.0.1:5432/practicum
 * ```
 * @module
 */
import { join } from "node:path";
import pg from "pg";
import { killHard, readPid, run, tailFile, waitGone } from "../process/process.ts";
import { type ProcessStatus, type Service, StackError } from "../process/service.ts";
import { checkShape, type Shape, type ShapedService, writeShape } from "../process/shape.ts";
import { sleep, STACK_PORTS } from "../../env/mod.ts";

/** Options of a {@linkcode PostgresServer}. */
export interface PostgresOptions {
  /** Stack data folder; the server lives in `<dir>/postgres/`. */
  dir: string;
  /** TCP port on 127.0.0.1. @default 5432 */
  port?: number;
  /** Database created for the practicals. @default "practicum" */
  database?: string;
  /** Its owner. @default "practicum" */
  user?: string;
  /** The owner's password. @default "practicum" */
  password?: string;
}

async function findBinDir(): Promise<string | undefined> {
  const explicit = Deno.env.get("PG_BIN_DIR");
  if (explicit) return explicit;
  try {
    const majors = [];
    for await (const e of Deno.readDir("/usr/lib/postgresql")) {
      if (/^\d+$/.test(e.name)) majors.push(Number(e.name));
    }
    majors.sort((a, b) => b - a);
    for (const m of majors) {
      const dir = `/usr/lib/postgresql/${m}/bin`;
      if (await Deno.stat(join(dir, "pg_ctl")).then(() => true, () => false)) return dir;
    }
  } catch { /* not a Debian layout */ }
  try {
    return (await run("pg_config", ["--bindir"])).trim();
  } catch {
    return undefined;
  }
}

/**
 * Installs Debian's PostgreSQL server when we are root on a machine with apt and without it,
 * telling Debian not to create and start its own cluster (the stack runs its own).
 */
async function installPostgres(): Promise<void> {
  console.error("PostgreSQL server binaries not found: installing Debian's postgresql package…");
  await Deno.mkdir("/etc/postgresql-common", { recursive: true });
  await Deno.writeTextFile(
    "/etc/postgresql-common/createcluster.conf",
    "create_main_cluster = false\n",
  );
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  await run("apt-get", ["update", "-q"], { env, what: "apt-get update" });
  await run("apt-get", ["install", "-y", "-q", "--no-install-recommends", "postgresql"], {
    env,
    what: "apt-get install postgresql",
  });
}

/**
 * Finds the folder holding pg_ctl and initdb (newest installed major version), installing
 * PostgreSQL with apt first when it is missing and we may.
 */
export async function postgresBinDir(): Promise<string> {
  let dir = await findBinDir();
  const canInstall = Deno.uid() === 0 &&
    await Deno.stat("/usr/bin/apt-get").then(() => true, () => false);
  if (!dir && canInstall) {
    await installPostgres();
    dir = await findBinDir();
  }
  if (!dir) {
    throw new StackError(
      "PostgreSQL server binaries not found. Install them (Debian: `apt-get install -y postgresql`) " +
        "or set PG_BIN_DIR to the folder holding pg_ctl",
    );
  }
  return dir;
}

const isRoot = () => Deno.uid() === 0;

/** Major version of the binaries in `bin` (`pg_ctl (PostgreSQL) 16.4` → 16). */
async function binMajor(bin: string): Promise<number> {
  const out = await run(join(bin, "pg_ctl"), ["--version"], { what: "pg_ctl --version" });
  const m = out.match(/(\d+)(?:\.\d+)?/);
  if (!m) throw new StackError(`Cannot read the PostgreSQL version from '${out.trim()}'`);
  return Number(m[1]);
}

/** The unprivileged OS user the server runs as when we are root. */
export const PG_OS_USER = "postgres";

async function ensureOsUser(): Promise<void> {
  const passwd = await Deno.readTextFile("/etc/passwd");
  if (passwd.split("\n").some((l) => l.startsWith(`${PG_OS_USER}:`))) return;
  await run(
    "useradd",
    ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_OS_USER],
    {
      what: `creating the OS user '${PG_OS_USER}'`,
    },
  );
}

/** A local PostgreSQL server; see the module doc. */
export class PostgresServer implements Service, ShapedService {
  readonly name = "postgres";
  readonly dataName = "postgres";
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  readonly root: string;

  constructor(options: PostgresOptions) {
    const {
      dir,
      port = STACK_PORTS.postgres,
      database = "practicum",
      user = "practicum",
      password = "practicum",
    } = options;
    if (!/^[a-z_][a-z0-9_]*$/.test(database)) {
      throw new RangeError(
        `Cannot use 'database' as it must be a lower-case identifier: current value is '${database}'`,
      );
    }
    if (!/^[a-z_][a-z0-9_]*$/.test(user)) {
      throw new RangeError(
        `Cannot use 'user' as it must be a lower-case identifier: current value is '${user}'`,
      );
    }
    this.port = port;
    this.database = database;
    this.user = user;
    this.password = password;
    this.root = join(dir, "postgres");
  }

  get dataDir(): string {
    return join(this.root, "data");
  }

  get log(): string {
    return join(this.root, "postgres.log");
  }

  /** The folder of the server's data, config and log. */
  dataFolders(): string[] {
    return [this.root];
  }

  /** The major version the data was made with, or undefined before the first `initdb`. */
  async recordedShape(): Promise<Shape | undefined> {
    const v = await Deno.readTextFile(join(this.dataDir, "PG_VERSION")).catch(() => undefined);
    return v === undefined ? undefined : { version: Number(v.trim()) };
  }

  /**
   * Whether the data folder is a finished cluster: `initdb` completed (our record) or a
   * server ran on it (`postmaster.opts`, also in folders from before the record existed).
   */
  async holdsData(): Promise<boolean> {
    const has = (p: string) => Deno.stat(p).then(() => true, () => false);
    return await has(join(this.dataDir, "PG_VERSION")) &&
      (await has(join(this.root, "shape.json")) ||
        await has(join(this.dataDir, "postmaster.opts")));
  }

  /** Refuses data made by another major version than the binaries at hand; touches nothing. */
  async checkShape(): Promise<void> {
    const bin = await findBinDir(); // no install here: start() installs when it may
    if (bin === undefined) return;
    const recorded = await this.recordedShape();
    if (recorded === undefined) return;
    const version = await binMajor(bin);
    await checkShape({
      service: this.dataName,
      folder: this.root,
      asked: { version },
      recorded,
      holdsData: () => this.holdsData(),
      oldShapeHint: (old) =>
        `the PostgreSQL ${old.version} binaries: PG_BIN_DIR=/usr/lib/postgresql/${old.version}/bin deno task stack up`,
    });
  }

  /** Connection URL of the practicum user. */
  url(database = this.database): string {
    return `postgres://${this.user}:${
      encodeURIComponent(this.password)
    }@127.0.0.1:${this.port}/${database}`;
  }

  #pidState() {
    return readPid(join(this.dataDir, "postmaster.pid"), "postgres");
  }

  async #as(cmd: string, args: string[], what: string): Promise<string> {
    if (!isRoot()) return await run(cmd, args, { what });
    return await run("runuser", ["-u", PG_OS_USER, "--", cmd, ...args], { what });
  }

  async #superuser<T>(fn: (c: pg.Client) => Promise<T>, database = "postgres"): Promise<T> {
    const client = new pg.Client({ host: this.root, port: this.port, user: "postgres", database });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  }

  async start(): Promise<void> {
    if (this.#pidState().state === "running") {
      const lines = await Deno.readTextFile(join(this.dataDir, "postmaster.pid")).catch(() => "");
      const port = Number(lines.split("\n")[3]);
      if (port && port !== this.port) {
        throw new StackError(
          `PostgreSQL of ${this.root} already runs on port ${port}, not ${this.port}: run \`deno task stack down\` first`,
        );
      }
      await this.#waitReady();
      return;
    }
    const bin = await postgresBinDir();
    await Deno.mkdir(this.root, { recursive: true });
    if (isRoot()) {
      await ensureOsUser();
      await run("chown", ["-R", `${PG_OS_USER}:`, this.root]);
      try {
        await run("runuser", ["-u", PG_OS_USER, "--", "test", "-w", this.root]);
      } catch {
        throw new StackError(
          `PostgreSQL runs as the OS user '${PG_OS_USER}', which cannot reach ${this.root}. ` +
            "Put the project (or STACK_DIR) under a folder every user may traverse, e.g. /work or /srv",
        );
      }
    }
    await this.checkShape();
    const initialized = await this.holdsData();
    if (!initialized) {
      // No finished initdb and no server ever ran here (an interrupted first start): redo it.
      await Deno.remove(this.dataDir, { recursive: true }).catch(() => {});
      await this.#as(
        join(bin, "initdb"),
        [
          "-D",
          this.dataDir,
          "-U",
          "postgres",
          "--auth-local=trust",
          "--auth-host=scram-sha-256",
          "-E",
          "UTF8",
          "--locale=C.UTF-8",
        ],
        "initdb",
      );
      await writeShape(join(this.root, "shape.json"), { version: await binMajor(bin) });
    }
    const opts = [
      `-p ${this.port}`,
      `-k ${this.root}`,
      "-c listen_addresses=127.0.0.1",
      "-c wal_level=logical",
      "-c max_replication_slots=16",
      "-c max_wal_senders=16",
      "-c shared_buffers=256MB",
      "-c max_connections=200",
      "-c fsync=on",
    ].join(" ");
    try {
      await this.#as(join(bin, "pg_ctl"), [
        "-D",
        this.dataDir,
        "-l",
        this.log,
        "-o",
        opts,
        "-w",
        "-t",
        "60",
        "start",
      ], "pg_ctl start");
    } catch (err) {
      throw new StackError(
        `PostgreSQL did not start: ${
          (err as Error).message
        }\nLast lines of ${this.log}:\n${await tailFile(this.log)}`,
      );
    }
    await this.#waitReady();
    await this.#superuser(async (c) => {
      const role = await c.query("select 1 from pg_roles where rolname = $1", [this.user]);
      const pw = this.password.replaceAll("'", "''");
      if (role.rowCount === 0) {
        await c.query(`create role ${this.user} login replication createdb password '${pw}'`);
      }
      const db = await c.query("select 1 from pg_database where datname = $1", [this.database]);
      if (db.rowCount === 0) await c.query(`create database ${this.database} owner ${this.user}`);
    });
  }

  async #waitReady(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      try {
        await this.#superuser((c) => c.query("select 1"));
        return;
      } catch (err) {
        last = (err as Error).message;
      }
      await sleep(300);
    }
    throw new StackError(
      `PostgreSQL does not answer (${last}). Last lines of ${this.log}:\n${await tailFile(
        this.log,
      )}`,
    );
  }

  /**
   * Stops the server: a fast shutdown, or — when `hard` (a crash drill) — SIGKILL to the
   * postmaster and every backend at once, as a power cut would; the next start runs crash
   * recovery from the WAL.
   */
  async stop({ hard = false }: { hard?: boolean } = {}): Promise<void> {
    const st = this.#pidState();
    if (st.state !== "running") return;
    if (hard) {
      // pg_ctl starts the postmaster in a session of its own, so its group is the server.
      killHard(st.pid);
      if (!(await waitGone(st.pid, 10_000))) {
        throw new StackError(`PostgreSQL (pid ${st.pid}) would not exit after SIGKILL`);
      }
      return;
    }
    const bin = await postgresBinDir();
    await this.#as(join(bin, "pg_ctl"), [
      "-D",
      this.dataDir,
      "-m",
      "fast",
      "-w",
      "-t",
      "60",
      "stop",
    ], "pg_ctl stop");
  }

  async status(): Promise<ProcessStatus[]> {
    const st = this.#pidState();
    let health: string | undefined;
    if (st.state === "running") {
      health = await this.#superuser((c) => c.query("select version()"))
        .then((r) => `serving (${String(r.rows[0].version).split(" ").slice(0, 2).join(" ")})`)
        .catch((e) => `not answering: ${(e as Error).message}`);
    }
    return [{
      name: "postgres",
      pid: st.state === "absent" ? undefined : st.pid,
      state: st.state === "absent" ? "stopped" : st.state,
      ports: { tcp: this.port },
      health,
      log: this.log,
    }];
  }
}
