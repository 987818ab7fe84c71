// A tiny client built on the official Java client (kafka-clients from the cached broker jars), used
// as an independent reference peer in tests: `produce` one record, or `consume` records of partition 0
// from the beginning. Client settings come as key=value arguments.
//
//   java -cp <classes>:<libs>/* KafkaCheck produce <topic> <value> [key=value ...]
//   java -cp <classes>:<libs>/* KafkaCheck consume <topic> <count> [key=value ...]
//   java -cp <classes>:<libs>/* KafkaCheck roundtrip <topic> <value> [key=value ...]   (both, one JVM)
//
// Exit 0 on success (consume prints one value per line), 1 on failure (the error on stderr).
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public class KafkaCheck {
  public static void main(String[] args) {
    if (args.length < 3) {
      System.err.println("usage: KafkaCheck produce|consume|roundtrip <topic> <value|count> [key=value ...]");
      System.exit(2);
    }
    Properties props = new Properties();
    props.put("client.id", "tributary-kafka-check");
    for (int i = 3; i < args.length; i++) {
      int eq = args[i].indexOf('=');
      if (eq <= 0) {
        System.err.println("bad setting: " + args[i]);
        System.exit(2);
      }
      props.put(args[i].substring(0, eq), args[i].substring(eq + 1));
    }
    try {
      if (args[0].equals("produce")) {
        produce(props, args[1], args[2]);
      } else if (args[0].equals("consume")) {
        consume(props, args[1], Integer.parseInt(args[2]));
      } else if (args[0].equals("roundtrip")) {
        Properties consumerProps = new Properties();
        consumerProps.putAll(props);
        props.remove("check.timeout.ms");
        produce(props, args[1], args[2]);
        consume(consumerProps, args[1], 1);
      } else {
        System.err.println("unknown mode " + args[0]);
        System.exit(2);
      }
      System.exit(0);
    } catch (Throwable e) {
      Throwable root = e;
      while (root.getCause() != null && root.getCause() != root) root = root.getCause();
      System.err.println("ERROR " + root.getClass().getName() + ": " + root.getMessage());
      System.exit(1);
    }
  }

  static void produce(Properties props, String topic, String value) throws Exception {
    props.putIfAbsent("acks", "all");
    props.putIfAbsent("linger.ms", "0");
    // A fresh topic is auto-created on first use: retry its metadata quickly.
    props.putIfAbsent("retry.backoff.max.ms", "100");
    props.putIfAbsent("max.block.ms", "20000");
    props.putIfAbsent("delivery.timeout.ms", "30000");
    props.putIfAbsent("request.timeout.ms", "15000");
    try (KafkaProducer<String, String> p =
        new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
      RecordMetadata md = p.send(new ProducerRecord<>(topic, value)).get();
      System.out.println("OK " + md.partition() + " " + md.offset());
    }
  }

  static void consume(Properties props, String topic, int count) throws Exception {
    props.putIfAbsent("enable.auto.commit", "false");
    props.putIfAbsent("fetch.max.wait.ms", "50");
    props.putIfAbsent("retry.backoff.max.ms", "100");
    props.putIfAbsent("default.api.timeout.ms", "20000");
    long timeoutMs = Long.parseLong(props.getProperty("check.timeout.ms", "30000"));
    props.remove("check.timeout.ms");
    KafkaConsumer<String, String> c =
        new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer());
    try {
      TopicPartition tp = new TopicPartition(topic, 0);
      c.assign(List.of(tp));
      c.seekToBeginning(List.of(tp));
      List<String> got = new ArrayList<>();
      long deadline = System.currentTimeMillis() + timeoutMs;
      while (got.size() < count && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) got.add(r.value());
      }
      for (String v : got) System.out.println(v);
      if (got.size() < count) throw new RuntimeException("got " + got.size() + " of " + count + " records");
    } finally {
      c.close(Duration.ofMillis(500));
    }
  }
}
