import { defineErrors } from '@tributary/kernel';

/**
 * The error codes of @tributary/binding-http; each has a section in docs/errors.md. Codes with
 * a status reach HTTP clients as the `code` of an RFC 9457 problem document.
 */
export const errors = defineErrors({
  /** Options that the schema cannot check: TLS files, vault aliases, guards, CORS. */
  TRIB_HTTP_OPTIONS: { message: 'http binding options: {reason}' },
  /** A server could not bind one of its `listen` addresses. */
  TRIB_HTTP_LISTEN_FAILED: { message: 'cannot listen on {address}: {reason}' },
  /** No route matched the request and the server has no default exit. */
  TRIB_HTTP_NOT_FOUND: { message: 'no route for {method} {path}', status: 404 },
  /** A matching route needs a guard session the request's credentials did not establish. */
  TRIB_HTTP_UNAUTHORIZED: { message: 'credentials are missing or not valid', status: 401 },
  /** The request's session lacks the roles every matching route needs. */
  TRIB_HTTP_FORBIDDEN: { message: 'the credentials do not grant access to this resource', status: 403 },
  TRIB_HTTP_GUARD_UNAVAILABLE: {
    message: 'the credentials cannot be verified right now; retry later',
    status: 503,
  },
  /** The request body is larger than `bodyLimit`. */
  TRIB_HTTP_BODY_TOO_LARGE: { message: 'the request body exceeds {limit} bytes', status: 413 },
  /** The request head is larger than `maxHeaderSize`. */
  TRIB_HTTP_HEADERS_TOO_LARGE: { message: 'the request headers exceed {limit} bytes', status: 431 },
  /** The request was not received whole within `requestTimeout` (HTTP/1.1). */
  TRIB_HTTP_REQUEST_TIMEOUT: { message: 'the request was not received in time', status: 408 },
  /** The request could not be parsed (bad content type, malformed URL…). */
  TRIB_HTTP_BAD_REQUEST: { message: 'the request is malformed: {reason}', status: 400 },
  /** The client closed the connection (or HTTP/2 stream) before the exchange finished. */
  TRIB_HTTP_CLIENT_ABORTED: { message: 'the client closed the connection before the exchange finished' },
  /** The exit failed without saying how (no `HttpProblemEx`). */
  TRIB_HTTP_UPSTREAM_FAILED: { message: 'the request could not be completed', status: 502 },
  /** The exit failed with a retriable reason. */
  TRIB_HTTP_SERVICE_UNAVAILABLE: {
    message: 'the service is temporarily unavailable; retry after {seconds} s',
    status: 503,
  },
  /** The server is stopping: new requests are refused, open ones are cut at the deadline. */
  TRIB_HTTP_STOPPING: { message: 'the server is shutting down', status: 503 },
  /** The server failed unexpectedly while handling the request. */
  TRIB_HTTP_INTERNAL: { message: 'the request could not be handled', status: 500 },
  /** A client binding cannot connect to its upstream. */
  TRIB_HTTP_UPSTREAM_UNAVAILABLE: { message: 'the upstream server cannot be reached', status: 502 },
  /** The upstream did not answer (head or next body chunk) in time. */
  TRIB_HTTP_UPSTREAM_TIMEOUT: { message: 'the upstream server did not answer within {ms} ms', status: 504 },
  /** A client binding received a stream whose begin is not an HTTP request head. */
  TRIB_HTTP_INVALID_BEGIN: { message: 'stream begin is not an http request: {reason}', status: 500 },
});
