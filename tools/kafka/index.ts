// Kafka launcher for tests, benchmarks and local development: jars from Maven Central, certificates
// from openssl, a single-node KRaft broker with one listener per security setup, and a multi-node
// KRaft cluster (plaintext) for replication and leader-change tests.
export {
  KAFKA_USERS,
  LISTENERS,
  LISTENER_KEYS,
  kafkaEnv,
  startKafka,
  type KafkaHandle,
  type KafkaInfo,
  type KafkaListeners,
  type KafkaUser,
  type KafkaUsers,
  type ListenerKey,
  type ListenerSpec,
  type StartKafkaOptions,
} from './broker.ts';
export {
  startKafkaCluster,
  type KafkaClusterHandle,
  type KafkaClusterInfo,
  type KafkaClusterNode,
  type KafkaClusterNodeInfo,
  type StartKafkaClusterOptions,
} from './cluster.ts';
export { CERT_FILES, ensureCerts, type KafkaCerts } from './certs.ts';
export {
  KAFKA_VERSIONS,
  fetchKafka,
  kafkaLibsDir,
  resolveKafkaVersion,
  type KafkaVersionAlias,
} from './fetch.ts';
export {
  javaClientConfig,
  javaConsume,
  javaProduce,
  javaRoundtrip,
  kafkaCheckClasspath,
  kcat,
  kcatArgs,
  kcatLibrdkafkaVersion,
  kcatScramWorksWithKafka4,
  librdkafkaConfig,
  type ClientOptions,
} from './clients.ts';
