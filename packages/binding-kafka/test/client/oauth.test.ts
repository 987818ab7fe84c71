// The OAUTHBEARER token sources without Kafka: the refresh, sharing and backoff logic of
// RefreshingToken on a fake clock, the client credentials request against the test OAuth server
// in-process, and the guard source.
import { afterEach, describe, expect, it } from 'vitest';
import type { DiagnosticEvent, GuardHandler } from '@tributary/kernel';
import { isTributaryError } from '@tributary/kernel';
import {
  GuardTokenSource,
  RefreshingToken,
  TokenEvents,
  TokenFetchError,
  requestClientCredentialsToken,
  type BearerToken,
  type Clock,
} from '../../src/client/oauth.ts';
import { startOAuthServer, type OAuthServerHandle } from '../../../../tools/oauth/index.ts';

/** A clock whose time moves only when the test says so; due timers run in time order. */
class FakeClock implements Clock {
  time = 1_000_000;
  private timers: { at: number; callback: () => void; id: number }[] = [];
  private nextId = 1;
  now = () => this.time;
  setTimeout = (callback: () => void, ms: number) => {
    const id = this.nextId++;
    this.timers.push({ at: this.time + ms, callback, id });
    return id;
  };
  clearTimeout = (handle: unknown) => {
    this.timers = this.timers.filter((t) => t.id !== handle);
  };
  dropTimers(): void {
    this.timers = [];
  }
  get pending(): number[] {
    return this.timers.map((t) => t.at - this.time).sort((a, b) => a - b);
  }
  /** Moves time forward by `ms`, running each timer at its time, and lets promises settle. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.time = due.at;
      due.callback();
      await settle();
    }
    this.time = end;
    await settle();
  }
}

const settle = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

/** A token fetcher the test answers by hand. */
class ScriptedFetch {
  calls: { resolve: (token: BearerToken) => void; reject: (error: Error) => void }[] = [];
  fetch = () =>
    new Promise<BearerToken>((resolve, reject) => {
      this.calls.push({ resolve, reject });
    });
  last() {
    return this.calls.at(-1)!;
  }
}

function setup(refreshBeforeMs?: number) {
  const clock = new FakeClock();
  const scripted = new ScriptedFetch();
  const events: DiagnosticEvent[] = [];
  const source = new RefreshingToken({
    fetch: scripted.fetch,
    ...(refreshBeforeMs === undefined ? {} : { refreshBeforeMs }),
    backoff: (attempt) => 1_000 * 2 ** (attempt - 1),
    events: new TokenEvents({ emit: (e) => events.push(e) }, 'the IdP', { provider: 'test' }),
    label: 'the IdP',
    clock,
  });
  const token = (name: string, lifetimeMs: number): BearerToken => ({
    token: name,
    expiresAt: clock.time + lifetimeMs,
  });
  return { clock, scripted, events, source, token, names: () => events.map((e) => e.name) };
}

describe('RefreshingToken', () => {
  it('fetches once for concurrent callers, then serves the cached token', async () => {
    const { scripted, source, token } = setup();
    const a = source.token();
    const b = source.token();
    await settle();
    expect(scripted.calls).toHaveLength(1);
    scripted.last().resolve(token('t1', 100_000));
    expect(await Promise.all([a, b])).toEqual(['t1', 't1']);
    expect(await source.token()).toBe('t1');
    expect(scripted.calls).toHaveLength(1);
    source.close();
  });

  it('refreshes ahead of expiry: 20 % of the lifetime, at most 60 s, at most half with refreshBefore', async () => {
    const short = setup();
    const first = short.source.token();
    await settle();
    short.scripted.last().resolve(short.token('t1', 15_000));
    await first;
    expect(short.clock.pending).toEqual([12_000]); // 20 % of 15 s before expiry
    await short.clock.advance(12_000);
    expect(short.scripted.calls).toHaveLength(2);
    short.scripted.last().resolve(short.token('t2', 15_000));
    await settle();
    expect(await short.source.token()).toBe('t2');
    short.source.close();

    const long = setup();
    const l = long.source.token();
    await settle();
    long.scripted.last().resolve(long.token('t1', 3_600_000));
    await l;
    expect(long.clock.pending).toEqual([3_540_000]); // capped at 60 s before
    long.source.close();

    const configured = setup(50_000);
    const c = configured.source.token();
    await settle();
    configured.scripted.last().resolve(configured.token('t1', 20_000));
    await c;
    expect(configured.clock.pending).toEqual([10_000]); // never more than half the lifetime
    configured.source.close();
  });

  it('makes a caller inside the refresh window wait for the fresh token (a reconnect near expiry)', async () => {
    const { clock, scripted, source, token } = setup();
    const first = source.token();
    await settle();
    scripted.last().resolve(token('t1', 10_000));
    await first;
    clock.dropTimers(); // as if the proactive refresh had not run yet: only the caller triggers it
    await clock.advance(9_000); // inside the last 2 s
    const late = source.token();
    await settle();
    expect(scripted.calls).toHaveLength(2);
    scripted.last().resolve(token('t2', 10_000));
    expect(await late).toBe('t2');
    source.close();
  });

  it('serves the last good token while refreshes fail, backs off, and reports one failure and one recovery', async () => {
    const { clock, scripted, source, token, events, names } = setup();
    const first = source.token();
    await settle();
    scripted.last().resolve(token('t1', 15_000));
    await first;
    await clock.advance(12_000); // proactive refresh
    expect(scripted.calls).toHaveLength(2);
    scripted.last().reject(new TokenFetchError('HTTP_503', 'the token endpoint answered 503'));
    await settle();
    expect(names()).toEqual(['kafka.oauth.token.failed']);
    expect(events[0]).toMatchObject({
      level: 'warn',
      detail: { code: 'HTTP_503', servingLastGood: true, provider: 'test' },
    });
    // Backoff: the next attempt 1 s later; callers meanwhile get t1 without a request.
    expect(clock.pending).toEqual([1_000]);
    expect(await source.token()).toBe('t1');
    expect(scripted.calls).toHaveLength(2);
    await clock.advance(1_000);
    expect(scripted.calls).toHaveLength(3);
    scripted.last().reject(new TokenFetchError('HTTP_503', 'again'));
    await settle();
    expect(clock.pending).toEqual([2_000]); // doubled
    expect(names()).toEqual(['kafka.oauth.token.failed']); // still one event
    await clock.advance(2_000);
    scripted.last().resolve(token('t2', 15_000));
    await settle();
    expect(names()).toEqual(['kafka.oauth.token.failed', 'kafka.oauth.token.recovered']);
    expect(await source.token()).toBe('t2');
    source.close();
  });

  it('rejects with TRIB_KAFKA_OAUTH_TOKEN once the last good token expired, without a request per caller', async () => {
    const { clock, scripted, source, token, events } = setup();
    const first = source.token();
    await settle();
    scripted.last().resolve(token('t1', 5_000));
    await first;
    await clock.advance(4_000); // refresh at 4 s (20 % of 5 s before expiry)
    scripted
      .last()
      .reject(new TokenFetchError('invalid_client', 'the token endpoint answered 401 invalid_client'));
    await settle();
    await clock.advance(500); // t1 still valid for 0.5 s
    expect(await source.token()).toBe('t1');
    await clock.advance(500); // t1 expires as the retry (1 s backoff) runs, and fails again
    scripted
      .last()
      .reject(new TokenFetchError('invalid_client', 'the token endpoint answered 401 invalid_client'));
    await settle();
    expect(clock.pending).toEqual([2_000]);
    await clock.advance(500);
    const calls = scripted.calls.length;
    const refused = await source.token().catch((e: unknown) => e);
    expect(isTributaryError(refused) && refused.code).toBe('TRIB_KAFKA_OAUTH_TOKEN');
    expect((refused as Error).message).toContain('invalid_client');
    expect((refused as Error).message).not.toContain('t1');
    expect(scripted.calls).toHaveLength(calls);
    expect(events).toHaveLength(1);
    source.close();
  });

  it('starts over with a caller when the first fetch fails, and reports it as an error', async () => {
    const { scripted, source, events } = setup();
    const first = source.token().catch((e: unknown) => e);
    await settle();
    scripted.last().reject(new TokenFetchError('ECONNREFUSED', 'cannot reach the token endpoint'));
    expect(isTributaryError(await first)).toBe(true);
    expect(events[0]).toMatchObject({ level: 'error', detail: { servingLastGood: false } });
    source.close();
  });

  it('stops its timers on close', async () => {
    const { clock, scripted, source, token } = setup();
    const first = source.token();
    await settle();
    scripted.last().resolve(token('t1', 15_000));
    await first;
    source.close();
    expect(clock.pending).toEqual([]);
    await expect(source.token()).rejects.toMatchObject({ code: 'TRIB_KAFKA_OAUTH_TOKEN' });
  });
});

describe('requestClientCredentialsToken against the test OAuth server', () => {
  let server: OAuthServerHandle | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  for (const clientAuth of ['basic', 'post'] as const) {
    it(`gets a token with client_secret_${clientAuth}, expiry from expires_in`, async () => {
      server = await startOAuthServer({
        clients: { 'gw id': { secret: 'p@ss word:+' } },
        lifetimeSeconds: 30,
      });
      const before = Date.now();
      const got = await requestClientCredentialsToken({
        options: {
          tokenEndpoint: server.tokenEndpoint,
          clientId: 'gw id',
          clientSecret: 'p@ss word:+',
          clientAuth,
          scope: 'kafka',
          audience: 'kafka-cluster',
        },
        ca: undefined,
        timeoutMs: 5_000,
      });
      expect(got.token.split('.')).toHaveLength(3);
      expect(got.expiresAt).toBeGreaterThanOrEqual(before + 30_000);
      expect(got.expiresAt).toBeLessThanOrEqual(Date.now() + 30_000);
      const claims = JSON.parse(Buffer.from(got.token.split('.')[1]!, 'base64url').toString()) as object;
      expect(claims).toMatchObject({ sub: 'gw id', aud: 'kafka-cluster', scope: 'kafka' });
      expect(server.counts().tokensIssued).toBe(1);
    });
  }

  it('reports a wrong secret as invalid_client and an unreachable endpoint by its network code', async () => {
    server = await startOAuthServer();
    const wrong = await requestClientCredentialsToken({
      options: { tokenEndpoint: server.tokenEndpoint, clientId: 'gateway', clientSecret: 'wrong' },
      ca: undefined,
      timeoutMs: 5_000,
    }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(TokenFetchError);
    expect(wrong).toMatchObject({ code: 'invalid_client' });
    expect((wrong as Error).message).not.toContain('wrong');
    server.fail();
    const failing = await requestClientCredentialsToken({
      options: { tokenEndpoint: server.tokenEndpoint, clientId: 'gateway', clientSecret: 'gateway-secret' },
      ca: undefined,
      timeoutMs: 5_000,
    }).catch((e: unknown) => e);
    expect(failing).toMatchObject({ code: 'temporarily_unavailable' });
    const endpoint = server.tokenEndpoint;
    await server.stop();
    server = undefined;
    const down = await requestClientCredentialsToken({
      options: { tokenEndpoint: endpoint, clientId: 'gateway', clientSecret: 'gateway-secret' },
      ca: undefined,
      timeoutMs: 5_000,
    }).catch((e: unknown) => e);
    expect(down).toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('shares one request between concurrent callers of a RefreshingToken', async () => {
    server = await startOAuthServer();
    const s = server;
    const source = new RefreshingToken({
      fetch: () =>
        requestClientCredentialsToken({
          options: { tokenEndpoint: s.tokenEndpoint, clientId: 'gateway', clientSecret: 'gateway-secret' },
          ca: undefined,
          timeoutMs: 5_000,
        }),
      backoff: () => 100,
      events: new TokenEvents({ emit: () => undefined }, 'x', {}),
      label: 'x',
    });
    const tokens = await Promise.all(Array.from({ length: 20 }, () => source.token()));
    expect(new Set(tokens).size).toBe(1);
    expect(server.counts().tokenRequests).toBe(1);
    source.close();
  });
});

describe('GuardTokenSource', () => {
  it('asks the guard every time and reports failures and the recovery once each', async () => {
    const events: DiagnosticEvent[] = [];
    let answer: Awaited<ReturnType<NonNullable<GuardHandler['credentials']>>> = {
      ok: true,
      credentials: { token: 'g1', expiresAt: null },
    };
    let calls = 0;
    const guard: GuardHandler = {
      authorize: () => Promise.reject(new Error('unused')),
      credentials: () => {
        calls++;
        return Promise.resolve(answer);
      },
    };
    const source = new GuardTokenSource(
      'idp',
      () => guard,
      new TokenEvents({ emit: (e) => events.push(e) }, 'guard "idp"', { provider: 'guard', guard: 'idp' }),
    );
    expect([await source.token(), await source.token()]).toEqual(['g1', 'g1']);
    expect(calls).toBe(2);
    answer = { ok: false, failure: { code: 'TRIB_GUARD_CREDENTIALS_UNAVAILABLE', message: 'no file' } };
    await expect(source.token()).rejects.toMatchObject({ code: 'TRIB_KAFKA_OAUTH_TOKEN' });
    await expect(source.token()).rejects.toMatchObject({ code: 'TRIB_KAFKA_OAUTH_TOKEN' });
    answer = { ok: true, credentials: { token: 'old', expiresAt: Date.now() - 1 } };
    await expect(source.token()).rejects.toThrow(/expired/);
    answer = { ok: true, credentials: { token: 'g2', expiresAt: Date.now() + 60_000 } };
    expect(await source.token()).toBe('g2');
    expect(events.map((e) => [e.name, e.detail?.['code'] ?? null])).toEqual([
      ['kafka.oauth.token.failed', 'TRIB_GUARD_CREDENTIALS_UNAVAILABLE'],
      ['kafka.oauth.token.recovered', null],
    ]);
  });
});
