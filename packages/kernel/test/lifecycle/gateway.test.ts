import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { definePlugin } from '../../src/spi/plugin.ts';
import { createKernel } from '../../src/lifecycle/kernel.ts';
import { Reloader } from '../../src/lifecycle/watch.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import {
  createTestKernel,
  type TestBeginEx,
  type TestClient,
  type TestHarness,
  type TestServer,
} from '../../src/testkit/index.ts';
import type { Gateway } from '../../src/lifecycle/gateway.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A plugin whose `recorder` bindings log their lifecycle into `log`. */
function recorder(log: string[], options: { holdMs?: number; failStart?: string } = {}) {
  return definePlugin({
    name: 'recorder',
    spi: '^1.0.0',
    bindings: {
      recorder: {
        kinds: ['server', 'proxy', 'client'],
        schema: { options: { type: 'object' } },
        create(ctx) {
          return {
            accept: () => ({}),
            start() {
              if (ctx.name === options.failStart) return Promise.reject(new Error(`${ctx.name} cannot bind`));
              log.push(`start ${ctx.name}`);
              if (options.holdMs) {
                ctx.holdReadiness(
                  'warm-up',
                  sleep(options.holdMs).then(() => log.push(`warm ${ctx.name}`)),
                );
              }
              return Promise.resolve();
            },
            stop() {
              log.push(`stop ${ctx.name}`);
              return Promise.resolve();
            },
          };
        },
      },
    },
  });
}

const chain = `
name: chain
bindings:
  entry: { type: recorder, kind: server, exit: middle }
  middle: { type: recorder, kind: proxy, exit: last }
  last: { type: recorder, kind: client }
`;

let harness: TestHarness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

describe('lifecycle', () => {
  it('starts exits before entries and stops in reverse', async () => {
    const log: string[] = [];
    harness = await createTestKernel({ config: chain, plugins: [recorder(log)] });
    expect(log).toEqual(['start last', 'start middle', 'start entry']);
    await harness.stop();
    expect(log.slice(3)).toEqual(['stop entry', 'stop middle', 'stop last']);
    expect(harness.gateway.state).toBe('stopped');
  });

  it('is ready only once readiness holds have settled', async () => {
    const log: string[] = [];
    harness = await createTestKernel({ config: chain, plugins: [recorder(log, { holdMs: 50 })] });
    expect(harness.gateway.ready).toBe(true);
    expect(log.filter((l) => l.startsWith('warm'))).toHaveLength(3);
  });

  it('a binding that fails to start stops what had started and names the binding', async () => {
    const log: string[] = [];
    const error = await createTestKernel({
      config: chain,
      plugins: [recorder(log, { failStart: 'middle' })],
    }).then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string },
    );
    expect(error?.code).toBe('TRIB_LIFECYCLE_START_FAILED');
    expect(error?.message).toContain('"middle"');
    expect(log).toEqual(['start last', 'stop last']);
  });

  it('stops with a deadline: open streams get until the deadline, then are aborted', async () => {
    harness = await createTestKernel({
      config: `
name: drain
bindings:
  north: { type: test, kind: server, exit: far }
  far: { type: test, kind: client, options: { mode: script } }
`,
    });
    const peer = harness.server('north').open({}, { autoWindow: true });
    const far = await harness.client('far').accepted();
    const started = Date.now();
    await harness.stop(300);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    // The server closed what it had opened at the deadline; the far end heard the abort.
    expect(far.frames.map((f) => f.frame)).toEqual(expect.arrayContaining(['abort']));
    expect(peer.handle.out.state).toBe('closed');
    expect(peer.handle.in.state).toBe('closed');
  });
});

describe('reload', () => {
  const twoServers = (northRoute: string, southRoute: string, farMode = 'script') => `
name: reload
bindings:
  north:
    type: test
    kind: server
    routes: [{ when: [{ route: '${northRoute}' }], exit: far, with: { via: north } }]
  south:
    type: test
    kind: server
    routes: [{ when: [{ route: '${southRoute}' }], exit: far, with: { via: south } }]
  far: { type: test, kind: client, options: { mode: ${farMode} } }
`;

  it('applies a route change in place without touching the other binding or open streams', async () => {
    harness = await createTestKernel({ config: twoServers('a', 'b') });
    const open = harness.server('north').open({ route: 'a' }, { autoWindow: true });
    const far = await harness.client('far').accepted();

    const result = await harness.reload(twoServers('a', 'b2'));
    expect(result).toEqual({ restarted: [], updated: ['south'] });

    expect(open.send('still flowing')).toBe(true);
    await far.receivedAtLeast(13);
    expect(far.text()).toBe('still flowing');
    expect(await harness.server('south').open({ route: 'b' }).next('reset')).toMatchObject({
      reason: { code: 'TRIB_ROUTE_NO_MATCH' },
    });
    harness.server('south').open({ route: 'b2' });
    const viaSouth = await harness.client('far').accepted();
    expect(viaSouth).toBeDefined();
    expect((harness.client('far').begins.at(-1) as TestBeginEx).with).toEqual({ via: 'south' });
  });

  it('restarts only a binding whose options changed', async () => {
    harness = await createTestKernel({ config: twoServers('a', 'b') });
    const result = await harness.reload(twoServers('a', 'b', 'echo'));
    expect(result).toEqual({ restarted: ['far'], updated: [] });
    const peer = harness.server('north').open({ route: 'a' }, { initialWindow: 1024, autoWindow: true });
    peer.send('echo me');
    await peer.receivedAtLeast(7);
    expect(peer.text()).toBe('echo me');
  });

  it('keeps the running configuration when the new one is invalid', async () => {
    harness = await createTestKernel({ config: twoServers('a', 'b') });
    await expect(
      harness.reload(twoServers('a', 'b').replace('exit: far, with: { via: south }', 'exit: nowhere')),
    ).rejects.toMatchObject({
      code: 'TRIB_CONFIG_INVALID',
    });
    harness.server('south').open({ route: 'b' });
    await harness.client('far').accepted();
  });

  describe('watching the file (tributary start --watch)', () => {
    let dir: string | undefined;
    let gateway: Gateway | undefined;
    let reloader: Reloader | undefined;
    afterEach(async () => {
      await reloader?.close();
      await gateway?.stop(500);
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('picks up a routes change without dropping a stream open on another binding', async () => {
      dir = await mkdtemp(join(tmpdir(), 'tributary-watch-'));
      const file = join(dir, 'gateway.yaml');
      await writeFile(file, twoServers('a', 'b'));
      const kernel = createKernel({ discover: false, logger: silentLogger() });
      gateway = await kernel.start(file);
      const reloads: unknown[] = [];
      reloader = new Reloader(kernel, gateway, file, {
        debounceMs: 20,
        onReload: (r) => reloads.push(r),
      }).watch();

      const north = gateway.binding('north') as TestServer;
      const farBinding = gateway.binding('far') as TestClient;
      const open = north.open({ route: 'a' }, { autoWindow: true });
      const far = await farBinding.accepted();

      await writeFile(file, twoServers('a', 'b-renamed'));
      const until = Date.now() + 5_000;
      while (reloads.length === 0 && Date.now() < until) await sleep(20);
      expect(reloads).toEqual([{ restarted: [], updated: ['south'] }]);

      expect(open.send('after reload')).toBe(true);
      await far.receivedAtLeast(12);
      expect(far.text()).toBe('after reload');
      expect(open.has('abort') || open.has('reset')).toBe(false);
      const south = gateway.binding('south') as TestServer;
      south.open({ route: 'b-renamed' });
      await farBinding.accepted();
    });
  });
});
