import { defineErrors } from '@tributary/kernel';

/**
 * Error codes of @tributary/binding-sse-kafka; each has a section in docs/errors.md. Codes with a
 * status reach the client, before its event stream began, as problem documents.
 */
export const errors = defineErrors({
  TRIB_SSE_KAFKA_NOT_AN_SSE_STREAM: { message: 'stream begin is not an SSE request: {reason}', status: 400 },
  TRIB_SSE_KAFKA_NO_ROUTE: { message: 'no event stream at {path}', status: 404 },
  TRIB_SSE_KAFKA_UNAUTHORIZED: { message: 'credentials required for {path}', status: 401 },
  TRIB_SSE_KAFKA_FORBIDDEN: { message: 'not allowed to read {path}', status: 403 },
  TRIB_SSE_KAFKA_UNAVAILABLE: { message: 'Kafka is not available: {reason}', status: 503 },
  TRIB_SSE_KAFKA_UNKNOWN_TOPIC: { message: 'the topic behind {path} does not exist', status: 404 },
  TRIB_SSE_KAFKA_INVALID_LAST_EVENT_ID: {
    message: 'the last event id is not a progress token of this gateway; reconnect without it to start over',
    status: 400,
  },
  TRIB_SSE_KAFKA_UPSTREAM_FAILED: { message: 'the Kafka side failed: {reason}', status: 502 },
  // A reason on stream frames only.
  TRIB_SSE_KAFKA_CLOSED: { message: 'the event stream closed' },
});
