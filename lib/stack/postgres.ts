/**
 * A local PostgreSQL server from the machine's (Debian's) binaries, with a database and a
 * user for the practicals. When we are root it runs as an unprivileged user, since
 * PostgreSQL refuses to run as root. `wal_level=logical` so Debezium can read changes.
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
import { readPid, run, tailFile } from "./process.ts";
import { type ProcessStatus, type Service, StackError } from "./service.ts";

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
export class PostgresServer implements Service {
  readonly name = "postgres";
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  readonly root: string;

  constructor(options: PostgresOptions) {
    const { dir, port = 5432, database = "practicum", user = "practicum", password = "practicum" } =
      options;
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
    const initialized = await Deno.stat(join(this.dataDir, "PG_VERSION")).then(
      () => true,
      () => false,
    );
    if (!initialized) {
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
      await new Promise((r) => setTimeout(r, 300));
    }
    throw new StackError(
      `PostgreSQL does not answer (${last}). Last lines of ${this.log}:\n${await tailFile(
        this.log,
      )}`,
    );
  }

  async stop(): Promise<void> {
    if (this.#pidState().state !== "running") return;
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
