/**
 * The pinned software of the local stack, as Maven coordinates grouped in bundles. A bundle
 * is one Java classpath (or one set of files). `deno task stack:lock` resolves every bundle
 * with Maven once and records each file's path, size and SHA-256 in `artifacts.lock.json`;
 * at run time {@linkcode ./artifacts.ts} downloads exactly those files and checks them.
 *
 * @module
 */

/** Apache Kafka release the stack runs (broker, controller, tools, Connect, MirrorMaker 2). */
export const KAFKA_VERSION = "4.1.1";

/** Debezium release of the Connect plugins (PostgreSQL source, JDBC sink); 3.3 targets Kafka 4.1. */
export const DEBEZIUM_VERSION = "3.3.1.Final";

/** Apicurio Registry release (Confluent-compatible API under /apis/ccompat/v7); 3.0 runs on Java 17. */
export const APICURIO_VERSION = "3.0.9";

/** Apache Hadoop release of the stack's HDFS (NameNode, DataNode, WebHDFS). */
export const HADOOP_VERSION = "3.4.2";

/** Apache Spark release used by the lake benchmark (pyspark from PyPI + its Kafka source jars). */
export const SPARK_VERSION = "3.5.7";

/** Log4j 2 release used as the SLF4J backend, as in Kafka's own distribution. */
const LOG4J = "2.24.3";

/** A bundle: Maven coordinates `group:artifact:version[:type[:classifier]]`, resolved transitively. */
export interface BundleSpec {
  /** What the bundle is for, shown in progress output. */
  description: string;
  /** Root coordinates. */
  coordinates: string[];
  /** Resolve dependencies of the roots too. @default true */
  transitive?: boolean;
  /**
   * Download the files named by the coordinates as they are, checked against the repository's
   * SHA-1, without reading their POMs (for artifacts whose parent POM is not published).
   * @default false
   */
  direct?: boolean;
}

/** Every bundle the stack knows. Add a bundle here, then run `deno task stack:lock`. */
export const BUNDLES: Record<string, BundleSpec> = {
  kafka: {
    description:
      `Apache Kafka ${KAFKA_VERSION} (KRaft broker/controller, tools, Connect, MirrorMaker 2)`,
    coordinates: [
      "org.slf4j:slf4j-api:2.0.17",
      `org.apache.kafka:kafka_2.13:${KAFKA_VERSION}`,
      `org.apache.kafka:kafka-tools:${KAFKA_VERSION}`,
      `org.apache.kafka:connect-runtime:${KAFKA_VERSION}`,
      `org.apache.kafka:connect-mirror:${KAFKA_VERSION}`,
      `org.apache.kafka:connect-json:${KAFKA_VERSION}`,
      `org.apache.kafka:connect-transforms:${KAFKA_VERSION}`,
      `org.apache.kafka:connect-file:${KAFKA_VERSION}`,
      `org.apache.kafka:kafka-streams:${KAFKA_VERSION}`,
      `org.apache.logging.log4j:log4j-slf4j2-impl:${LOG4J}`,
      `org.apache.logging.log4j:log4j-core:${LOG4J}`,
    ],
  },
  "debezium-postgres": {
    description: `Debezium ${DEBEZIUM_VERSION} PostgreSQL source connector (Connect plugin)`,
    coordinates: [`io.debezium:debezium-connector-postgres:${DEBEZIUM_VERSION}`],
  },
  "debezium-jdbc": {
    description:
      `Debezium ${DEBEZIUM_VERSION} JDBC sink connector + PostgreSQL driver (Connect plugin)`,
    coordinates: [
      `io.debezium:debezium-connector-jdbc:${DEBEZIUM_VERSION}`,
      "org.postgresql:postgresql:42.7.7",
    ],
  },
  "jmx-exporter": {
    description: "Prometheus JMX exporter Java agent (brokers, Connect)",
    coordinates: ["io.prometheus.jmx:jmx_prometheus_javaagent:1.0.1"],
    transitive: false,
  },
  "apicurio-registry": {
    description:
      `Apicurio Registry ${APICURIO_VERSION} (schema registry, Confluent-compatible API)`,
    coordinates: [`io.apicurio:apicurio-registry-app:${APICURIO_VERSION}:tar.gz:all`],
    direct: true,
  },
  hadoop: {
    description: `Apache Hadoop ${HADOOP_VERSION} HDFS (NameNode, DataNode, WebHDFS)`,
    coordinates: [
      `org.apache.hadoop:hadoop-hdfs:${HADOOP_VERSION}`,
      // The web apps of the NameNode/DataNode UIs and WebHDFS (webapps/hdfs, webapps/datanode)
      // are published only inside the test jar.
      `org.apache.hadoop:hadoop-hdfs:${HADOOP_VERSION}:test-jar:tests`,
      `org.apache.hadoop:hadoop-hdfs-client:${HADOOP_VERSION}`,
      `org.apache.hadoop:hadoop-common:${HADOOP_VERSION}`,
    ],
  },
  "spark-kafka": {
    description:
      `Spark ${SPARK_VERSION} Kafka source (spark-sql-kafka-0-10) for the lake benchmark`,
    coordinates: [`org.apache.spark:spark-sql-kafka-0-10_2.12:${SPARK_VERSION}`],
  },
};
