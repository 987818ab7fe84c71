import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { testSession } from '@tributary/kernel/testkit';
import { AUDIENCE, ISSUER, makeKey, startGuard, stopGuards, type TestKey } from './helpers.ts';

let key: TestKey;
const seconds = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  key = await makeKey('ES256', 'es-1');
});
afterEach(stopGuards);

const start = () => startGuard({ issuer: ISSUER, audience: AUDIENCE, keys: { keys: [key.jwk as never] } });

/** What a binding would hold on to: the object, and a snapshot of its fields. */
const snapshot = (session: {
  expiresAt: number | null;
  challengeAt: number | null;
  roles: ReadonlySet<string>;
  attributes: object;
}) => ({
  expiresAt: session.expiresAt,
  challengeAt: session.challengeAt,
  roles: [...session.roles],
  attributes: session.attributes,
});

describe('jwt guard: continuous authorization', () => {
  test('a fresh token extends the same session object: expiry, challenge, roles and claims', async () => {
    const guard = await start();
    const first = seconds();
    const session = await guard.authorize(
      await key.sign({ iat: first - 10, exp: first + 60, scope: 'stream:read', tenant: 'acme' }),
    );
    // A stream holds the object, as the kernel's route resolution and the bindings do.
    const held = { jwt0: session };
    expect(session.expiresAt).toBe((first + 60) * 1000);

    const fresh = await key.sign({
      iat: first,
      exp: first + 600,
      scope: 'stream:read items:write',
      tenant: 'acme',
    });
    const result = await guard.handler.reauthorize!(session, fresh);
    expect(result).toEqual({ ok: true, session });
    if (!result.ok) return;
    expect(result.session).toBe(session);
    expect(held.jwt0.expiresAt).toBe((first + 600) * 1000);
    expect(held.jwt0.challengeAt).toBe((first + 600) * 1000 - 30_000);
    expect([...held.jwt0.roles]).toEqual(['stream:read', 'items:write']);
    expect(held.jwt0.attributes['exp']).toBe(first + 600);
    // verify() judges the current token: valid past the old expiry, with the new role.
    expect(held.jwt0.verify(['items:write'], (first + 120) * 1000)).toBe(true);
    expect(held.jwt0.identity).toBe('alice');
  });

  test('a fresh token for another identity is refused with 403 and leaves the session untouched', async () => {
    const guard = await start();
    const session = await guard.authorize(await key.sign({ scope: 'stream:read' }));
    const before = snapshot(session);
    const mallory = await key.sign({ sub: 'mallory', exp: seconds() + 3600, scope: 'admin' });
    await expect(guard.handler.reauthorize!(session, mallory)).resolves.toEqual({
      ok: false,
      failure: {
        code: 'TRIB_JWT_IDENTITY_MISMATCH',
        message: 'the fresh token is for another principal or issuer than the session',
        status: 403,
      },
    });
    expect(snapshot(session)).toEqual(before);
    expect(session.identity).toBe('alice');
  });

  test('the same subject from another issuer is another principal (403)', async () => {
    const guard = await startGuard({
      issuer: [ISSUER, 'https://idp.other'],
      keys: { keys: [key.jwk as never] },
    });
    const session = await guard.authorize(await key.sign());
    const result = await guard.handler.reauthorize!(session, await key.sign({ iss: 'https://idp.other' }));
    expect(result).toMatchObject({ ok: false, failure: { code: 'TRIB_JWT_IDENTITY_MISMATCH', status: 403 } });
  });

  test('an invalid fresh token is refused with 401 and leaves the session untouched', async () => {
    const guard = await start();
    const session = await guard.authorize(await key.sign());
    const before = snapshot(session);
    for (const token of [
      await key.sign({ exp: seconds() - 5 }),
      await key.sign({ aud: 'other' }),
      'garbage',
    ]) {
      const result = await guard.handler.reauthorize!(session, token);
      expect(result).toMatchObject({ ok: false, failure: { status: 401 } });
    }
    expect(snapshot(session)).toEqual(before);
  });

  test('a token issued before the session token cannot roll the session back (replay)', async () => {
    const guard = await start();
    const now = seconds();
    const old = await key.sign({ iat: now - 100, exp: now + 200, scope: 'admin' });
    const session = await guard.authorize(
      await key.sign({ iat: now - 10, exp: now + 100, scope: 'stream:read' }),
    );
    const result = await guard.handler.reauthorize!(session, old);
    expect(result).toMatchObject({ ok: false, failure: { code: 'TRIB_JWT_STALE', status: 401 } });
    expect([...session.roles]).toEqual(['stream:read']);
    // The same token again is fine (idempotent).
    const same = await key.sign({ iat: now - 10, exp: now + 100, scope: 'stream:read' });
    expect((await guard.handler.reauthorize!(session, same)).ok).toBe(true);
  });

  test('sessions of another guard are not extended', async () => {
    const guard = await start();
    const foreign = testSession('jwt0', { identity: 'alice', expiresAt: Date.now() + 1000 });
    await expect(guard.handler.reauthorize!(foreign, await key.sign())).resolves.toMatchObject({
      ok: false,
      failure: { code: 'TRIB_JWT_FOREIGN_SESSION', status: 403 },
    });
  });

  test('sessions serialise without their claims', async () => {
    const guard = await start();
    const session = await guard.authorize(await key.sign({ email: 'alice@example.com', scope: 'a' }));
    const json = JSON.stringify(session);
    expect(JSON.parse(json)).toEqual({
      guard: 'jwt0',
      identity: 'alice',
      roles: ['a'],
      expiresAt: session.expiresAt,
      challengeAt: session.challengeAt,
    });
    expect(json).not.toContain('example.com');
  });
});
