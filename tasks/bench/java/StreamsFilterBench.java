/*
 * The reference side of `deno task bench:streams`: practice 3's message filter as a Kafka
 * Streams program (processing.guarantee=exactly_once_v2 by default). Reads JSON chat messages
 * {sender, recipient, text}, drops those whose recipient blocked the sender, masks forbidden
 * words (case-insensitive, whole words, any script) and writes the rest.
 *
 * Compiled at bench time against the stack's Kafka bundle (kafka-streams + jackson); class
 * files go to the stack cache, never into the repository.
 *
 * Args: bootstrap appId inputTopic outputTopic guarantee stateDir blockedPairs words
 *   blockedPairs: "user>blocked,user>blocked"   words: "w1,w2"
 */
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.HashSet;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Produced;

public final class StreamsFilterBench {
  private static final ObjectMapper JSON = new ObjectMapper();

  public static void main(String[] args) throws Exception {
    if (args.length != 8) {
      System.err.println("usage: StreamsFilterBench bootstrap appId in out guarantee stateDir blocked words");
      System.exit(2);
    }
    String bootstrap = args[0], appId = args[1], in = args[2], out = args[3];
    Set<String> blocked = new HashSet<>();
    for (String pair : args[6].split(",")) if (!pair.isEmpty()) blocked.add(pair);
    StringBuilder alt = new StringBuilder();
    for (String w : args[7].split(",")) {
      if (w.isEmpty()) continue;
      if (alt.length() > 0) alt.append('|');
      alt.append(Pattern.quote(w.toLowerCase()));
    }
    Pattern words = Pattern.compile(
        "(?<![\\p{L}\\p{N}\\p{M}_])(?:" + alt + ")(?![\\p{L}\\p{N}\\p{M}_])",
        Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.UNICODE_CHARACTER_CLASS);

    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, args[4]);
    p.put(StreamsConfig.STATE_DIR_CONFIG, args[5]);
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, "1");
    p.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");

    StreamsBuilder b = new StreamsBuilder();
    b.stream(in, Consumed.with(Serdes.String(), Serdes.String()))
        .flatMapValues(v -> {
          try {
            ObjectNode m = (ObjectNode) JSON.readTree(v);
            String sender = m.get("sender").asText(), recipient = m.get("recipient").asText();
            if (blocked.contains(recipient + ">" + sender)) return java.util.List.<String>of();
            Matcher x = words.matcher(m.get("text").asText());
            StringBuilder sb = new StringBuilder();
            while (x.find()) x.appendReplacement(sb, "*".repeat(x.group().codePointCount(0, x.group().length())));
            x.appendTail(sb);
            ObjectNode o = JSON.createObjectNode();
            o.put("sender", sender);
            o.put("recipient", recipient);
            o.put("text", sb.toString());
            return java.util.List.of(JSON.writeValueAsString(o));
          } catch (Exception e) {
            return java.util.List.<String>of();
          }
        })
        .to(out, Produced.with(Serdes.String(), Serdes.String()));

    KafkaStreams streams = new KafkaStreams(b.build(), p);
    CountDownLatch done = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      streams.close();
      done.countDown();
    }));
    streams.start();
    System.out.println("started " + appId + " (" + args[4] + ")");
    done.await();
  }
}
