/**
 * Diagnostic events of the `jwt` guard (docs/events.md), emitted on state transitions only: one
 * `jwt.jwks.failed` when fetching the JWKS starts failing, one `jwt.jwks.recovered` when a fetch
 * succeeds again. Retries in between are silent. Details carry the JWKS URL without its query
 * (which could hold a secret), error codes and key counts; never tokens or keys.
 *
 * @module
 */
import type { DiagnosticEvent } from '@tributary/kernel';

export const EVENTS = {
  jwksFailed: 'jwt.jwks.failed',
  jwksRecovered: 'jwt.jwks.recovered',
} as const;

export type JwtEventName = (typeof EVENTS)[keyof typeof EVENTS];

export interface JwksFailure {
  readonly guard: string;
  /** The JWKS URL without query or fragment. */
  readonly url: string;
  /** `HTTP_<status>`, a system error code (`ECONNREFUSED`), `TIMEOUT` or `INVALID_JWKS`. */
  readonly code: string;
  readonly reason: string;
  /** Keys still used from the last good fetch (and inline keys); 0 when there are none. */
  readonly keys: number;
  readonly servingLastGood: boolean;
  /** Milliseconds until the next attempt. */
  readonly retryInMs: number;
}

/** Fetching the JWKS failed, and it was not failing already. `error` when no keys are left. */
export function jwksFailed(failure: JwksFailure): DiagnosticEvent {
  const serving = failure.servingLastGood
    ? `keeps using the last good keys (${String(failure.keys)})`
    : 'has no keys: every token is refused';
  return {
    name: EVENTS.jwksFailed,
    level: failure.servingLastGood ? 'warn' : 'error',
    message: `jwt guard "${failure.guard}" cannot fetch its JWKS (${failure.code}) and ${serving}; retrying in ${String(failure.retryInMs)} ms`,
    detail: { ...failure },
  };
}

/** A JWKS fetch succeeded after {@link jwksFailed}. */
export function jwksRecovered(detail: {
  readonly guard: string;
  readonly url: string;
  readonly keys: number;
  /** Failed attempts since `jwt.jwks.failed`. */
  readonly attempts: number;
  /** Milliseconds since the first failure. */
  readonly after: number;
}): DiagnosticEvent {
  return {
    name: EVENTS.jwksRecovered,
    level: 'info',
    message: `jwt guard "${detail.guard}" fetched its JWKS again (${String(detail.keys)} keys) after ${String(detail.attempts)} failed attempt(s)`,
    detail: { ...detail },
  };
}
