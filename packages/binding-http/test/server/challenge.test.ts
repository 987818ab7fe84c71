import { afterEach, describe, expect, it } from 'vitest';
import type { ScriptedPeer, TestHarness } from '@tributary/kernel/testkit';
import { curl, gateway, startGateway, urlOf } from '../helpers.ts';

let harness: TestHarness | undefined;
afterEach(async () => {
  await harness?.stop(500);
  harness = undefined;
});

/** A server whose `/stream` route is held open by the test exit, guarded by the test guard. */
const config = () =>
  gateway(
    {
      north: {
        type: 'http',
        kind: 'server',
        options: {
          listen: { host: '127.0.0.1', port: 0 },
          authorization: { g0: { credentials: { headers: { authorization: 'Bearer {credentials}' } } } },
        },
        routes: [{ when: [{ path: '/stream' }], exit: 'far', guarded: { g0: ['read'] } }],
      },
      far: { type: 'test', kind: 'client', options: { mode: 'script' } },
    },
    {
      guards: {
        g0: {
          type: 'test',
          options: {
            credentials: {
              'alice-old': { identity: 'alice', roles: ['read'], expiresIn: 5, challengeIn: 2 },
              'alice-new': { identity: 'alice', roles: ['read'], expiresIn: 600, challengeIn: 570 },
              'bob-new': { identity: 'bob', roles: ['read'], expiresIn: 600 },
            },
          },
        },
      },
    },
  );

describe('http server: challenge responses (continuous authorization)', () => {
  it('re-authorizes the open streams of the same principal in place, and no one else’s', async () => {
    harness = await startGateway(config());
    const url = urlOf(harness);
    const held = curl(['-N', '-H', 'authorization: Bearer alice-old', `${url}/stream`]);
    const far: ScriptedPeer = await harness.client('far').accepted();
    const session = far.handle.authorization['g0']!;
    const before = session.expiresAt!;
    expect(before - Date.now()).toBeLessThanOrEqual(5_000);

    const answer = (token: string, type = 'application/x-challenge-response') =>
      curl([
        '-X',
        'POST',
        '-H',
        `content-type: ${type}`,
        '-H',
        `authorization: Bearer ${token}`,
        `${url}/stream`,
      ]);

    const other = await answer('bob-new');
    expect(other.status).toBe(204);
    expect(other.headers['x-tributary-renewed']).toBe('0');
    expect(session.expiresAt).toBe(before);

    const invalid = await answer('mallory');
    expect(invalid.status).toBe(401);
    expect(session.expiresAt).toBe(before);

    const renewed = await answer('alice-new');
    expect(renewed.status).toBe(204);
    expect(renewed.headers['x-tributary-renewed']).toBe('1');
    // The very session object the stream holds now runs for the new token's lifetime.
    expect(far.handle.authorization['g0']).toBe(session);
    expect(session.expiresAt! - Date.now()).toBeGreaterThan(500_000);
    expect(session.challengeAt! - Date.now()).toBeGreaterThan(500_000);

    // Not a challenge response: routed as usual (and refused here: no credentials).
    expect((await curl(['-X', 'POST', '-H', 'content-type: application/json', `${url}/stream`])).status).toBe(
      401,
    );

    far.end();
    await held;
  });
});
