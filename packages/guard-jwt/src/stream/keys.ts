/**
 * The verification keys of one `jwt` guard: the inline JWKS, and the JWKS fetched from
 * `jwksUrl`, cached.
 *
 * How the remote JWKS is kept:
 *
 * - **Max age.** A fetched JWKS is fresh for `maxAgeMs`. A lookup that finds it stale starts a
 *   refresh in the background and is answered from the keys at hand (stale-while-revalidate), so
 *   a slow identity provider never delays a token whose key is known.
 * - **Unknown `kid`.** A token whose key is not in the set triggers one refresh (a signing key
 *   rotated in since the last fetch) and is looked up again after it. Such refreshes are at least
 *   `cooldownMs` apart, counted from the start of the previous fetch of any kind, so a flood of
 *   tokens with made-up `kid`s costs the identity provider one request per cooldown.
 * - **Shared.** Every caller that needs a refresh while one is in flight waits for that one.
 * - **Stale on error.** A failed fetch keeps the last good keys. Retries follow on a timer, with
 *   exponential backoff from `retryDelayMs` to `retryDelayMaxMs`; until the next retry is due no
 *   lookup starts a fetch. The first failure emits `jwt.jwks.failed`, the first success after it
 *   `jwt.jwks.recovered`; nothing in between.
 *
 * Key matching (by `kid`, `alg`, `kty`, `crv`, `use` and `key_ops`) and key import are jose's
 * (`createLocalJWKSet`); only public RSA, EC and OKP keys are ever put in the set.
 *
 * @module
 */
import { createLocalJWKSet, type JWSHeaderParameters } from 'jose';
import type { EventSink } from '@tributary/kernel';
import type { JwtPublicKey } from '../config/schema.ts';
import { jwksFailed, jwksRecovered } from '../events.ts';

/** A JWKS larger than this is refused (as INVALID_JWKS): a verification key set is small. */
const MAX_JWKS_BYTES = 1_048_576;

const KEY_TYPES: ReadonlySet<string> = new Set(['RSA', 'EC', 'OKP']);
const SECRET_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

export interface KeySourceOptions {
  readonly guard: string;
  readonly inline: readonly JwtPublicKey[];
  readonly url: string | undefined;
  readonly maxAgeMs: number;
  readonly cooldownMs: number;
  readonly timeoutMs: number;
  readonly retryDelayMs: number;
  readonly retryDelayMaxMs: number;
  readonly events: EventSink;
}

type LocalSet = ReturnType<typeof createLocalJWKSet>;

/** A key as jose imports it (a WebCrypto `CryptoKey`). */
type VerificationKey = Awaited<ReturnType<LocalSet>>;

/** What a lookup found: the candidate keys, or why there are none. */
export type KeyLookup =
  | { readonly ok: true; readonly keys: readonly VerificationKey[] }
  | { readonly ok: false; readonly reason: 'no-keys' | 'no-match' };

/** Only public keys of the asymmetric types; anything else in a JWKS is ignored. */
function isPublicAsymmetricKey(jwk: unknown): jwk is JwtPublicKey {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return false;
  const key = jwk as Record<string, unknown>;
  return (
    typeof key['kty'] === 'string' &&
    KEY_TYPES.has(key['kty']) &&
    SECRET_MEMBERS.every((member) => !(member in key))
  );
}

class FetchFailure extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** A fetch failure as `{ code, reason }`, with system error codes and timeouts told apart. */
function describeFailure(error: unknown): { code: string; reason: string } {
  if (error instanceof FetchFailure) return { code: error.code, reason: error.message };
  if (error instanceof Error) {
    if (error.name === 'TimeoutError') return { code: 'TIMEOUT', reason: error.message };
    const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
    const code = typeof cause?.code === 'string' ? cause.code : 'FETCH_FAILED';
    const reason = typeof cause?.message === 'string' ? cause.message : error.message;
    return { code, reason };
  }
  return { code: 'FETCH_FAILED', reason: String(error) };
}

export class KeySource {
  private readonly options: KeySourceOptions;
  /** The URL as events show it: no query or fragment. */
  private readonly shownUrl: string;
  private set: LocalSet | undefined;
  private size = 0;
  /** When the last successful fetch started; undefined before the first. */
  private fetchedAt: number | undefined;
  /** When the last fetch of any outcome started. */
  private attemptedAt: number | undefined;
  private inflight: Promise<void> | undefined;
  /** Consecutive failed fetches. */
  private failures = 0;
  private failingSince = 0;
  /** No fetch starts from a lookup before this instant (backoff after failures). */
  private notBefore = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: KeySourceOptions) {
    this.options = options;
    if (options.url === undefined) this.shownUrl = '';
    else {
      const url = new URL(options.url);
      this.shownUrl = url.origin + url.pathname;
    }
    this.set = this.build([]);
    this.size = options.inline.length;
  }

  /** Number of keys in the set (inline and fetched). */
  get keyCount(): number {
    return this.size;
  }

  /** Fetches the remote JWKS once; resolves (never rejects) when the attempt is over. */
  start(): Promise<void> {
    return this.options.url === undefined ? Promise.resolve() : this.refresh();
  }

  stop(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  /**
   * The keys that may have signed a token with this protected header. Refreshes the remote
   * JWKS when it is stale (in the background) or lacks a matching key (waiting for it), within
   * the limits described above.
   */
  async lookup(header: JWSHeaderParameters): Promise<KeyLookup> {
    if (this.options.url !== undefined && !this.closed) {
      const now = Date.now();
      const due = now >= this.notBefore;
      if (this.fetchedAt === undefined) {
        // Nothing fetched yet: wait for a fetch when one is running or may start.
        if (this.inflight) await this.inflight;
        else if (due) await this.refresh();
      } else if (due && now - this.fetchedAt >= this.options.maxAgeMs) {
        void this.refresh();
      }
    }
    const found = await this.match(header);
    if (found.ok || this.options.url === undefined || this.closed) return found;
    // An unknown kid: wait for the fetch in flight, or start one if the cooldown and the
    // backoff allow, then look again.
    if (this.inflight) await this.inflight;
    else if (this.mayRefreshForUnknownKey(Date.now())) await this.refresh();
    else return found;
    return this.match(header);
  }

  /** One shared fetch of the remote JWKS; never rejects. */
  refresh(): Promise<void> {
    if (this.options.url === undefined || this.closed) return Promise.resolve();
    this.inflight ??= this.fetchOnce().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private mayRefreshForUnknownKey(now: number): boolean {
    return (
      now >= this.notBefore &&
      (this.attemptedAt === undefined || now - this.attemptedAt >= this.options.cooldownMs)
    );
  }

  private async match(header: JWSHeaderParameters): Promise<KeyLookup> {
    if (!this.set) return { ok: false, reason: this.options.url === undefined ? 'no-match' : 'no-keys' };
    try {
      return { ok: true, keys: [await this.set(header)] };
    } catch (error) {
      // Several keys match (no kid, or a reused one): every one that imports is a candidate.
      if ((error as { code?: unknown }).code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') {
        const keys: VerificationKey[] = [];
        for await (const key of error as AsyncIterable<VerificationKey>) keys.push(key);
        if (keys.length > 0) return { ok: true, keys };
      }
      // No match, or a matching key that cannot be used for this alg: no key, either way.
      return { ok: false, reason: 'no-match' };
    }
  }

  private async fetchOnce(): Promise<void> {
    const url = this.options.url!;
    const started = Date.now();
    this.attemptedAt = started;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    let keys: JwtPublicKey[];
    let set: LocalSet | undefined;
    try {
      keys = await this.download(url);
      set = this.build(keys);
    } catch (error) {
      this.failed(describeFailure(error), started);
      return;
    }
    if (this.closed) return;
    this.fetchedAt = started;
    this.set = set;
    this.size = this.options.inline.length + keys.length;
    if (this.failures > 0) {
      this.options.events.emit(
        jwksRecovered({
          guard: this.options.guard,
          url: this.shownUrl,
          keys: this.size,
          attempts: this.failures,
          after: Date.now() - this.failingSince,
        }),
      );
    }
    this.failures = 0;
    this.notBefore = 0;
  }

  private async download(url: string): Promise<JwtPublicKey[]> {
    const response = await fetch(url, {
      headers: { accept: 'application/jwk-set+json, application/json' },
      // A redirect could take the fetch somewhere the configuration never named.
      redirect: 'error',
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    if (!response.ok) {
      await response.body?.cancel();
      throw new FetchFailure(
        `HTTP_${String(response.status)}`,
        `the JWKS endpoint answered ${String(response.status)}`,
      );
    }
    const length = Number(response.headers.get('content-length') ?? 0);
    if (length > MAX_JWKS_BYTES) {
      await response.body?.cancel();
      throw new FetchFailure('INVALID_JWKS', `the JWKS is larger than ${String(MAX_JWKS_BYTES)} bytes`);
    }
    const text = await response.text();
    if (text.length > MAX_JWKS_BYTES) {
      throw new FetchFailure('INVALID_JWKS', `the JWKS is larger than ${String(MAX_JWKS_BYTES)} bytes`);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new FetchFailure('INVALID_JWKS', 'the JWKS endpoint did not answer JSON');
    }
    const listed = (body as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(listed)) {
      throw new FetchFailure('INVALID_JWKS', 'the JWKS endpoint answered JSON without a "keys" array');
    }
    return listed.filter(isPublicAsymmetricKey);
  }

  private failed(failure: { code: string; reason: string }, started: number): void {
    if (this.closed) return;
    this.failures += 1;
    if (this.failures === 1) this.failingSince = started;
    const delay = Math.min(
      this.options.retryDelayMs * 2 ** Math.min(this.failures - 1, 30),
      this.options.retryDelayMaxMs,
    );
    this.notBefore = Date.now() + delay;
    if (this.failures === 1) {
      this.options.events.emit(
        jwksFailed({
          guard: this.options.guard,
          url: this.shownUrl,
          code: failure.code,
          reason: failure.reason,
          keys: this.size,
          servingLastGood: this.size > 0,
          retryInMs: delay,
        }),
      );
    }
    // Retry on a timer as well, so keys come back (and recovery is reported) without traffic.
    this.retryTimer = setTimeout(() => void this.refresh(), delay);
    this.retryTimer.unref();
  }

  /** The set of the inline keys and `fetched`; throws (jose's JWKSInvalid) on a malformed key. */
  private build(fetched: readonly JwtPublicKey[]): LocalSet | undefined {
    const keys = [...this.options.inline, ...fetched];
    if (keys.length === 0) return undefined;
    try {
      return createLocalJWKSet({ keys });
    } catch (error) {
      throw new FetchFailure('INVALID_JWKS', (error as Error).message);
    }
  }
}
