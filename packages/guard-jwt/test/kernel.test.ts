/**
 * The guard in a running gateway: configured under `guards`, its sessions deciding guarded
 * routes through the kernel's route resolution.
 */
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createTestKernel, type TestHarness } from '@tributary/kernel/testkit';
import type { GuardSession } from '@tributary/kernel';
import { plugin } from '../src/plugin.ts';
import { AUDIENCE, ISSUER, makeKey, type TestKey } from './helpers.ts';

let key: TestKey;
let harness: TestHarness | undefined;

beforeAll(async () => {
  key = await makeKey('RS256', 'rsa-kernel');
});
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

const config = (guardOptions: object) => ({
  name: 'guarded',
  guards: { jwt0: { type: 'jwt', options: guardOptions } },
  bindings: {
    north: {
      type: 'test',
      kind: 'server',
      routes: [
        {
          when: [{ route: 'items' }],
          exit: south,
          guarded: { jwt0: ['stream:read'] },
          with: { owner: "${guarded['jwt0'].identity}", tenant: "${guarded['jwt0'].attributes.tenant}" },
        },
      ],
    },
    south: { type: 'test', kind: 'client', options: { mode: 'echo' } },
  },
});
const south = 'south';

async function session(token: string): Promise<GuardSession> {
  const result = await harness!.gateway.guard('jwt0')!.authorize(token);
  if (!result.ok) throw new Error(result.failure.code);
  return result.session;
}

describe('jwt guard in the kernel', () => {
  test('a guarded route admits a token with the scope and refuses one without', async () => {
    harness = await createTestKernel({
      plugins: [plugin],
      config: config({ issuer: ISSUER, audience: AUDIENCE, keys: { keys: [key.jwk] } }),
    });
    const server = harness.server('north');

    const reader = await session(await key.sign({ scope: 'stream:read', tenant: 'acme' }));
    const admitted = server.open({ route: 'items' }, { authorization: { jwt0: reader } });
    await admitted.next('begin');
    expect(harness.client('south').begins.at(-1)).toMatchObject({ with: { owner: 'alice', tenant: 'acme' } });

    const writer = await session(await key.sign({ scope: 'items:write' }));
    const forbidden = server.open({ route: 'items' }, { authorization: { jwt0: writer } });
    expect(await forbidden.next('reset')).toMatchObject({ reason: { code: 'TRIB_ROUTE_FORBIDDEN' } });

    const anonymous = server.open({ route: 'items' });
    expect(await anonymous.next('reset')).toMatchObject({ reason: { code: 'TRIB_ROUTE_UNAUTHORIZED' } });
  });

  test('route resolution reads the live session: an expired session is unauthorized until reauthorized', async () => {
    harness = await createTestKernel({
      plugins: [plugin],
      config: config({ issuer: ISSUER, audience: AUDIENCE, keys: { keys: [key.jwk] } }),
    });
    const server = harness.server('north');
    const now = Math.floor(Date.now() / 1000);
    const reader = await session(await key.sign({ scope: 'stream:read', iat: now - 1, exp: now + 1 }));
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const late = server.open({ route: 'items' }, { authorization: { jwt0: reader } });
    expect(await late.next('reset')).toMatchObject({ reason: { code: 'TRIB_ROUTE_UNAUTHORIZED' } });

    const guard = harness.gateway.guard('jwt0')!;
    const fresh = await key.sign({ scope: 'stream:read', iat: now + 1, exp: now + 600 });
    const extended = await guard.reauthorize!(reader, fresh);
    expect(extended).toMatchObject({ ok: true, session: reader });
    const again = server.open({ route: 'items' }, { authorization: { jwt0: reader } });
    await again.next('begin');
  });

  test('the configuration schema refuses none and HMAC algorithms, and symmetric keys', async () => {
    const cases: [options: object, pointer: string][] = [
      [{ algorithms: ['HS256'], keys: { keys: [key.jwk] } }, '/guards/jwt0/options/algorithms/0'],
      [{ algorithms: ['none'], keys: { keys: [key.jwk] } }, '/guards/jwt0/options/algorithms/0'],
      [{ keys: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } }, '/guards/jwt0/options/keys/keys/0'],
      [{ keys: { keys: [{ ...key.jwk, d: 'private' }] } }, '/guards/jwt0/options/keys/keys/0'],
      [{ issuer: ISSUER }, '/guards/jwt0/options'],
    ];
    for (const [options, pointer] of cases) {
      const failure = await createTestKernel({ plugins: [plugin], config: config(options) }).then(
        () => undefined,
        (error: unknown) => error as { code: string; issues: { pointer: string }[] },
      );
      expect(failure?.code, JSON.stringify(options)).toBe('TRIB_CONFIG_INVALID');
      expect(
        failure?.issues.some((issue) => issue.pointer.startsWith(pointer)),
        JSON.stringify(failure?.issues),
      ).toBe(true);
    }
  });
});
