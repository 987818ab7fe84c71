import { afterEach, describe, expect, it } from 'vitest';
import {
  createTestKernel,
  testSession,
  type TestBeginEx,
  type TestHarness,
} from '../../src/testkit/index.ts';

const config = `
name: routes
guards:
  g:
    type: test
    options:
      credentials:
        reader: { identity: alice, roles: [read] }
bindings:
  north:
    type: test
    kind: server
    routes:
      - when: [{ route: 'items/{id}' }, { route: 'things/{id}' }]
        exit: far
        with: { key: '\${params.id}', owner: 'user-\${guarded["g"].identity}', idem: '\${idempotencyKey}' }
      - when: [{ route: secret }]
        exit: far
        guarded: { g: [admin] }
      - when: [{ route: reading }]
        exit: far
        guarded: { g: [read] }
        with: { who: '\${guarded["g"].identity}' }
  fallback:
    type: test
    kind: server
    exit: far
    routes:
      - when: [{ route: guarded }]
        exit: far
        guarded: { g: [admin] }
  far:
    type: test
    kind: client
    options: { mode: echo }
`;

let harness: TestHarness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

const withOf = (h: TestHarness) => (h.client('far').begins.at(-1) as TestBeginEx).with;

describe('route resolution', () => {
  it('takes the first matching alternative and resolves templates from params, vars and sessions', async () => {
    harness = await createTestKernel({ config });
    const session = testSession('g', { identity: 'alice', roles: ['read'] });
    const peer = harness
      .server('north')
      .open(
        { route: 'things/42' },
        { authorization: { g: session }, idempotencyKey: 'k-1', initialWindow: 64, autoWindow: true },
      );
    peer.send('ping');
    await peer.receivedAtLeast(4);
    expect(withOf(harness)).toEqual({ key: '42', owner: 'user-alice', idem: 'k-1' });
  });

  it('refuses an unmatched stream when there is no default exit', async () => {
    harness = await createTestKernel({ config });
    const peer = harness.server('north').open({ route: 'nothing/here' });
    expect(await peer.next('reset')).toMatchObject({ reason: { code: 'TRIB_ROUTE_NO_MATCH' } });
    expect(harness.client('far').begins).toHaveLength(0);
  });

  it('answers unauthorized without a session and forbidden without the role', async () => {
    harness = await createTestKernel({ config });
    const server = harness.server('north');
    expect(await server.open({ route: 'secret' }).next('reset')).toMatchObject({
      reason: { code: 'TRIB_ROUTE_UNAUTHORIZED' },
    });
    const reader = testSession('g', { identity: 'alice', roles: ['read'] });
    expect(
      await server.open({ route: 'secret' }, { authorization: { g: reader } }).next('reset'),
    ).toMatchObject({
      reason: { code: 'TRIB_ROUTE_FORBIDDEN' },
    });
    const reading = server.open({ route: 'reading' }, { authorization: { g: reader } });
    await reading.next('begin');
    expect(withOf(harness)).toEqual({ who: 'alice' });
  });

  it('treats an expired session as no session', async () => {
    harness = await createTestKernel({ config });
    const expired = testSession('g', { identity: 'alice', roles: ['read'], expiresAt: Date.now() - 1 });
    const peer = harness.server('north').open({ route: 'reading' }, { authorization: { g: expired } });
    expect(await peer.next('reset')).toMatchObject({ reason: { code: 'TRIB_ROUTE_UNAUTHORIZED' } });
  });

  it('does not let a refused guarded route fall through to the default exit', async () => {
    harness = await createTestKernel({ config });
    const server = harness.server('fallback');
    expect(await server.open({ route: 'guarded' }).next('reset')).toMatchObject({
      reason: { code: 'TRIB_ROUTE_UNAUTHORIZED' },
    });
    const other = server.open({ route: 'anything-else' });
    await other.next('begin');
    expect(harness.client('far').begins).toHaveLength(1);
  });

  it('authorizes with a session from the configured guard, and refuses unknown credentials', async () => {
    harness = await createTestKernel({ config });
    const guard = harness.gateway.guard('g')!;
    const refused = await guard.authorize('nobody');
    expect(refused).toMatchObject({ ok: false, failure: { status: 401 } });
    const granted = await guard.authorize('reader');
    if (!granted.ok) throw new Error('reader refused');
    const peer = harness
      .server('north')
      .open({ route: 'reading' }, { authorization: { g: granted.session } });
    await peer.next('begin');
    expect(withOf(harness)).toEqual({ who: 'alice' });
  });
});
