#!/bin/bash
# Secrets of compose/final.yaml, with keytool only (the Kafka image has it): a CA, a keystore per
# broker of cluster A signed by it (SANs: the broker's name, localhost, 127.0.0.1), a truststore,
# the CA as PEM for the Deno clients, admin client properties (PLAIN, for Kafka's tools) and
# SCRAM-SHA-512 client properties of the Java clients (Connect worker, MirrorMaker 2, Kafka UI).
# Passwords come from the environment and are never written into the repository.
# Idempotent: an existing /secrets/ca.p12 is kept.
set -euo pipefail
cd /secrets
P="$FINAL_STORE_PASSWORD"
if [ ! -f ca.p12 ]; then
  keytool -genkeypair -alias ca -dname CN=marketplace-ca -keyalg RSA -keysize 2048 -validity 365 \
    -ext bc:c -keystore ca.p12 -storetype PKCS12 -storepass "$P"
  keytool -exportcert -rfc -alias ca -keystore ca.p12 -storepass "$P" -file ca.crt
  keytool -importcert -noprompt -alias ca -file ca.crt -keystore truststore.p12 -storetype PKCS12 -storepass "$P"
  for n in kafka-0 kafka-1 kafka-2; do
    keytool -genkeypair -alias "$n" -dname "CN=$n" -keyalg RSA -keysize 2048 -validity 365 \
      -keystore "$n.keystore.p12" -storetype PKCS12 -storepass "$P"
    keytool -certreq -alias "$n" -keystore "$n.keystore.p12" -storepass "$P" -file "$n.csr"
    keytool -gencert -alias ca -keystore ca.p12 -storepass "$P" -infile "$n.csr" -outfile "$n.crt" \
      -rfc -validity 365 -ext "SAN=dns:$n,dns:localhost,ip:127.0.0.1" -ext eku=serverAuth,clientAuth
    keytool -importcert -noprompt -alias ca -file ca.crt -keystore "$n.keystore.p12" -storepass "$P"
    keytool -importcert -noprompt -alias "$n" -file "$n.crt" -keystore "$n.keystore.p12" -storepass "$P"
    rm "$n.csr"
  done
fi
tls="ssl.truststore.location=/secrets/truststore.p12
ssl.truststore.type=PKCS12
ssl.truststore.password=$P"
cat > admin.properties <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=PLAIN
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$FINAL_ADMIN_PASSWORD";
$tls
PROPS
scram() { # user password → client-<user>.properties
  cat > "client-$1.properties" <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$1" password="$2";
$tls
PROPS
}
scram connect "$FINAL_CONNECT_PASSWORD"
scram mirror-maker "$FINAL_MIRROR_MAKER_PASSWORD"
scram admin "$FINAL_ADMIN_PASSWORD"
chmod 644 ./*
