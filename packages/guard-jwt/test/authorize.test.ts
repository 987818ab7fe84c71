import { readFileSync } from 'node:fs';
import { SignJWT } from 'jose';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { GuardResult } from '@tributary/kernel';
import { plugin } from '../src/plugin.ts';
import type { JwtAlgorithm, JwtOptions } from '../src/config/schema.ts';
import { AUDIENCE, ISSUER, makeKey, startGuard, stopGuards, unsecured, type TestKey } from './helpers.ts';

const manifest = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    tributary: { provides: Record<string, string[]> };
  }
).tributary;

let rsa: TestKey;
const seconds = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  rsa = await makeKey('RS256', 'rsa-1');
});
afterEach(stopGuards);

const options = (extra: Partial<JwtOptions> = {}): JwtOptions => ({
  issuer: ISSUER,
  audience: AUDIENCE,
  keys: { keys: [rsa.jwk as never] },
  ...extra,
});

/** The refusal of `token`, as `code` and `status`. */
async function refusal(token: string, extra: Partial<JwtOptions> = {}) {
  const guard = await startGuard(options(extra));
  const result: GuardResult = await guard.handler.authorize(token);
  if (result.ok) throw new Error('accepted');
  return { code: result.failure.code, status: result.failure.status, message: result.failure.message };
}

describe('jwt guard: valid tokens', () => {
  test('opens a session with identity, scope roles, all claims as attributes, expiry and challenge', async () => {
    const guard = await startGuard(options());
    const exp = seconds() + 600;
    const token = await rsa.sign({ sub: 'alice', scope: 'stream:read  items:write', tenant: 'acme', exp });
    const session = await guard.authorize(token);
    expect(session.guard).toBe('jwt0');
    expect(session.identity).toBe('alice');
    expect([...session.roles]).toEqual(['stream:read', 'items:write']);
    expect(session.attributes).toMatchObject({
      sub: 'alice',
      tenant: 'acme',
      iss: ISSUER,
      aud: AUDIENCE,
      exp,
    });
    expect(session.expiresAt).toBe(exp * 1000);
    expect(session.challengeAt).toBe(exp * 1000 - 30_000);
    expect(session.verify(['stream:read'])).toBe(true);
    expect(session.verify(['stream:read', 'items:write'])).toBe(true);
    expect(session.verify(['admin'])).toBe(false);
    expect(session.verify(['stream:read'], exp * 1000)).toBe(false);
    expect(guard.events).toEqual([]);
  });

  test('reads roles from an array at a dotted path, identity from another claim, and no challenge with 0', async () => {
    const guard = await startGuard(
      options({ roles: 'realm_access.roles', identity: 'preferred_username', challenge: 0 }),
    );
    const token = await rsa.sign({
      sub: 'f81d4fae',
      preferred_username: 'alice',
      realm_access: { roles: ['stream:read', 42, 'admin'] },
    });
    const session = await guard.authorize(token);
    expect(session.identity).toBe('alice');
    expect([...session.roles]).toEqual(['stream:read', 'admin']);
    expect(session.challengeAt).toBeNull();
  });

  test('prefers a claim whose whole name is the path (namespaced claims contain dots)', async () => {
    const guard = await startGuard(options({ roles: 'https://tributary.test/roles' }));
    const session = await guard.authorize(await rsa.sign({ 'https://tributary.test/roles': ['ops'] }));
    expect([...session.roles]).toEqual(['ops']);
  });

  test('a token without the roles claim opens a session without roles', async () => {
    const guard = await startGuard(options());
    const session = await guard.authorize(await rsa.sign());
    expect(session.roles.size).toBe(0);
    expect(session.verify([])).toBe(true);
    expect(session.verify(['stream:read'])).toBe(false);
  });

  test('attributes are frozen: readers cannot change a session', async () => {
    const guard = await startGuard(options());
    const session = await guard.authorize(await rsa.sign({ realm_access: { roles: ['a'] } }));
    expect(Object.isFrozen(session.attributes)).toBe(true);
    expect(Object.isFrozen(session.attributes['realm_access'])).toBe(true);
  });

  test('accepts an audience list and one of several issuers', async () => {
    const guard = await startGuard(options({ issuer: ['https://other', ISSUER], audience: ['x', AUDIENCE] }));
    await expect(guard.authorize(await rsa.sign({ aud: ['y', AUDIENCE] }))).resolves.toBeDefined();
  });

  test.each<[JwtAlgorithm]>([
    ['RS256'],
    ['RS384'],
    ['RS512'],
    ['PS256'],
    ['PS384'],
    ['PS512'],
    ['ES256'],
    ['ES384'],
    ['EdDSA'],
  ])('verifies %s tokens', async (alg) => {
    const key = await makeKey(alg);
    const guard = await startGuard({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: { keys: [key.jwk as never] },
    });
    const session = await guard.authorize(await key.sign({ scope: 'stream:read' }));
    expect(session.verify(['stream:read'])).toBe(true);
  });

  test('a key without kid or alg is found by its type', async () => {
    const key = await makeKey('ES256');
    const { kid: _kid, alg: _alg, ...bare } = key.jwk;
    const guard = await startGuard({ keys: { keys: [bare as never] } });
    const token = await key.sign({}, { kid: undefined });
    await expect(guard.authorize(token)).resolves.toMatchObject({ identity: 'alice' });
  });

  test('tries every key that matches a token without kid', async () => {
    const [one, two] = [await makeKey('RS256', 'one'), await makeKey('RS256', 'two')];
    const strip = (key: TestKey) => ({ ...key.jwk, kid: undefined });
    const guard = await startGuard({ keys: { keys: [strip(one), strip(two)] as never } });
    await expect(guard.authorize(await two.sign({}, { kid: undefined }))).resolves.toMatchObject({
      identity: 'alice',
    });
  });

  test('tolerates nbf and iat up to clockSkewSeconds in the future', async () => {
    const guard = await startGuard(options());
    const token = await rsa.sign({ nbf: seconds() + 20, iat: seconds() + 20 });
    await expect(guard.authorize(token)).resolves.toMatchObject({ identity: 'alice' });
  });

  test('provides exactly what its package.json declares', () => {
    expect(Object.keys(plugin.guards)).toEqual(manifest.provides['guards']);
  });
});

describe('jwt guard: refused tokens (401, never thrown)', () => {
  test('expired, even by one second (sessions end at exp)', async () => {
    const exp = seconds() - 1;
    expect(await refusal(await rsa.sign({ exp }))).toEqual({
      code: 'TRIB_JWT_EXPIRED',
      status: 401,
      message: `the token expired at ${new Date(exp * 1000).toISOString()}`,
    });
    expect(await refusal(await rsa.sign({ exp: seconds() - 3600 }))).toMatchObject({
      code: 'TRIB_JWT_EXPIRED',
    });
  });

  test('not yet valid: nbf or iat beyond the clock skew', async () => {
    expect(await refusal(await rsa.sign({ nbf: seconds() + 120 }))).toMatchObject({
      code: 'TRIB_JWT_NOT_YET_VALID',
      status: 401,
    });
    expect(await refusal(await rsa.sign({ iat: seconds() + 120 }))).toMatchObject({
      code: 'TRIB_JWT_NOT_YET_VALID',
      message: expect.stringContaining('(iat)') as string,
    });
    expect(await refusal(await rsa.sign({ nbf: seconds() + 20 }), { clockSkewSeconds: 0 })).toMatchObject({
      code: 'TRIB_JWT_NOT_YET_VALID',
    });
  });

  test('wrong issuer, missing issuer', async () => {
    expect(await refusal(await rsa.sign({ iss: 'https://evil.test' }))).toMatchObject({
      code: 'TRIB_JWT_ISSUER',
      status: 401,
    });
    expect(await refusal(await rsa.sign({ iss: undefined }))).toMatchObject({ code: 'TRIB_JWT_CLAIM' });
  });

  test('wrong audience', async () => {
    expect(await refusal(await rsa.sign({ aud: 'billing' }))).toMatchObject({
      code: 'TRIB_JWT_AUDIENCE',
      status: 401,
    });
    expect(await refusal(await rsa.sign({ aud: ['billing', 'crm'] }))).toMatchObject({
      code: 'TRIB_JWT_AUDIENCE',
    });
  });

  test('no exp, or no identity claim', async () => {
    expect(await refusal(await rsa.sign({ exp: undefined }))).toMatchObject({
      code: 'TRIB_JWT_CLAIM',
      message: 'the token claim "exp" is missing',
    });
    expect(await refusal(await rsa.sign({ sub: undefined }))).toMatchObject({
      code: 'TRIB_JWT_CLAIM',
      message: 'the token claim "sub" must be a non-empty string',
    });
  });

  test('alg none', async () => {
    const token = unsecured({ sub: 'mallory', iss: ISSUER, aud: AUDIENCE, exp: seconds() + 300 });
    expect(await refusal(token)).toEqual({
      code: 'TRIB_JWT_ALGORITHM',
      status: 401,
      message: 'tokens signed with "none" are not accepted',
    });
  });

  test('HS256 "signed" with the RSA public key (algorithm confusion), even with HS256 configured', async () => {
    const claims = { sub: 'mallory', iss: ISSUER, aud: AUDIENCE, exp: seconds() + 300, scope: 'admin' };
    for (const secret of [rsa.pem, rsa.pem.trim(), JSON.stringify(rsa.jwk)]) {
      const token = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', kid: rsa.kid })
        .sign(new TextEncoder().encode(secret));
      expect(await refusal(token)).toMatchObject({ code: 'TRIB_JWT_ALGORITHM', status: 401 });
      // Options that bypass the schema (an embedding program) cannot enable HMAC either.
      expect(await refusal(token, { algorithms: ['HS256', 'RS256'] as never })).toMatchObject({
        code: 'TRIB_JWT_ALGORITHM',
      });
    }
  });

  test('an algorithm left out of `algorithms`', async () => {
    const es = await makeKey('ES256');
    const guard = await startGuard({
      algorithms: ['RS256'],
      keys: { keys: [es.jwk as never, rsa.jwk as never] },
    });
    await expect(guard.handler.authorize(await es.sign())).resolves.toMatchObject({
      ok: false,
      failure: { code: 'TRIB_JWT_ALGORITHM' },
    });
  });

  test('tampered payload and tampered signature', async () => {
    const token = await rsa.sign({ scope: 'stream:read' });
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, scope: 'stream:read admin' })).toString(
      'base64url',
    );
    expect(await refusal(`${header}.${forged}.${signature}`)).toMatchObject({
      code: 'TRIB_JWT_SIGNATURE',
      status: 401,
    });
    const flipped = (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1);
    expect(await refusal(`${header}.${payload}.${flipped}`)).toMatchObject({ code: 'TRIB_JWT_SIGNATURE' });
  });

  test('a token signed by a key with the right kid but another key pair', async () => {
    const impostor = await makeKey('RS256', rsa.kid);
    expect(await refusal(await impostor.sign())).toMatchObject({ code: 'TRIB_JWT_SIGNATURE' });
  });

  test('a kid that no inline key has', async () => {
    expect(await refusal(await rsa.sign({}, { kid: 'rotated-away' }))).toEqual({
      code: 'TRIB_JWT_UNKNOWN_KEY',
      status: 401,
      message: 'no verification key matches the token (kid "rotated-away")',
    });
  });

  test('malformed credentials of every kind', async () => {
    const guard = await startGuard(options());
    const valid = await rsa.sign();
    const [header, payload] = valid.split('.') as [string, string];
    const cases = [
      '',
      'Bearer',
      'a.b',
      'a.b.c',
      '...',
      `${header}.${payload}`,
      `${header}.${payload}.!!!`,
      `${header}.%%%.sig`,
      `${Buffer.from('{"alg":"RS256"').toString('base64url')}.${payload}.x`,
      `${Buffer.from('[1]').toString('base64url')}.${payload}.x`,
      `${header}.${Buffer.from('not json').toString('base64url')}.x`,
      'a.b.c.d.e',
      'x'.repeat(70_000),
      undefined as unknown as string,
      42 as unknown as string,
    ];
    for (const token of cases) {
      const result = await guard.handler.authorize(token);
      expect(result.ok, String(token).slice(0, 40)).toBe(false);
      if (!result.ok) {
        expect(result.failure.status).toBe(401);
        expect(result.failure.code).toMatch(/^TRIB_JWT_(MALFORMED|ALGORITHM|SIGNATURE)$/);
      }
    }
  });

  test('failure messages never contain the token', async () => {
    const token = await rsa.sign({ exp: seconds() - 10 });
    const [, payload, signature] = token.split('.') as [string, string, string];
    const { message } = await refusal(token);
    expect(message).not.toContain(payload);
    expect(message).not.toContain(signature);
  });
});

describe('jwt guard: configuration', () => {
  test('a broken inline key is a load-time error naming the key', async () => {
    const es = await makeKey('ES256', 'es-broken');
    const broken = { ...es.jwk, x: Buffer.alloc(32, 7).toString('base64url') }; // not on the curve
    await expect(startGuard({ keys: { keys: [rsa.jwk, broken] as never } })).rejects.toMatchObject({
      code: 'TRIB_JWT_OPTIONS',
      message: expect.stringContaining('keys.keys[1] (kid "es-broken") is not a usable ES256 key') as string,
    });
    await expect(
      startGuard({ keys: { keys: [{ kty: 'EC', crv: 'P-521', x: 'AA', y: 'AA' }] } }),
    ).rejects.toMatchObject({
      code: 'TRIB_JWT_OPTIONS',
      message: expect.stringContaining('unsupported curve') as string,
    });
  });

  test('validate refuses a jwksUrl that is not http(s), and inverted retry delays', () => {
    const validate = (config: Parameters<NonNullable<typeof plugin.guards.jwt.validate>>[0]) =>
      plugin.guards['jwt'].validate!(config);
    const issues = validate({
      name: 'jwt0',
      type: 'jwt',
      options: { jwksUrl: 'ftp://idp/certs', retryDelaySeconds: 10, retryDelayMaxSeconds: 1 },
    });
    expect(issues.map((issue) => [issue.code, issue.pointer])).toEqual([
      ['TRIB_JWT_OPTIONS', '/guards/jwt0/options/jwksUrl'],
      ['TRIB_JWT_OPTIONS', '/guards/jwt0/options/retryDelayMaxSeconds'],
    ]);
    expect(validate({ name: 'jwt0', type: 'jwt', options: { jwksUrl: 'https://idp.test/certs' } })).toEqual(
      [],
    );
  });
});
