/*
 * The reference side of `deno task bench:final-ingest`: the final project's product filter as
 * a Kafka Streams program (exactly_once_v2, 1 stream thread), same topology as
 * lib/marketplace/filter.ts: input products → parse JSON, check product_id against the
 * forbidden table (a GlobalKTable over the compacted forbidden topic) → allowed to `out`,
 * forbidden to `blocked` with the reason, unparsable to `dlq`.
 *
 * Compiled at bench time against the stack's Kafka bundle, like StreamsFilterBench.java.
 *
 * Args: clientPropertiesFile bootstrap appId in out blocked dlq forbiddenTopic stateDir
 */
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.FileInputStream;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.GlobalKTable;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Produced;

public final class ProductFilterBench {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static String idOf(String v) {
    try {
      JsonNode n = JSON.readTree(v);
      JsonNode id = n == null ? null : n.get("product_id");
      return id != null && id.isTextual() ? id.asText() : "";
    } catch (Exception e) {
      return "";
    }
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 9) {
      System.err.println("usage: ProductFilterBench props bootstrap appId in out blocked dlq forbidden stateDir");
      System.exit(2);
    }
    Properties p = new Properties();
    try (FileInputStream f = new FileInputStream(args[0])) {
      p.load(f);
    }
    String in = args[3], out = args[4], blocked = args[5], dlq = args[6], forbidden = args[7];
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[1]);
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, args[2]);
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, "exactly_once_v2");
    p.put(StreamsConfig.STATE_DIR_CONFIG, args[8]);
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, "1");
    p.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");

    StreamsBuilder b = new StreamsBuilder();
    GlobalKTable<String, String> table =
        b.globalTable(forbidden, Consumed.with(Serdes.String(), Serdes.String()));
    KStream<String, String> parsed = b.stream(in, Consumed.with(Serdes.String(), Serdes.String()));
    parsed.filter((k, v) -> idOf(v).isEmpty()).to(dlq, Produced.with(Serdes.String(), Serdes.String()));
    KStream<String, String[]> checked = parsed
        .filter((k, v) -> !idOf(v).isEmpty())
        .leftJoin(table, (k, v) -> idOf(v), (v, ban) -> new String[] {v, ban});
    checked.filter((k, vb) -> vb[1] == null || vb[1].equals("null"))
        .map((k, vb) -> KeyValue.pair(idOf(vb[0]), vb[0]))
        .to(out, Produced.with(Serdes.String(), Serdes.String()));
    checked.filter((k, vb) -> vb[1] != null && !vb[1].equals("null"))
        .map((k, vb) -> {
          ObjectNode o = JSON.createObjectNode();
          String id = idOf(vb[0]);
          o.put("product_id", id);
          try {
            o.put("reason", JSON.readTree(vb[1]).path("reason").asText());
          } catch (Exception e) {
            o.put("reason", "");
          }
          return KeyValue.pair(id, o.toString());
        })
        .to(blocked, Produced.with(Serdes.String(), Serdes.String()));

    KafkaStreams streams = new KafkaStreams(b.build(), p);
    CountDownLatch done = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      streams.close();
      done.countDown();
    }));
    streams.start();
    System.out.println("started " + args[2]);
    done.await();
  }
}
