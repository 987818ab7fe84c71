import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { DiagnosticEvent } from '@tributary/kernel';
import type { JwtOptions } from '../src/config/schema.ts';
import { EVENTS } from '../src/events.ts';
import {
  AUDIENCE,
  ISSUER,
  JwksServer,
  makeKey,
  names,
  sleep,
  startGuard,
  stopGuards,
  type TestKey,
} from './helpers.ts';

let jwks: JwksServer;
let current: TestKey;

beforeEach(async () => {
  current = await makeKey('RS256', 'key-2024');
  jwks = await JwksServer.start([current.jwk]);
});
afterEach(async () => {
  await stopGuards();
  await jwks.close();
});

const remote = (extra: Partial<JwtOptions> = {}): JwtOptions => ({
  issuer: ISSUER,
  audience: AUDIENCE,
  jwksUrl: jwks.url,
  ...extra,
});

async function until(check: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

const failureCode = async (guard: Awaited<ReturnType<typeof startGuard>>, token: string) => {
  const result = await guard.handler.authorize(token);
  return result.ok ? 'accepted' : result.failure.code;
};

describe('jwt guard: keys from jwksUrl', () => {
  test('fetches the JWKS once at start, holding readiness until it is there', async () => {
    jwks.delayMs = 50;
    const guard = await startGuard(remote());
    await guard.ready;
    expect(jwks.requests).toBe(1);
    await expect(guard.authorize(await current.sign())).resolves.toMatchObject({ identity: 'alice' });
    await expect(guard.authorize(await current.sign())).resolves.toBeDefined();
    expect(jwks.requests).toBe(1);
  });

  test('picks up a rotated key on its first token', async () => {
    const guard = await startGuard(remote({ cooldownSeconds: 0.05 }));
    await guard.ready;
    const next = await makeKey('RS256', 'key-2025');
    jwks.keys = [current.jwk, next.jwk];
    await sleep(60);
    await expect(guard.authorize(await next.sign())).resolves.toMatchObject({ identity: 'alice' });
    expect(jwks.requests).toBe(2);
    await expect(guard.authorize(await next.sign())).resolves.toBeDefined();
    expect(jwks.requests).toBe(2);
  });

  test('an unknown kid refreshes the JWKS once, then is refused; more unknown kids wait for the cooldown', async () => {
    const guard = await startGuard(remote({ cooldownSeconds: 0.5 }));
    await guard.ready;
    await sleep(510);
    const stranger = await makeKey('RS256', 'never-published');
    expect(await failureCode(guard, await stranger.sign())).toBe('TRIB_JWT_UNKNOWN_KEY');
    expect(jwks.requests).toBe(2);
    expect(await failureCode(guard, await stranger.sign({}, { kid: 'another' }))).toBe(
      'TRIB_JWT_UNKNOWN_KEY',
    );
    expect(jwks.requests).toBe(2);
    await sleep(510);
    expect(await failureCode(guard, await stranger.sign({}, { kid: 'a-third' }))).toBe(
      'TRIB_JWT_UNKNOWN_KEY',
    );
    expect(jwks.requests).toBe(3);
  });

  test('a flood of tokens with random kids costs one JWKS request', async () => {
    const guard = await startGuard(remote({ cooldownSeconds: 0.05 }));
    await guard.ready;
    await sleep(60);
    jwks.delayMs = 30;
    const tokens = await Promise.all(
      Array.from({ length: 200 }, () => current.sign({}, { kid: randomUUID() })),
    );
    const codes = await Promise.all(tokens.map((token) => failureCode(guard, token)));
    expect(new Set(codes)).toEqual(new Set(['TRIB_JWT_UNKNOWN_KEY']));
    expect(jwks.requests).toBe(2);
    // Valid tokens are unaffected.
    await expect(guard.authorize(await current.sign())).resolves.toBeDefined();
  });

  test('concurrent callers share one fetch: at start and for a rotated key', async () => {
    jwks.delayMs = 100;
    const guard = await startGuard(remote({ cooldownSeconds: 0 }));
    const early = await Promise.all(Array.from({ length: 20 }, () => current.sign()));
    const sessions = await Promise.all(early.map((token) => guard.authorize(token)));
    expect(sessions).toHaveLength(20);
    expect(jwks.requests).toBe(1);

    const next = await makeKey('ES256', 'key-ec');
    jwks.keys = [current.jwk, next.jwk];
    const rotated = await Promise.all(Array.from({ length: 20 }, () => next.sign()));
    await Promise.all(rotated.map((token) => guard.authorize(token)));
    expect(jwks.requests).toBe(2);
  });

  test('a stale JWKS is refreshed in the background while tokens are answered from it', async () => {
    const guard = await startGuard(remote({ maxAgeSeconds: 0.05 }));
    await guard.ready;
    await sleep(60);
    jwks.delayMs = 1_000;
    const token = await current.sign();
    const started = Date.now();
    await guard.authorize(token);
    expect(Date.now() - started).toBeLessThan(500);
    await until(() => jwks.requests === 2);
  });

  test('JWKS down: the last good keys keep working, one failure event, retries back off, one recovery event', async () => {
    const guard = await startGuard(
      remote({ maxAgeSeconds: 0.02, retryDelaySeconds: 0.05, retryDelayMaxSeconds: 0.2 }),
    );
    await guard.ready;
    jwks.mode = 'fail';
    await sleep(30);
    const failingSince = jwks.requests;
    const failingFrom = Date.now();
    for (let i = 0; i < 10; i++) {
      await expect(guard.authorize(await current.sign())).resolves.toMatchObject({ identity: 'alice' });
      await sleep(50);
    }
    expect(names(guard.events)).toEqual([EVENTS.jwksFailed]);
    const [failed] = guard.events as [DiagnosticEvent];
    expect(failed).toMatchObject({
      level: 'warn',
      detail: {
        guard: 'jwt0',
        url: jwks.url,
        code: 'HTTP_503',
        keys: 1,
        servingLastGood: true,
        retryInMs: 50,
      },
    });
    // Delays of 50, 100, then 200 ms: a handful of attempts, not one per token.
    const attempts = jwks.requests - failingSince;
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(attempts).toBeLessThanOrEqual(3 + Math.ceil((Date.now() - failingFrom) / 200));

    jwks.mode = 'ok';
    await until(() => guard.events.length === 2);
    expect(names(guard.events)).toEqual([EVENTS.jwksFailed, EVENTS.jwksRecovered]);
    expect(guard.events[1]).toMatchObject({ level: 'info', detail: { guard: 'jwt0', keys: 1 } });
    await sleep(100);
    await guard.authorize(await current.sign());
    expect(names(guard.events)).toEqual([EVENTS.jwksFailed, EVENTS.jwksRecovered]);
  });

  test('JWKS unreachable from the start: tokens are refused until it answers, then accepted', async () => {
    jwks.mode = 'drop';
    const guard = await startGuard(remote({ retryDelaySeconds: 0.05 }));
    await guard.ready;
    expect(await failureCode(guard, await current.sign())).toBe('TRIB_JWT_KEYS_UNAVAILABLE');
    expect(guard.events).toEqual([
      expect.objectContaining({
        name: EVENTS.jwksFailed,
        level: 'error',
        detail: expect.objectContaining({ keys: 0, servingLastGood: false }) as object,
      }),
    ]);
    jwks.mode = 'ok';
    await until(() => guard.events.length === 2);
    await expect(guard.authorize(await current.sign())).resolves.toMatchObject({ identity: 'alice' });
    expect(names(guard.events)).toEqual([EVENTS.jwksFailed, EVENTS.jwksRecovered]);
  });

  test('a JWKS that is not JSON is a failure, and inline keys work throughout', async () => {
    const inline = await makeKey('EdDSA', 'inline-ed');
    jwks.mode = 'ok';
    jwks.keys = 'garbage' as never;
    const guard = await startGuard(remote({ keys: { keys: [inline.jwk as never] }, retryDelaySeconds: 5 }));
    await guard.ready;
    expect(guard.events).toEqual([
      expect.objectContaining({
        name: EVENTS.jwksFailed,
        level: 'warn',
        detail: expect.objectContaining({ code: 'INVALID_JWKS' }) as object,
      }),
    ]);
    await expect(guard.authorize(await inline.sign())).resolves.toBeDefined();
    // In backoff: an unknown kid does not fetch.
    expect(await failureCode(guard, await current.sign())).toBe('TRIB_JWT_UNKNOWN_KEY');
    expect(jwks.requests).toBe(1);
  });

  test('keys a JWKS must not hold (symmetric, private) are ignored', async () => {
    const secretish = { kty: 'oct', kid: 'hmac', k: Buffer.from('shared').toString('base64url') };
    jwks.keys = [secretish, current.jwk];
    const guard = await startGuard(remote());
    await guard.ready;
    await expect(guard.authorize(await current.sign())).resolves.toBeDefined();
    expect(guard.events).toEqual([]);
  });

  test('the event shows the JWKS URL without its query', async () => {
    jwks.mode = 'fail';
    const guard = await startGuard(remote({ jwksUrl: `${jwks.url}?api_key=secret` }));
    await guard.ready;
    expect(guard.events[0]?.detail?.['url']).toBe(jwks.url);
    expect(JSON.stringify(guard.events)).not.toContain('secret');
  });
});
