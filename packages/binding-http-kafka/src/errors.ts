import { defineErrors } from '@tributary/kernel';

/**
 * Error codes of the http-kafka binding; each has a section in docs/errors.md. Each reaches the
 * client as an RFC 9457 problem document with the status given here.
 */
export const errors = defineErrors({
  TRIB_HTTP_KAFKA_NOT_A_REQUEST: { message: 'stream begin is not an HTTP request: {reason}', status: 400 },
  TRIB_HTTP_KAFKA_NO_ROUTE: { message: 'no route for {method} {path}', status: 404 },
  TRIB_HTTP_KAFKA_METHOD_NOT_ALLOWED: { message: '{method} is not allowed on {path}', status: 405 },
  TRIB_HTTP_KAFKA_UNAUTHORIZED: { message: 'credentials required for {method} {path}', status: 401 },
  TRIB_HTTP_KAFKA_FORBIDDEN: { message: 'not allowed to {method} {path}', status: 403 },
  TRIB_HTTP_KAFKA_NOT_FOUND: { message: 'no record for {path}', status: 404 },
  TRIB_HTTP_KAFKA_BODY_TOO_LARGE: { message: 'request body exceeds {limit} bytes', status: 413 },
  TRIB_HTTP_KAFKA_IDEMPOTENCY_KEY_REQUIRED: {
    message: 'this route keys records by the {header} header, which the request lacks',
    status: 400,
  },
  TRIB_HTTP_KAFKA_UNAVAILABLE: { message: 'Kafka is not available: {reason}', status: 503 },
  TRIB_HTTP_KAFKA_UNKNOWN_TOPIC: { message: 'the topic behind {path} does not exist', status: 404 },
  TRIB_HTTP_KAFKA_INVALID_RECORD: { message: 'Kafka refused the record: {reason}', status: 400 },
  TRIB_HTTP_KAFKA_REPLY_TIMEOUT: { message: 'no reply within {ms} ms', status: 504 },
  TRIB_HTTP_KAFKA_UPSTREAM_FAILED: { message: 'the Kafka side failed: {reason}', status: 502 },
  // Reasons on stream frames only: the HTTP client never sees them.
  TRIB_HTTP_KAFKA_ANSWERED: { message: 'response already sent; the rest of the request is not read' },
  TRIB_HTTP_KAFKA_REQUEST_CLOSED: { message: 'the HTTP request ended' },
  TRIB_HTTP_KAFKA_FETCH_ENDED: { message: 'the Kafka fetch ended before the request was answered' },
});
