/**
 * The secure profile of the stack (practice 6, the final project's cluster A): a separate
 * KRaft cluster named `secure` whose clients connect over SASL_SSL with SASL/PLAIN or
 * SCRAM-SHA-512, with the StandardAuthorizer, `admin` as the only super user and
 * `allow.everyone.if.no.acl.found=false`.
 *
 * At the first start it generates, into `<dir>/secrets/kafka-secure/` (never committed):
 * a CA (`ca.crt`, the PEM clients trust), a key and a CA-signed certificate per broker with
 * SANs `localhost` and `127.0.0.1` in a PKCS12 keystore, a PKCS12 truststore with the CA, and
 * random passwords of the users `admin`, `producer` and `consumer` (`users.json`), plus Java
 * client property files for Kafka's own tools. SCRAM credentials are written by the storage
 * format (`--add-scram`), PLAIN users by the listener's JAAS config, as in the seed's
 * `kafka_server_jaas.conf`.
 *
 * Credentials are upgraded in place, never by wiping the cluster: when {@linkcode SECURE_USERS}
 * gains a user, the next start adds only that user's password to `secrets.json` (the others
 * keep theirs), PLAIN learns it from the JAAS config written on each start, and SCRAM gets it
 * from Kafka's ConfigCommand (`kafka-configs --alter --add-config SCRAM-SHA-512=[password=…]
 * --entity-type users`) once the cluster runs. Users still owed a SCRAM credential are kept
 * in `secrets.json` (`scramPending`), so an interrupted start finishes the job on the next one.
 * When `secrets.json` is gone (never written, an interrupted generation, or deleted) it is
 * generated afresh; a cluster that already had storage keeps its data and gets every user's
 * SCRAM credential re-set the same way. The brokers and the readiness check authenticate as
 * `admin` with PLAIN, which the JAAS config always has right.
 *
 * Listeners of node `i` (port base `B`): INTERNAL `B+100i` (SASL_PLAINTEXT, inter-broker, PLAIN
 * as admin), CONTROLLER `B+100i+1` (SASL_PLAINTEXT, PLAIN as admin), EXTERNAL `B+100i+2`
 * (SASL_SSL, clients). INTERNAL is bound to 127.0.0.1 and is where the security benchmark
 * measures the cost of TLS on the same cluster.
 *
 * @example
 * ```ts
 * import { SecureKafkaCluster } from "./secure_kafka.ts";
 * const secure = new SecureKafkaCluster({ dir: ".stack", brokers: 3, portBase: 11092 });
 * await secure.start();
 * console.log(secure.bootstrap(), secure.secrets().caFile);
 * ```
 * @module
 */
import { join } from "node:path";
import { KafkaCluster, nodePorts } from "./kafka.ts";
import { run } from "../process/process.ts";
import { runKafkaTool } from "../tools/kafka_tools.ts";
import type { Shape, ShapedService } from "../process/shape.ts";
import type { ProcessStatus, Service } from "../process/service.ts";
import { StackError } from "../process/service.ts";
import type { KafkaClientOptions } from "../../kafka/mod.ts";
import { STACK_PORTS } from "../../env/mod.ts";

/** Users of the secure cluster. `admin` is the super user and the brokers' own principal. */
export const SECURE_USERS = [
  "admin",
  "producer",
  "consumer",
  // the final project's principals (lib/marketplace/topology.ts)
  "shop-api",
  "product-filter",
  "client-api",
  "connect",
  "mirror-maker",
  "analytics",
] as const;
/** A user of the secure cluster. */
export type SecureUser = typeof SECURE_USERS[number];

/** Options of a {@linkcode SecureKafkaCluster}. */
export interface SecureKafkaClusterOptions {
  /** Stack data folder. */
  dir: string;
  /** Nodes, each broker + controller. @default 3 */
  brokers?: number;
  /** INTERNAL port of node 0. @default 11092 */
  portBase?: number;
  /** JVM heap of each node in MB. @default 384 */
  heapMb?: number;
  /** Days the generated certificates are valid. @default 365 */
  validityDays?: number;
}

/** Where the generated material lives and the passwords in it. */
export interface SecureSecrets {
  /** Folder of all generated material. */
  dir: string;
  /** PEM of the CA that signed every broker certificate (what clients trust). */
  caFile: string;
  /** PKCS12 truststore with the CA (Java clients). */
  truststore: string;
  /** Password of every keystore and truststore. */
  storePassword: string;
  /** Password of each user. */
  users: Record<SecureUser, string>;
  /** Java client properties per user over SASL_SSL (PLAIN), for Kafka's own tools. */
  javaClientProperties: Record<SecureUser, string>;
  /** Users whose SCRAM credential the running cluster still has to get (see the module doc). */
  scramPending?: SecureUser[];
}

const PLAIN = "org.apache.kafka.common.security.plain.PlainLoginModule";
const SCRAM = "org.apache.kafka.common.security.scram.ScramLoginModule";

function randomPassword(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return btoa(String.fromCharCode(...bytes)).replace(/[^A-Za-z0-9]/g, "x");
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/**
 * Generates a CA and a signed certificate (SANs `localhost`, `127.0.0.1`) with OpenSSL into
 * `dir`: `ca.key`, `ca.crt`, and per name `<name>.key`/`<name>.crt`. Used for the brokers and
 * by tests that need an unrelated CA.
 *
 * @example
 * ```ts
 * await generateCa("/tmp/other-ca", "untrusted-ca"); // → /tmp/other-ca/ca.crt
 * ```
 */
export async function generateCa(dir: string, cn: string, validityDays = 365): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    join(dir, "ca.key"),
    "-out",
    join(dir, "ca.crt"),
    "-days",
    String(validityDays),
    "-subj",
    `/CN=${cn}`,
  ], { what: `generating CA '${cn}'` });
  return join(dir, "ca.crt");
}

/** Issues `<dir>/<name>.key` + `<name>.crt` signed by the CA in `dir`, SANs localhost/127.0.0.1. */
export async function issueCertificate(dir: string, name: string, validityDays = 365) {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const crt = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  await run("openssl", [
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    key,
    "-out",
    csr,
    "-subj",
    `/CN=${name}`,
  ], { what: `generating the key of ${name}` });
  await Deno.writeTextFile(
    ext,
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n",
  );
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    join(dir, "ca.crt"),
    "-CAkey",
    join(dir, "ca.key"),
    "-CAcreateserial",
    "-out",
    crt,
    "-days",
    String(validityDays),
    "-sha256",
    "-extfile",
    ext,
  ], { what: `signing the certificate of ${name}` });
  await Deno.remove(csr);
  await Deno.remove(ext);
  return { key, crt };
}

/** See the module doc. */
export class SecureKafkaCluster implements Service, ShapedService {
  readonly name = "secure";
  readonly cluster: KafkaCluster;
  readonly #secretsDir: string;
  readonly #validityDays: number;
  #secrets?: SecureSecrets;

  constructor(options: SecureKafkaClusterOptions) {
    const {
      dir,
      brokers = 3,
      portBase = STACK_PORTS.secureKafka,
      heapMb = 384,
      validityDays = 365,
    } = options;
    this.#secretsDir = join(dir, "secrets", "kafka-secure");
    this.#validityDays = validityDays;
    this.cluster = new KafkaCluster({
      dir,
      name: "secure",
      brokers,
      portBase,
      heapMb,
      // TLS + SASL start-up on a shared 2-core machine can take longer than the main cluster's.
      readyTimeoutSec: 180,
      nodeProperties: (id) => this.#nodeProperties(id),
      security: "sasl_ssl",
      formatArgs: () =>
        SECURE_USERS.flatMap((u) => [
          "--add-scram",
          `SCRAM-SHA-512=[name=${u},password=${this.secrets().users[u]}]`,
        ]),
      // PLAIN: the JAAS config written on each start always holds admin's current password,
      // while its SCRAM credential may still be pending (see the module doc).
      clientOptions: () => this.clientOptions("admin", "plain"),
    });
  }

  /** Name of the cluster's data for `stack reset` and `stack status`. */
  get dataName(): string {
    return this.cluster.dataName;
  }

  /** The cluster's folder and its generated secrets (a reset deletes both). */
  dataFolders(): string[] {
    return [this.cluster.root, this.#secretsDir];
  }

  /** Refuses a shape change of a cluster that holds data (see {@linkcode KafkaCluster}). */
  checkShape(): Promise<void> {
    return this.cluster.checkShape();
  }

  /** The shape the cluster's data was made with. */
  recordedShape(): Promise<Shape | undefined> {
    return this.cluster.recordedShape();
  }

  /** Clients' bootstrap list (EXTERNAL, SASL_SSL). */
  bootstrap(): string {
    return this.cluster.bootstrap();
  }

  /** Bootstrap list of the INTERNAL listener (SASL_PLAINTEXT, same cluster, no TLS). */
  internalBootstrap(): string {
    return this.cluster.nodeIds.map((i) =>
      `127.0.0.1:${nodePorts(this.cluster.portBase, i).plaintext}`
    )
      .join(",");
  }

  /** Folder of the generated material (exists once the cluster was started). */
  get secretsDir(): string {
    return this.#secretsDir;
  }

  /** The generated material; throws when the cluster was never set up. */
  secrets(): SecureSecrets {
    if (this.#secrets) return this.#secrets;
    try {
      this.#secrets = JSON.parse(Deno.readTextFileSync(join(this.#secretsDir, "secrets.json")));
      return this.#secrets!;
    } catch {
      throw new StackError(
        `The secure Kafka cluster has no credentials in ${this.#secretsDir}: run \`deno task stack up --secure\``,
      );
    }
  }

  /** SASL_SSL client options of a user (SCRAM-SHA-512 unless another mechanism is asked). */
  clientOptions(
    user: SecureUser,
    mechanism: "plain" | "scram-sha-512" = "scram-sha-512",
  ): KafkaClientOptions {
    const s = this.secrets();
    return {
      brokers: this.bootstrap().split(","),
      securityProtocol: "SASL_SSL",
      caFile: s.caFile,
      saslMechanism: mechanism,
      username: user,
      password: s.users[user],
    };
  }

  async #writeSecrets(secrets: SecureSecrets): Promise<void> {
    const file = join(this.#secretsDir, "secrets.json");
    // Write-then-rename: an interrupted write leaves the previous file whole.
    await Deno.writeTextFile(`${file}.tmp`, JSON.stringify(secrets, null, 2) + "\n", {
      mode: 0o600,
    });
    await Deno.rename(`${file}.tmp`, file);
    this.#secrets = secrets;
  }

  async #writeClientProperties(
    u: SecureUser,
    password: string,
    truststore: string,
    storePassword: string,
  ): Promise<string> {
    const path = join(this.#secretsDir, `client-${u}.properties`);
    await Deno.writeTextFile(
      path,
      [
        "security.protocol=SASL_SSL",
        "sasl.mechanism=PLAIN",
        `sasl.jaas.config=${PLAIN} required username="${u}" password="${password}";`,
        `ssl.truststore.location=${truststore}`,
        "ssl.truststore.type=PKCS12",
        `ssl.truststore.password=${storePassword}`,
        "",
      ].join("\n"),
      { mode: 0o600 },
    );
    return path;
  }

  /**
   * Generates CA, broker keystores, truststore, passwords and client files once; adds the
   * passwords of users added since, in place (see the module doc). Never deletes the cluster.
   */
  async ensureSecrets(): Promise<SecureSecrets> {
    const file = join(this.#secretsDir, "secrets.json");
    if (await exists(file)) {
      const known = this.secrets();
      const missing = SECURE_USERS.filter((u) => !known.users[u]);
      if (missing.length === 0) return known;
      console.error(
        `The secure cluster's credentials in ${this.#secretsDir} lack users ${
          missing.join(", ")
        }: adding them in place (the other users keep their passwords)`,
      );
      const users = { ...known.users };
      const javaClientProperties = { ...known.javaClientProperties };
      for (const u of missing) {
        users[u] = randomPassword();
        javaClientProperties[u] = await this.#writeClientProperties(
          u,
          users[u],
          known.truststore,
          known.storePassword,
        );
      }
      const scramPending = [...new Set([...(known.scramPending ?? []), ...missing])];
      await this.#writeSecrets({ ...known, users, javaClientProperties, scramPending });
      return this.#secrets!;
    }
    // Storage formatted before (with credentials that are gone) keeps its data; every user's
    // SCRAM credential is re-set once the cluster runs.
    const hadStorage = await exists(this.cluster.root);
    const dir = this.#secretsDir;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    console.error(`Generating CA, broker keystores and user credentials into ${dir}`);
    const storePassword = randomPassword();
    await generateCa(dir, "practicum-secure-ca", this.#validityDays);
    const truststore = join(dir, "truststore.p12");
    await run("keytool", [
      "-importcert",
      "-noprompt",
      "-alias",
      "ca",
      "-file",
      join(dir, "ca.crt"),
      "-keystore",
      truststore,
      "-storetype",
      "PKCS12",
      "-storepass",
      storePassword,
    ], { what: "creating the truststore" });
    for (const id of this.cluster.nodeIds) {
      const name = `kafka-${id}`;
      const { key, crt } = await issueCertificate(dir, name, this.#validityDays);
      await run("openssl", [
        "pkcs12",
        "-export",
        "-in",
        crt,
        "-inkey",
        key,
        "-certfile",
        join(dir, "ca.crt"),
        "-name",
        name,
        "-out",
        join(dir, `${name}.keystore.p12`),
        "-passout",
        `pass:${storePassword}`,
      ], { what: `creating the keystore of ${name}` });
    }
    const users = Object.fromEntries(SECURE_USERS.map((u) => [u, randomPassword()])) as Record<
      SecureUser,
      string
    >;
    const javaClientProperties = {} as Record<SecureUser, string>;
    for (const u of SECURE_USERS) {
      javaClientProperties[u] = await this.#writeClientProperties(
        u,
        users[u],
        truststore,
        storePassword,
      );
    }
    await this.#writeSecrets({
      dir,
      caFile: join(dir, "ca.crt"),
      truststore,
      storePassword,
      users,
      javaClientProperties,
      scramPending: hadStorage ? [...SECURE_USERS] : undefined,
    });
    return this.#secrets!;
  }

  /**
   * Gives the running cluster the SCRAM credentials still owed (`scramPending`) with Kafka's
   * ConfigCommand as `admin` over the INTERNAL listener (PLAIN), then clears the list.
   */
  async #applyPendingScram(): Promise<void> {
    const s = this.secrets();
    const pending = s.scramPending ?? [];
    if (pending.length === 0) return;
    const config = join(this.#secretsDir, "admin-internal.properties");
    await Deno.writeTextFile(
      config,
      [
        "security.protocol=SASL_PLAINTEXT",
        "sasl.mechanism=PLAIN",
        `sasl.jaas.config=${PLAIN} required username="admin" password="${s.users.admin}";`,
        "",
      ].join("\n"),
      { mode: 0o600 },
    );
    console.error(
      `Setting the SCRAM-SHA-512 credentials of ${pending.join(", ")} on the secure cluster`,
    );
    for (const u of pending) {
      await runKafkaTool("kafka.admin.ConfigCommand", [
        "--bootstrap-server",
        this.internalBootstrap(),
        "--command-config",
        config,
        "--alter",
        "--add-config",
        `SCRAM-SHA-512=[password=${s.users[u]}]`,
        "--entity-type",
        "users",
        "--entity-name",
        u,
      ], { what: `setting the SCRAM credential of '${u}'` }).catch((err) => {
        throw new StackError((err as Error).message);
      });
    }
    await this.#writeSecrets({ ...s, scramPending: undefined });
  }

  #nodeProperties(id: number): Record<string, string> {
    const s = this.secrets();
    const ports = nodePorts(this.cluster.portBase, id);
    const plainUsers = SECURE_USERS.map((u) => `user_${u}="${s.users[u]}"`).join(" ");
    const admin = `username="admin" password="${s.users.admin}"`;
    const plainJaas = `${PLAIN} required ${admin} ${plainUsers};`;
    return {
      "listeners":
        `INTERNAL://127.0.0.1:${ports.plaintext},EXTERNAL://127.0.0.1:${ports.external},CONTROLLER://127.0.0.1:${ports.controller}`,
      "advertised.listeners":
        `INTERNAL://127.0.0.1:${ports.plaintext},EXTERNAL://localhost:${ports.external}`,
      "listener.security.protocol.map":
        "CONTROLLER:SASL_PLAINTEXT,INTERNAL:SASL_PLAINTEXT,EXTERNAL:SASL_SSL",
      "inter.broker.listener.name": "INTERNAL",
      "sasl.mechanism.inter.broker.protocol": "PLAIN",
      "sasl.mechanism.controller.protocol": "PLAIN",
      "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-512",
      "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
      "listener.name.controller.plain.sasl.jaas.config": plainJaas,
      "listener.name.internal.sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-512",
      "listener.name.internal.plain.sasl.jaas.config": plainJaas,
      "listener.name.internal.scram-sha-512.sasl.jaas.config": `${SCRAM} required;`,
      "listener.name.external.sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-512",
      "listener.name.external.plain.sasl.jaas.config": plainJaas,
      "listener.name.external.scram-sha-512.sasl.jaas.config": `${SCRAM} required;`,
      "ssl.keystore.location": join(s.dir, `kafka-${id}.keystore.p12`),
      "ssl.keystore.type": "PKCS12",
      "ssl.keystore.password": s.storePassword,
      "ssl.key.password": s.storePassword,
      "ssl.truststore.location": s.truststore,
      "ssl.truststore.type": "PKCS12",
      "ssl.truststore.password": s.storePassword,
      "ssl.client.auth": "none",
      "ssl.endpoint.identification.algorithm": "https",
      "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
      "super.users": "User:admin",
      "allow.everyone.if.no.acl.found": "false",
      // Practice 6 topics are RF 3 with min ISR 2, as on the main cluster.
      "auto.create.topics.enable": "false",
    };
  }

  async start(): Promise<void> {
    await this.cluster.checkShape(); // before the secrets are touched
    await this.ensureSecrets();
    await this.cluster.start();
    await this.#applyPendingScram();
  }

  stop(): Promise<void> {
    return this.cluster.stop();
  }

  status(): Promise<ProcessStatus[]> {
    return this.cluster.status();
  }
}
