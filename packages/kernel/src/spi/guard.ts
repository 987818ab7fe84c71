/**
 * Guards authenticate the credentials a server binding extracts (a bearer token, a cookie…) and
 * authorize streams against the roles a route requires. A guard that can also obtain credentials
 * of its own (a token from an identity provider) may lend them to the gateway's outbound
 * connections through {@link GuardHandler.credentials} (SPI 1.1).
 *
 * Verification may need remote material (a JWKS), so {@link GuardHandler.authorize} is async;
 * everything used on the data path afterwards (`GuardSession`) is synchronous. Failures are
 * values, never exceptions.
 *
 * @module
 */
import type { JsonSchema } from './schema.ts';
import type { GuardConfig, ConfigIssue } from './config.ts';
import type { PluginContext } from './context.ts';

/**
 * Why credentials were refused. `status` is the HTTP-style status a server maps it to: 401 (not
 * valid), 403 (valid, but not enough), or 503 when the guard cannot verify credentials right now
 * (its keys are unavailable) — a server then answers 503 with `Retry-After` rather than telling
 * the client its credentials are bad.
 */
export interface GuardFailure {
  readonly code: string;
  readonly message: string;
  readonly status: 401 | 403 | 503;
}

export type GuardResult =
  | { readonly ok: true; readonly session: GuardSession }
  | { readonly ok: false; readonly failure: GuardFailure };

/**
 * An authenticated session. Immutable except through its guard: continuous authorization
 * ({@link GuardHandler.reauthorize}) extends `expiresAt` / `challengeAt` in place when fresh
 * credentials are presented, so read them when needed rather than keeping copies.
 */
export interface GuardSession {
  /** The guard that created the session. */
  readonly guard: string;
  /** The principal, from the guard's identity claim; null when credentials carry none. */
  readonly identity: string | null;
  /** Other claims, for `${guarded['g'].attributes.x}` templates and filters. */
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly roles: ReadonlySet<string>;
  /** Epoch ms when the session ends; null for sessions that never expire. */
  readonly expiresAt: number | null;
  /** Epoch ms when a challenge should be sent to the client; null for none. */
  readonly challengeAt: number | null;
  /** True when the session holds every role in `roles` and has not expired at `now`. */
  verify(roles: readonly string[], now?: number): boolean;
}

/** Credentials a guard obtained for the gateway's own outbound connections. */
export interface GuardCredentials {
  /** The bearer token, as it is to be presented (e.g. a JWT for SASL OAUTHBEARER). */
  readonly token: string;
  /** Epoch ms when the token stops being valid; null when unknown or never. */
  readonly expiresAt: number | null;
}

/** Why a guard could not provide credentials. */
export interface GuardCredentialsFailure {
  /** A stable code, e.g. `TRIB_GUARD_CREDENTIALS_UNAVAILABLE`. */
  readonly code: string;
  /** For operators; never contains a secret. */
  readonly message: string;
}

export type GuardCredentialsResult =
  | { readonly ok: true; readonly credentials: GuardCredentials }
  | { readonly ok: false; readonly failure: GuardCredentialsFailure };

export interface GuardHandler {
  /** Prepares remote material (keys, endpoints). May hold back readiness. */
  start?(): Promise<void>;
  stop?(): Promise<void>;
  /** Verifies `credentials`; never rejects. */
  authorize(credentials: string): Promise<GuardResult>;
  /**
   * Re-authorizes an existing session with fresh credentials (continuous authorization). On
   * success the guard extends **that session object in place** (its `expiresAt`, `challengeAt`,
   * roles and attributes from the fresh credentials) and returns it, so every stream carrying it
   * sees the new expiry; bindings that enforce expiry therefore re-read those fields when their
   * timers fire instead of copying them. Credentials of another principal fail with status 403
   * and leave the session untouched.
   */
  reauthorize?(session: GuardSession, credentials: string): Promise<GuardResult>;
  /**
   * Credentials for the gateway's own outbound connections (SPI 1.1; optional): a binding
   * configured to authenticate "with guard `g`" (e.g. Kafka SASL OAUTHBEARER) calls it whenever
   * it needs a token — for every new connection and every re-authentication — and presents the
   * token as it is.
   *
   * Guarantees the binding relies on:
   * - never rejects: failures are values (`ok: false`), and the binding reports them;
   * - answers from memory while it holds a token that is not about to expire, so it can be
   *   called often; obtaining, caching and refreshing (and sharing one refresh between
   *   concurrent callers) are the guard's business;
   * - returns a token that is valid now; `expiresAt` lets the caller schedule its next call.
   *
   * Guards that only verify inbound credentials leave it out; bindings refuse at start to use a
   * guard that lacks it.
   */
  credentials?(): Promise<GuardCredentialsResult>;
}

export interface GuardFactory<Options = unknown> {
  /** JSON Schema of `guards.<name>.options`. */
  readonly schema?: JsonSchema;
  validate?(config: GuardConfig<Options>): readonly ConfigIssue[];
  create(ctx: PluginContext, config: GuardConfig<Options>): GuardHandler | Promise<GuardHandler>;
}
