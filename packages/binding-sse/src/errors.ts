import { defineErrors } from '@tributary/kernel';

/**
 * Error codes of @tributary/binding-sse; each has a section in docs/errors.md. Codes with a status
 * reach the client as RFC 9457 problem documents (rendered by the `http` server); the others are
 * reasons on stream frames, for the exit and the logs.
 */
export const errors = defineErrors({
  TRIB_SSE_NOT_A_REQUEST: { message: 'stream begin is not an HTTP request: {reason}', status: 400 },
  TRIB_SSE_METHOD_NOT_ALLOWED: { message: 'event streams are read with GET, not {method}', status: 405 },
  TRIB_SSE_NOT_ACCEPTABLE: {
    message: 'the request does not accept text/event-stream (Accept: {accept})',
    status: 406,
  },
  TRIB_SSE_NO_ROUTE: { message: 'no event stream at {path}', status: 404 },
  TRIB_SSE_UNAUTHORIZED: { message: 'credentials required for {path}', status: 401 },
  TRIB_SSE_FORBIDDEN: { message: 'not allowed to read {path}', status: 403 },
  TRIB_SSE_UPSTREAM_FAILED: { message: 'the event source failed: {reason}', status: 502 },
  TRIB_SSE_STOPPING: { message: 'the gateway is stopping', status: 503 },
  // Reasons on stream frames only: the HTTP client sees the response end (or cut).
  TRIB_SSE_LAGGING: {
    message: 'the client fell more than {limit} bytes behind; it resumes from its last event id',
  },
  TRIB_SSE_EXPIRED: { message: 'the authorization of guard "{guard}" expired' },
  TRIB_SSE_CLIENT_CLOSED: { message: 'the client closed the event stream' },
});
