import { defineErrors } from '@tributary/kernel';

/** Error codes of the kafka binding; documented in docs/errors.md. */
export const errors = defineErrors({
  TRIB_KAFKA_UNAVAILABLE: { message: 'Kafka is unreachable: {reason}', status: 503 },
  TRIB_KAFKA_TIMEOUT: { message: 'Kafka did not acknowledge within {ms} ms', status: 503 },
  TRIB_KAFKA_AUTHENTICATION: {
    message: 'Kafka refused the gateway credentials ({mechanism} on {servers}): {reason}',
    status: 503,
  },
  TRIB_KAFKA_OAUTH_TOKEN: {
    message: 'cannot obtain an OAUTHBEARER token from {source}: {reason}',
    status: 503,
  },
  TRIB_KAFKA_AUTHORIZATION: { message: 'Kafka denied {operation} on {resource}: {reason}', status: 503 },
  TRIB_KAFKA_UNKNOWN_TOPIC: { message: 'topic "{topic}" does not exist', status: 404 },
  TRIB_KAFKA_INVALID_RECORD: { message: 'record refused by Kafka: {reason}', status: 400 },
  TRIB_KAFKA_INVALID_TOKEN: { message: 'progress token is not valid: {reason}', status: 400 },
  TRIB_KAFKA_REBALANCED: { message: 'the consumer group rebalanced: {reason}', status: 409 },
  TRIB_KAFKA_INVALID_BEGIN: { message: 'stream begin is not a kafka request: {reason}', status: 500 },
  TRIB_KAFKA_INTERNAL: { message: 'unexpected Kafka client failure: {reason}', status: 500 },
  TRIB_KAFKA_OPTIONS: { message: 'kafka binding options: {reason}' },
  TRIB_KAFKA_CACHE_CLOSED: { message: 'the kafka cache closed a stream it no longer needs: {reason}' },
  TRIB_KAFKA_UPSTREAM_ENDED: {
    message: 'the upstream fetch of topic "{topic}" ended; the cache fetches again',
    status: 503,
  },
});
