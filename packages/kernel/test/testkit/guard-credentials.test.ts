// The `test` guard's outbound credentials (GuardHandler.credentials, SPI 1.1): a fixed token, a
// token file read on every call, expiry from `expiresIn` or the JWT's `exp`, failures as values.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { GuardConfig, GuardHandler, PluginContext } from '../../src/index.ts';
import { testGuard, type TestGuardOptions } from '../../src/testkit/types.ts';
import { SPI_VERSION } from '../../src/spi/version.ts';

let dir: string | undefined;
afterEach(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function guardWith(options: TestGuardOptions, configDir = '/'): Promise<GuardHandler> {
  const ctx = { configDir } as PluginContext;
  const config = { name: 'idp', type: 'test', options } as GuardConfig<TestGuardOptions>;
  return testGuard.create(ctx, config);
}

const jwt = (claims: Record<string, unknown>) =>
  ['{"alg":"none"}', JSON.stringify(claims)].map((p) => Buffer.from(p).toString('base64url')).join('.') + '.';

describe('test guard credentials()', () => {
  it('is part of SPI 1.1', () => {
    expect(SPI_VERSION).toBe('1.1.0');
  });

  it('is absent without outbound options', async () => {
    const guard = await guardWith({ credentials: { a: {} } });
    expect('credentials' in guard).toBe(false);
  });

  it('lends a fixed token, expiring after expiresIn', async () => {
    const guard = await guardWith({ outbound: { token: 'static-token', expiresIn: 30 } });
    const before = Date.now();
    const result = await guard.credentials!();
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.credentials.token).toBe('static-token');
    expect(result.credentials.expiresAt).toBeGreaterThanOrEqual(before + 30_000);
    expect(result.credentials.expiresAt).toBeLessThanOrEqual(Date.now() + 30_000);
  });

  it('reads a token file on every call, relative to the configuration directory, expiry from the JWT', async () => {
    dir = await mkdtemp(join(tmpdir(), 'trib-guard-'));
    const guard = await guardWith({ outbound: { file: 'token.jwt' } }, dir);
    const missing = await guard.credentials!();
    expect(missing).toMatchObject({ ok: false, failure: { code: 'TRIB_GUARD_CREDENTIALS_UNAVAILABLE' } });

    const first = jwt({ sub: 'gw', exp: 2_000_000_000 });
    await writeFile(join(dir, 'token.jwt'), `${first}\n`);
    expect(await guard.credentials!()).toEqual({
      ok: true,
      credentials: { token: first, expiresAt: 2_000_000_000_000 },
    });

    await writeFile(join(dir, 'token.jwt'), 'opaque-token');
    expect(await guard.credentials!()).toEqual({
      ok: true,
      credentials: { token: 'opaque-token', expiresAt: null },
    });

    await writeFile(join(dir, 'token.jwt'), '  \n');
    expect(await guard.credentials!()).toMatchObject({ ok: false, failure: { message: /empty/ } });
  });

  it('still authorizes inbound credentials beside outbound ones', async () => {
    const guard = await guardWith({ credentials: { k: { identity: 'u' } }, outbound: { token: 't' } });
    expect((await guard.authorize('k')).ok).toBe(true);
    expect((await guard.authorize('nope')).ok).toBe(false);
  });
});
