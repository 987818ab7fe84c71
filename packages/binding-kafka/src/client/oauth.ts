/**
 * OAUTHBEARER tokens that are not static (`sasl.oauth`, `sasl.guard`).
 *
 * The client library asks for a token through a function on every new connection and on every
 * SASL re-authentication (KIP-368: it re-authenticates at 80 % of the session lifetime the broker
 * announces in SaslAuthenticate v1+ `session_lifetime_ms`, which a broker with
 * `connections.max.reauth.ms` caps at the token's expiry). A {@link TokenSource} is that function:
 *
 * - {@link RefreshingToken} runs the OAuth 2.0 client credentials grant (RFC 6749 §4.4): it caches
 *   the token, fetches the next one ahead of `expires_in`, shares one request between concurrent
 *   callers, and after a failure retries with exponential backoff while it keeps handing out the
 *   last good token until that expires;
 * - {@link GuardTokenSource} asks a guard (`GuardHandler.credentials`) each time; caching is the
 *   guard's business.
 *
 * Both report one `kafka.oauth.token.failed` event when obtaining a token starts failing and one
 * `kafka.oauth.token.recovered` when it works again. The client secret and the tokens never
 * reach events, logs or error messages.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isAbsolute, resolve } from 'node:path';
import type { BindingContext, ConfigIssue, EventSink, GuardHandler } from '@tributary/kernel';
import { errors } from '../errors.ts';
import { KAFKA_EVENTS } from '../events.ts';
import {
  backoff,
  type KafkaClientOptions,
  type KafkaOAuthOptions,
  type KafkaTlsSource,
  type ResolvedClientOptions,
} from '../config/options.ts';
import { optionsIssue } from '../config/validate.ts';

/** A bearer token and when it stops being valid (epoch ms; null when unknown). */
export interface BearerToken {
  readonly token: string;
  readonly expiresAt: number | null;
}

/** What the client library calls for each connection and re-authentication. */
export interface TokenSource {
  /**
   * A token valid now. Rejects with `TRIB_KAFKA_OAUTH_TOKEN` when none can be had (the library
   * then fails the connection attempt as an authentication failure).
   */
  token(): Promise<string>;
  /** Stops timers; later calls reject. */
  close(): void;
}

/** Why obtaining a token failed: `code` is an OAuth error (`invalid_client`), `HTTP_503`, `ECONNREFUSED`… */
export class TokenFetchError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'TokenFetchError';
    this.code = code;
  }
}

/** Time, injectable so that the refresh logic can be tested with a fake clock. */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Longest timer Node accepts (2³¹−1 ms). */
const MAX_TIMER = 2_147_483_647;
const DEFAULT_REFRESH_BEFORE_MS = 60_000;
const DEFAULT_REFRESH_FRACTION = 0.2;

// --- events ---

/** What the events say about the source, besides code and reason. Never secrets. */
export type TokenSourceDetail = Readonly<Record<string, string | number | boolean | null>>;

/**
 * Emits `kafka.oauth.token.failed` once when obtaining tokens starts failing and
 * `kafka.oauth.token.recovered` once when it works again.
 */
export class TokenEvents {
  private failing = false;
  private readonly sink: EventSink;
  private readonly detail: TokenSourceDetail;
  private readonly what: string;

  constructor(sink: EventSink, what: string, detail: TokenSourceDetail) {
    this.sink = sink;
    this.what = what;
    this.detail = detail;
  }

  failed(
    error: TokenFetchError,
    extra: { servingLastGood: boolean; lastGoodExpiresAt: number | null },
  ): void {
    if (this.failing) return;
    this.failing = true;
    this.sink.emit({
      name: KAFKA_EVENTS.oauthTokenFailed,
      level: extra.servingLastGood ? 'warn' : 'error',
      message: extra.servingLastGood
        ? `cannot obtain a new OAUTHBEARER token from ${this.what}; using the last one until it expires, retrying`
        : `cannot obtain an OAUTHBEARER token from ${this.what}; Kafka connections fail until it works, retrying`,
      detail: {
        ...this.detail,
        code: error.code,
        reason: error.message,
        servingLastGood: extra.servingLastGood,
        lastGoodExpiresAt:
          extra.lastGoodExpiresAt === null ? null : new Date(extra.lastGoodExpiresAt).toISOString(),
      },
    });
  }

  succeeded(): void {
    if (!this.failing) return;
    this.failing = false;
    this.sink.emit({
      name: KAFKA_EVENTS.oauthTokenRecovered,
      level: 'info',
      message: `obtained an OAUTHBEARER token from ${this.what} again`,
      detail: { ...this.detail },
    });
  }
}

// --- the refreshing provider ---

export interface RefreshingTokenOptions {
  /** Obtains a new token; rejects with a {@link TokenFetchError}. */
  readonly fetch: () => Promise<BearerToken>;
  /** `refreshBeforeExpirySeconds` in ms, when configured. */
  readonly refreshBeforeMs?: number;
  /** Wait before retry number `attempt` (1-based) after a failure. */
  readonly backoff: (attempt: number) => number;
  readonly events: TokenEvents;
  /** Names the source in the errors the library sees (`client credentials at https://…`). */
  readonly label: string;
  readonly clock?: Clock;
}

interface Cached extends BearerToken {
  /** When to fetch the next token (epoch ms; Infinity for tokens that do not expire). */
  readonly refreshAt: number;
}

/**
 * A token fetched on first use, cached, and refreshed ahead of its expiry.
 *
 * - Refresh time: `expiresAt − before`, where `before` is `refreshBeforeMs` or 20 % of the
 *   lifetime capped at 60 s, and never more than half the lifetime (so a short-lived token is
 *   not refreshed continuously).
 * - One request at a time: concurrent callers during a refresh share it.
 * - A caller inside the refresh window (a connection or re-authentication just before expiry)
 *   waits for the refresh rather than taking a token about to expire; if the refresh fails it
 *   still gets the last good token while that is valid.
 * - After a failure the next attempt waits `backoff(n)`; callers meanwhile get the last good
 *   token, or, once it has expired, an immediate rejection (the library retries connections
 *   with its own backoff), never a request per caller.
 */
export class RefreshingToken implements TokenSource {
  private readonly options: RefreshingTokenOptions;
  private readonly clock: Clock;
  private current: Cached | undefined;
  private inflight: Promise<BearerToken> | undefined;
  private failures = 0;
  private retryAt = 0;
  private lastError: TokenFetchError | undefined;
  private timer: unknown;
  private closed = false;

  constructor(options: RefreshingTokenOptions) {
    this.options = options;
    this.clock = options.clock ?? SYSTEM_CLOCK;
  }

  async token(): Promise<string> {
    if (this.closed) throw this.wrap(new TokenFetchError('CLOSED', 'the Kafka client is closed'));
    const now = this.clock.now();
    const cached = this.valid(now);
    if (cached !== undefined && now < cached.refreshAt) return cached.token;
    if (this.inflight !== undefined || now >= this.retryAt) {
      try {
        return (await this.refresh()).token;
      } catch (error) {
        const fallback = this.valid(this.clock.now());
        if (fallback !== undefined) return fallback.token;
        throw this.wrap(error);
      }
    }
    if (cached !== undefined) return cached.token;
    throw this.wrap(this.lastError ?? new TokenFetchError('UNAVAILABLE', 'no token yet'));
  }

  close(): void {
    this.closed = true;
    this.cancelTimer();
  }

  /** Counters for tests and diagnostics. */
  get state(): { failures: number; expiresAt: number | null | undefined; refreshAt: number | undefined } {
    return {
      failures: this.failures,
      expiresAt: this.current?.expiresAt,
      refreshAt: this.current?.refreshAt,
    };
  }

  private valid(now: number): Cached | undefined {
    const cached = this.current;
    if (cached === undefined) return undefined;
    return cached.expiresAt === null || now < cached.expiresAt ? cached : undefined;
  }

  private refresh(): Promise<BearerToken> {
    this.inflight ??= this.fetchOnce().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetchOnce(): Promise<BearerToken> {
    this.cancelTimer();
    const started = this.clock.now();
    let fetched: BearerToken;
    try {
      fetched = await this.options.fetch();
    } catch (cause) {
      const error =
        cause instanceof TokenFetchError ? cause : new TokenFetchError('INTERNAL', (cause as Error).message);
      if (this.closed) throw error;
      this.failures++;
      this.lastError = error;
      const now = this.clock.now();
      this.retryAt = now + this.options.backoff(this.failures);
      const lastGood = this.valid(now);
      this.options.events.failed(error, {
        servingLastGood: lastGood !== undefined,
        lastGoodExpiresAt: lastGood?.expiresAt ?? null,
      });
      this.schedule(this.retryAt);
      throw error;
    }
    if (this.closed) return fetched;
    this.current = { ...fetched, refreshAt: this.refreshAtOf(fetched, started) };
    this.failures = 0;
    this.retryAt = 0;
    this.lastError = undefined;
    this.options.events.succeeded();
    this.schedule(this.current.refreshAt);
    return fetched;
  }

  private refreshAtOf(token: BearerToken, fetchedAt: number): number {
    if (token.expiresAt === null) return Number.POSITIVE_INFINITY;
    const lifetime = Math.max(0, token.expiresAt - fetchedAt);
    const before =
      this.options.refreshBeforeMs ??
      Math.min(DEFAULT_REFRESH_BEFORE_MS, lifetime * DEFAULT_REFRESH_FRACTION);
    return token.expiresAt - Math.min(before, lifetime / 2);
  }

  private schedule(at: number): void {
    this.cancelTimer();
    if (this.closed || !Number.isFinite(at)) return;
    const delay = Math.min(MAX_TIMER, Math.max(0, at - this.clock.now()));
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      // Failures are reported through events and retried by fetchOnce itself.
      this.refresh().catch(() => undefined);
    }, delay);
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private wrap(error: unknown): Error {
    const reason = error instanceof Error ? error.message : String(error);
    return errors.TRIB_KAFKA_OAUTH_TOKEN({ source: this.options.label, reason }, { cause: error });
  }
}

// --- the client credentials grant ---

export interface ClientCredentialsRequest {
  readonly options: KafkaOAuthOptions;
  /** PEM trust anchors for an https endpoint; the system's when undefined. */
  readonly ca: string | undefined;
  readonly timeoutMs: number;
  readonly clock?: Clock;
}

/** `application/x-www-form-urlencoded` encoding of one value (RFC 6749 Appendix B). */
function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}

/** The endpoint without query or credentials, for events and messages. */
function endpointLabel(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    return `${url.origin}${url.pathname}`;
  } catch {
    return 'the token endpoint';
  }
}

/** The `exp` claim of a JWT in epoch ms, or null. */
function jwtExpiry(token: string): number | null {
  const payload = token.split('.')[1];
  if (payload === undefined) return null;
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : null;
  } catch {
    return null;
  }
}

/**
 * One token request (RFC 6749 §4.4.2): `grant_type=client_credentials` with `scope` and
 * `audience` when configured, the client authenticated with HTTP Basic (§2.3.1, both parts
 * form-encoded) or in the body. Resolves with the access token and its expiry (`expires_in`
 * counted from when the request was sent, else the JWT's `exp`); rejects with a
 * {@link TokenFetchError} (`invalid_client`, `HTTP_503`, `ECONNREFUSED`, …).
 */
export function requestClientCredentialsToken(req: ClientCredentialsRequest): Promise<BearerToken> {
  const { options } = req;
  const clock = req.clock ?? SYSTEM_CLOCK;
  const url = new URL(options.tokenEndpoint);
  const form: [string, string][] = [['grant_type', 'client_credentials']];
  if (options.scope !== undefined) form.push(['scope', options.scope]);
  if (options.audience !== undefined) form.push(['audience', options.audience]);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  if ((options.clientAuth ?? 'basic') === 'basic') {
    const pair = `${formEncode(options.clientId)}:${formEncode(options.clientSecret)}`;
    headers['authorization'] = `Basic ${Buffer.from(pair).toString('base64')}`;
  } else {
    form.push(['client_id', options.clientId], ['client_secret', options.clientSecret]);
  }
  const body = form.map(([k, v]) => `${k}=${formEncode(v)}`).join('&');
  headers['content-length'] = String(Buffer.byteLength(body));
  const sentAt = clock.now();
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<BearerToken>((resolveToken, reject) => {
    const fail = (code: string, message: string) => reject(new TokenFetchError(code, message));
    const req_ = request(
      url,
      {
        method: 'POST',
        headers,
        timeout: req.timeoutMs,
        ...(url.protocol === 'https:' && req.ca !== undefined ? { ca: req.ca } : {}),
      },
      (res) => {
        readJson(res).then(
          (json) => {
            const status = res.statusCode ?? 0;
            if (status !== 200) {
              const oauthError = typeof json?.['error'] === 'string' ? json['error'] : undefined;
              const description =
                typeof json?.['error_description'] === 'string' ? `: ${json['error_description']}` : '';
              fail(
                oauthError ?? `HTTP_${status}`,
                `the token endpoint answered ${status}${oauthError === undefined ? '' : ` ${oauthError}`}${description}`,
              );
              return;
            }
            const token = json?.['access_token'];
            if (typeof token !== 'string' || token === '') {
              fail('INVALID_RESPONSE', 'the token response has no access_token');
              return;
            }
            const type = json?.['token_type'];
            if (type !== undefined && (typeof type !== 'string' || type.toLowerCase() !== 'bearer')) {
              fail(
                'INVALID_RESPONSE',
                `the token endpoint issued a ${JSON.stringify(type)} token, not a Bearer token`,
              );
              return;
            }
            const expiresIn = Number(json?.['expires_in']);
            const expiresAt =
              json?.['expires_in'] !== undefined && Number.isFinite(expiresIn) && expiresIn > 0
                ? sentAt + expiresIn * 1000
                : jwtExpiry(token);
            resolveToken({ token, expiresAt });
          },
          (error: Error) => fail('INVALID_RESPONSE', `unreadable token response (${error.message})`),
        );
      },
    );
    req_.on('timeout', () =>
      req_.destroy(new TokenFetchError('TIMEOUT', `no answer within ${req.timeoutMs} ms`)),
    );
    req_.on('error', (error: NodeJS.ErrnoException) => {
      if (error instanceof TokenFetchError) reject(error);
      else fail(error.code ?? 'NETWORK', `cannot reach the token endpoint (${error.code ?? error.message})`);
    });
    req_.end(body);
  });
}

function readJson(res: IncomingMessage, limit = 1_048_576): Promise<Record<string, unknown> | undefined> {
  return new Promise((resolveJson, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) res.destroy(new Error('response too large'));
      else chunks.push(chunk);
    });
    res.on('error', reject);
    res.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolveJson(undefined);
      try {
        const parsed: unknown = JSON.parse(text);
        resolveJson(
          typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined,
        );
      } catch {
        // Error bodies need not be JSON; a 200 without JSON is reported by the caller.
        resolveJson(undefined);
      }
    });
  });
}

// --- a guard's credentials ---

/**
 * Asks a guard for a token on every call (the guard caches). Looked up by name each time, so a
 * guard recreated by a configuration reload is used at once.
 */
export class GuardTokenSource implements TokenSource {
  private readonly lookup: () => GuardHandler | undefined;
  private readonly name: string;
  private readonly events: TokenEvents;
  private readonly clock: Clock;
  private closed = false;

  constructor(
    name: string,
    lookup: () => GuardHandler | undefined,
    events: TokenEvents,
    clock = SYSTEM_CLOCK,
  ) {
    this.name = name;
    this.lookup = lookup;
    this.events = events;
    this.clock = clock;
  }

  async token(): Promise<string> {
    if (this.closed) throw this.wrap(new TokenFetchError('CLOSED', 'the Kafka client is closed'));
    const guard = this.lookup();
    if (guard?.credentials === undefined) {
      return this.fail(
        new TokenFetchError(
          'GUARD_UNAVAILABLE',
          guard === undefined
            ? `guard "${this.name}" is not running`
            : `guard "${this.name}" lends no credentials`,
        ),
      );
    }
    let result: Awaited<ReturnType<NonNullable<GuardHandler['credentials']>>>;
    try {
      result = await guard.credentials();
    } catch (error) {
      // The SPI says credentials() never rejects; a guard that does is reported like a failure.
      return this.fail(new TokenFetchError('GUARD_FAILED', (error as Error).message ?? String(error)));
    }
    if (!result.ok) return this.fail(new TokenFetchError(result.failure.code, result.failure.message));
    const { token, expiresAt } = result.credentials;
    if (expiresAt !== null && expiresAt <= this.clock.now()) {
      return this.fail(new TokenFetchError('TOKEN_EXPIRED', `guard "${this.name}" lent an expired token`));
    }
    this.events.succeeded();
    return token;
  }

  close(): void {
    this.closed = true;
  }

  private fail(error: TokenFetchError): never {
    this.events.failed(error, { servingLastGood: false, lastGoodExpiresAt: null });
    throw this.wrap(error);
  }

  private wrap(error: TokenFetchError): Error {
    return errors.TRIB_KAFKA_OAUTH_TOKEN(
      { source: `guard "${this.name}"`, reason: error.message },
      { cause: error },
    );
  }
}

// --- wiring ---

function readCa(source: KafkaTlsSource, ctx: BindingContext<KafkaClientOptions>): string | ConfigIssue {
  const path = ['sasl', 'oauth', 'tls', 'ca'];
  if ('file' in source) {
    const file = isAbsolute(source.file) ? source.file : resolve(ctx.configDir, source.file);
    try {
      const text = readFileSync(file, 'utf8');
      if (!text.includes('-----BEGIN '))
        return optionsIssue(ctx.name, [...path, 'file'], `${file} holds no PEM block`);
      return text;
    } catch (cause) {
      const why = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
      return optionsIssue(ctx.name, [...path, 'file'], `cannot read the CA file ${file} (${why})`);
    }
  }
  const found = ctx.vault()?.trust(source.vault);
  return (
    found ?? optionsIssue(ctx.name, [...path, 'vault'], `the vault holds no trust anchor "${source.vault}"`)
  );
}

/**
 * The token source for `sasl.oauth` or `sasl.guard`; undefined for other SASL setups (a static
 * `token` is passed to the library as it is). Throws `TRIB_KAFKA_OPTIONS` with an issue when the
 * token endpoint's CA cannot be read or the guard lends no credentials.
 */
export function createTokenSource(
  ctx: BindingContext<KafkaClientOptions>,
  options: ResolvedClientOptions,
  clock: Clock = SYSTEM_CLOCK,
): TokenSource | undefined {
  const sasl = options.sasl;
  if (sasl?.mechanism !== 'oauthbearer') return undefined;
  const servers = options.servers.join(',');
  if (sasl.oauth !== undefined) {
    const oauth = sasl.oauth;
    let ca: string | undefined;
    if (oauth.tls?.ca !== undefined) {
      const read = readCa(oauth.tls.ca, ctx);
      if (typeof read !== 'string')
        throw errors.TRIB_KAFKA_OPTIONS({ reason: read.message }, { issues: [read] });
      ca = read;
    }
    const endpoint = endpointLabel(oauth.tokenEndpoint);
    return new RefreshingToken({
      fetch: () =>
        requestClientCredentialsToken({ options: oauth, ca, timeoutMs: options.requestTimeoutMs, clock }),
      ...(oauth.refreshBeforeExpirySeconds === undefined
        ? {}
        : { refreshBeforeMs: oauth.refreshBeforeExpirySeconds * 1000 }),
      backoff: (attempt) => backoff(options, attempt),
      events: new TokenEvents(ctx.events, endpoint, {
        provider: 'client-credentials',
        endpoint,
        clientId: oauth.clientId,
        servers,
      }),
      label: `client credentials at ${endpoint}`,
      clock,
    });
  }
  if (sasl.guard !== undefined) {
    const name = sasl.guard;
    const guard = ctx.guard(name);
    if (guard !== undefined && guard.credentials === undefined) {
      const issue = optionsIssue(
        ctx.name,
        ['sasl', 'guard'],
        `guard "${name}" cannot lend credentials (its type does not implement credentials())`,
      );
      throw errors.TRIB_KAFKA_OPTIONS({ reason: issue.message }, { issues: [issue] });
    }
    return new GuardTokenSource(
      name,
      () => ctx.guard(name),
      new TokenEvents(ctx.events, `guard "${name}"`, { provider: 'guard', guard: name, servers }),
      clock,
    );
  }
  return undefined;
}
