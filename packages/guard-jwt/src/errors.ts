/**
 * Error codes of the `jwt` guard (docs/errors.md). Every code with a status is a failure value
 * returned by `authorize`/`reauthorize` (`{ ok: false, failure }`), never thrown; its message may
 * reach the client, so it names the rule that failed and never echoes the token. Only
 * `TRIB_JWT_OPTIONS` is thrown (at load and start).
 */
import { defineErrors } from '@tributary/kernel';

export const errors = defineErrors({
  TRIB_JWT_MALFORMED: { message: 'the credentials are not a well-formed JWT: {reason}', status: 401 },
  TRIB_JWT_ALGORITHM: { message: 'tokens signed with {alg} are not accepted', status: 401 },
  TRIB_JWT_UNKNOWN_KEY: { message: 'no verification key matches the token ({kid})', status: 401 },
  TRIB_JWT_KEYS_UNAVAILABLE: {
    message: 'guard "{guard}" has no verification keys yet: the JWKS could not be fetched',
    status: 503,
  },
  TRIB_JWT_SIGNATURE: { message: 'the token signature does not verify', status: 401 },
  TRIB_JWT_EXPIRED: { message: 'the token expired at {at}', status: 401 },
  TRIB_JWT_NOT_YET_VALID: { message: 'the token is not valid before {at} ({claim})', status: 401 },
  TRIB_JWT_ISSUER: { message: 'the token issuer is not accepted', status: 401 },
  TRIB_JWT_AUDIENCE: { message: 'the token audience is not accepted', status: 401 },
  TRIB_JWT_CLAIM: { message: 'the token claim "{claim}" {reason}', status: 401 },
  TRIB_JWT_STALE: {
    message: 'the fresh token was issued before the token of the session it should extend',
    status: 401,
  },
  TRIB_JWT_IDENTITY_MISMATCH: {
    message: 'the fresh token is for another principal or issuer than the session',
    status: 403,
  },
  TRIB_JWT_FOREIGN_SESSION: { message: 'the session was not issued by jwt guard "{guard}"', status: 403 },
  TRIB_JWT_OPTIONS: { message: 'jwt guard "{guard}": {reason}' },
});
