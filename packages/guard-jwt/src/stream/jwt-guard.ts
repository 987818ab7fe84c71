/**
 * The `jwt` guard: verifies JWS-signed JWTs (RFC 7519) against the configured keys and opens
 * sessions from their claims; extends those sessions when fresh tokens arrive (continuous
 * authorization, see `session.ts`).
 *
 * Verification order, each step refusing with its own code (all 401):
 * 1. shape: a string of three base64url parts with a readable protected header;
 * 2. `alg`: one of `algorithms`, which never include `none` or HMAC (RFC 8725 §3.1) — checked
 *    before any key is looked up, so an `HS256` token "signed" with a public key never reaches
 *    a key;
 * 3. key: by `kid` and `alg` in the JWKS, refreshing it once for an unknown `kid`;
 * 4. signature, then `iss`, `aud`, `nbf` (jose's `jwtVerify`, with `clockSkewSeconds`);
 * 5. `exp` (required; no tolerance: a session ends at `exp`, the instant the kernel's route
 *    resolution also checks), `iat` not in the future beyond the skew, and the identity claim.
 *
 * Nothing here throws to the caller and nothing logs: tokens are bearer secrets.
 *
 * @module
 */
import { decodeProtectedHeader, importJWK, jwtVerify, type JWSHeaderParameters, type JWTPayload } from 'jose';
import type { GuardConfig, GuardHandler, GuardResult, GuardSession, PluginContext } from '@tributary/kernel';
import {
  resolveOptions,
  type JwtOptions,
  type JwtPublicKey,
  type ResolvedJwtOptions,
} from '../config/schema.ts';
import { errors } from '../errors.ts';
import { claimAt, deepFreeze, rolesOf } from './claims.ts';
import { KeySource } from './keys.ts';
import { extendSession, isJwtSession, JwtSession, sessionFacts, type TokenFacts } from './session.ts';

/** Longer credentials are refused unread. Tokens with many claims stay far below this. */
const MAX_TOKEN_LENGTH = 65_536;

type Verified = { readonly ok: true; readonly facts: TokenFacts } | Extract<GuardResult, { ok: false }>;

type ErrorFactory = (typeof errors)[keyof typeof errors];

function refuse(
  factory: ErrorFactory,
  params: Record<string, unknown> = {},
): Extract<GuardResult, { ok: false }> {
  const error = factory(params);
  return {
    ok: false,
    failure: {
      code: error.code,
      message: error.message,
      status: error.status === 403 || error.status === 503 ? error.status : 401,
    },
  };
}

/** A header value as it may appear in a message: quoted, short, whatever the attacker sent. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? 'nothing';
  return text.length > 40 ? `${text.slice(0, 37)}…` : text;
}

const isoSeconds = (seconds: number): string => new Date(seconds * 1000).toISOString();

/** A default algorithm to test-import an inline key with, from its type and curve. */
function probeAlgorithm(jwk: JwtPublicKey): string | undefined {
  if (typeof jwk.alg === 'string') return jwk.alg;
  switch (jwk.kty) {
    case 'RSA':
      return 'RS256';
    case 'EC':
      return jwk['crv'] === 'P-256' ? 'ES256' : jwk['crv'] === 'P-384' ? 'ES384' : undefined;
    case 'OKP':
      return jwk['crv'] === 'Ed25519' ? 'EdDSA' : undefined;
  }
}

/**
 * Creates the guard, importing every inline key first so that a broken key is a load-time
 * error (`TRIB_JWT_OPTIONS`, naming the key) rather than a stream of refused tokens.
 */
export async function createJwtGuard(ctx: PluginContext, config: GuardConfig<JwtOptions>): Promise<JwtGuard> {
  const options = resolveOptions(config.options);
  for (const [index, jwk] of options.keys.entries()) {
    const at = `keys.keys[${String(index)}]${jwk.kid === undefined ? '' : ` (kid ${shown(jwk.kid)})`}`;
    const alg = probeAlgorithm(jwk);
    if (alg === undefined) {
      throw errors.TRIB_JWT_OPTIONS({
        guard: config.name,
        reason: `${at}: unsupported curve ${shown(jwk['crv'])}`,
      });
    }
    try {
      await importJWK({ ...jwk }, alg);
    } catch (cause) {
      throw errors.TRIB_JWT_OPTIONS(
        { guard: config.name, reason: `${at} is not a usable ${alg} key: ${(cause as Error).message}` },
        { cause },
      );
    }
  }
  return new JwtGuard(ctx, config.name, options);
}

export class JwtGuard implements GuardHandler {
  private readonly ctx: PluginContext;
  private readonly name: string;
  private readonly options: ResolvedJwtOptions;
  private readonly keys: KeySource;

  constructor(ctx: PluginContext, name: string, options: ResolvedJwtOptions) {
    this.ctx = ctx;
    this.name = name;
    this.options = options;
    this.keys = new KeySource({
      guard: name,
      inline: options.keys,
      url: options.jwksUrl,
      maxAgeMs: options.maxAgeMs,
      cooldownMs: options.cooldownMs,
      timeoutMs: options.timeoutMs,
      retryDelayMs: options.retryDelayMs,
      retryDelayMaxMs: options.retryDelayMaxMs,
      events: ctx.events,
    });
  }

  /** Starts the first JWKS fetch; readiness waits for it (it settles, failing or not). */
  start(): Promise<void> {
    if (this.options.jwksUrl !== undefined)
      this.ctx.holdReadiness(`jwks of guard ${this.name}`, this.keys.start());
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.keys.stop();
    return Promise.resolve();
  }

  async authorize(credentials: string): Promise<GuardResult> {
    const verified = await this.verifySafely(credentials);
    return verified.ok ? { ok: true, session: new JwtSession(this.name, verified.facts) } : verified;
  }

  /**
   * Verifies `credentials` and, when they are a valid token for the same principal (same
   * identity claim, same `iss`) issued no earlier than the session's current token, extends
   * **the same session object** with the fresh token's expiry, challenge time, roles and
   * claims, and returns it. On any failure the session is left exactly as it was.
   */
  async reauthorize(session: GuardSession, credentials: string): Promise<GuardResult> {
    if (!isJwtSession(session) || session.guard !== this.name) {
      return refuse(errors.TRIB_JWT_FOREIGN_SESSION, { guard: this.name });
    }
    const verified = await this.verifySafely(credentials);
    if (!verified.ok) return verified;
    // Read the session's facts only now: another reauthorization may have extended it meanwhile.
    const held = sessionFacts(session);
    const fresh = verified.facts;
    if (fresh.identity !== held.identity || fresh.issuer !== held.issuer) {
      return refuse(errors.TRIB_JWT_IDENTITY_MISMATCH);
    }
    if (fresh.issuedAt !== undefined && held.issuedAt !== undefined && fresh.issuedAt < held.issuedAt) {
      return refuse(errors.TRIB_JWT_STALE);
    }
    extendSession(session, fresh);
    return { ok: true, session };
  }

  /** {@link verify}, with anything unexpected turned into a refusal: authorize never rejects. */
  private async verifySafely(credentials: string): Promise<Verified> {
    try {
      return await this.verify(credentials);
    } catch {
      return refuse(errors.TRIB_JWT_MALFORMED, { reason: 'it cannot be verified' });
    }
  }

  private async verify(token: string): Promise<Verified> {
    if (typeof token !== 'string' || token.length === 0) {
      return refuse(errors.TRIB_JWT_MALFORMED, { reason: 'no token' });
    }
    if (token.length > MAX_TOKEN_LENGTH) {
      return refuse(errors.TRIB_JWT_MALFORMED, {
        reason: `longer than ${String(MAX_TOKEN_LENGTH)} characters`,
      });
    }
    const parts = token.split('.').length;
    if (parts !== 3) {
      return refuse(errors.TRIB_JWT_MALFORMED, {
        reason:
          parts === 5 ? 'encrypted tokens (JWE) are not accepted' : 'a JWT has three dot-separated parts',
      });
    }
    let header: JWSHeaderParameters;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      return refuse(errors.TRIB_JWT_MALFORMED, { reason: 'the protected header is not base64url JSON' });
    }
    const alg: unknown = header.alg;
    if (typeof alg !== 'string' || !(this.options.algorithms as readonly string[]).includes(alg)) {
      return refuse(errors.TRIB_JWT_ALGORITHM, { alg: shown(alg) });
    }

    const found = await this.keys.lookup(header);
    if (!found.ok) {
      return found.reason === 'no-keys'
        ? refuse(errors.TRIB_JWT_KEYS_UNAVAILABLE, { guard: this.name })
        : refuse(errors.TRIB_JWT_UNKNOWN_KEY, {
            kid: header.kid === undefined ? 'no kid' : `kid ${shown(header.kid)}`,
          });
    }

    const now = Date.now();
    const skew = this.options.clockSkewSeconds;
    let payload: JWTPayload | undefined;
    let failure: Verified | undefined;
    for (const key of found.keys) {
      try {
        ({ payload } = await jwtVerify(token, key, {
          algorithms: [...this.options.algorithms],
          ...(this.options.issuer === undefined ? {} : { issuer: [...this.options.issuer] }),
          ...(this.options.audience === undefined ? {} : { audience: [...this.options.audience] }),
          clockTolerance: skew,
          currentDate: new Date(now),
          requiredClaims: ['exp'],
        }));
        break;
      } catch (error) {
        failure = this.refusal(error);
        // With several candidate keys (no kid), only a signature mismatch means "try the next".
        if ((error as { code?: unknown }).code !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') break;
      }
    }
    if (payload === undefined) return failure ?? refuse(errors.TRIB_JWT_SIGNATURE);

    // jose checked that exp, nbf and iat, when present, are numbers.
    const exp = payload.exp!;
    if (exp * 1000 <= now) return refuse(errors.TRIB_JWT_EXPIRED, { at: isoSeconds(exp) });
    if (payload.iat !== undefined && payload.iat > now / 1000 + skew) {
      return refuse(errors.TRIB_JWT_NOT_YET_VALID, { at: isoSeconds(payload.iat), claim: 'iat' });
    }
    const claims = deepFreeze(payload) as Readonly<Record<string, unknown>>;
    const identity = claimAt(claims, this.options.identity);
    if (typeof identity !== 'string' || identity === '') {
      return refuse(errors.TRIB_JWT_CLAIM, {
        claim: this.options.identity,
        reason: 'must be a non-empty string',
      });
    }
    const expiresAt = exp * 1000;
    return {
      ok: true,
      facts: {
        identity,
        issuer: payload.iss,
        issuedAt: payload.iat === undefined ? undefined : payload.iat * 1000,
        roles: rolesOf(claimAt(claims, this.options.roles)),
        attributes: claims,
        expiresAt,
        challengeAt: this.options.challengeMs > 0 ? expiresAt - this.options.challengeMs : null,
      },
    };
  }

  /** jose's verification errors, by code, as refusals. */
  private refusal(error: unknown): Verified {
    const { code, claim, reason } = error as { code?: unknown; claim?: unknown; reason?: unknown };
    switch (code) {
      case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
        return refuse(errors.TRIB_JWT_SIGNATURE);
      case 'ERR_JWT_EXPIRED':
        return refuse(errors.TRIB_JWT_EXPIRED, { at: 'its exp' });
      case 'ERR_JOSE_ALG_NOT_ALLOWED':
        return refuse(errors.TRIB_JWT_ALGORITHM, { alg: 'this algorithm' });
      case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
        switch (claim) {
          case 'iss':
            return reason === 'missing'
              ? refuse(errors.TRIB_JWT_CLAIM, { claim: 'iss', reason: 'is missing' })
              : refuse(errors.TRIB_JWT_ISSUER);
          case 'aud':
            return reason === 'missing'
              ? refuse(errors.TRIB_JWT_CLAIM, { claim: 'aud', reason: 'is missing' })
              : refuse(errors.TRIB_JWT_AUDIENCE);
          case 'nbf':
            if (reason === 'check_failed') {
              const nbf = (error as { payload?: JWTPayload }).payload?.nbf;
              return refuse(errors.TRIB_JWT_NOT_YET_VALID, {
                at: typeof nbf === 'number' ? isoSeconds(nbf) : 'its nbf',
                claim: 'nbf',
              });
            }
            break;
        }
        return refuse(errors.TRIB_JWT_CLAIM, {
          claim: typeof claim === 'string' ? claim : 'unknown',
          reason: reason === 'missing' ? 'is missing' : 'is not valid',
        });
      case 'ERR_JWS_INVALID':
      case 'ERR_JWT_INVALID':
      case 'ERR_JOSE_NOT_SUPPORTED':
        return refuse(errors.TRIB_JWT_MALFORMED, { reason: (error as Error).message });
      default:
        return refuse(errors.TRIB_JWT_MALFORMED, { reason: 'it cannot be verified' });
    }
  }
}
