import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { PluginRegistry } from '@tributary/kernel';
import { createTestKernel, type TestHarness } from '@tributary/kernel/testkit';
import { discover, loadPlugins } from '../../../packages/kernel/src/discovery/index.ts';
import { upperCase } from '../tributary-plugin-uppercase/src/stream/uppercase-proxy.ts';

const APP = fileURLToPath(new URL('../app', import.meta.url));
const PLUGIN_DIR = fileURLToPath(new URL('../tributary-plugin-uppercase', import.meta.url));

const used = (bindings: Record<string, string[]>) => ({
  bindings: new Map(Object.entries(bindings)),
  guards: new Map<string, string[]>(),
  catalogs: new Map<string, string[]>(),
  models: new Map<string, string[]>(),
  vaults: new Map<string, string[]>(),
});

describe('a third-party plugin found by discovery', () => {
  test("is listed from the application's package.json", async () => {
    const discovery = await discover(APP);
    const uppercase = discovery.provider('bindings', 'uppercase');
    expect(uppercase).toEqual({
      pkg: 'tributary-plugin-uppercase',
      version: '1.0.0',
      dir: PLUGIN_DIR,
      manifest: { spi: '^1.0.0', provides: { bindings: ['uppercase'] } },
      spiCompatible: true,
    });
    expect(discovery.problems).toEqual([]);
  });

  test('is imported and registers the uppercase binding', async () => {
    const registry = new PluginRegistry();
    const { issues } = await loadPlugins(
      await discover(APP),
      used({ uppercase: ['/bindings/shout/type'] }),
      registry,
    );
    expect(issues).toEqual([]);
    const uppercase = registry.get('bindings', 'uppercase');
    expect(uppercase?.plugin.name).toBe('tributary-plugin-uppercase');
    expect(uppercase?.factory.kinds).toEqual(['proxy']);
  });
});

describe('gateway.yaml', () => {
  let harness: TestHarness | undefined;
  afterEach(async () => {
    await harness?.stop();
    harness = undefined;
  });

  test('upper-cases what flows towards the exit and passes the reply back', async () => {
    harness = await createTestKernel({
      config: await readFile(new URL('../app/gateway.yaml', import.meta.url), 'utf8'),
      discover: true,
      appDir: APP,
    });
    const client = harness.server('north').open({}, { initialWindow: 65_536 });
    client.send('hello, wörld');
    client.end();
    // south echoes what reached it: the upper-cased request.
    await client.next('end');
    expect(client.text()).toBe('HELLO, WöRLD');
    expect(client.has('reset')).toBe(false);
  });

  test('keeps messages whole and holds the sender to the credit the exit grants', async () => {
    harness = await createTestKernel({
      config: {
        name: 'stalled',
        bindings: {
          north: { type: 'test', kind: 'server', exit: 'shout' },
          shout: { type: 'uppercase', kind: 'proxy', exit: 'south' },
          south: { type: 'test', kind: 'client', options: { mode: 'script', window: 0 } },
        },
      },
      discover: true,
      appDir: APP,
    });
    const client = harness.server('north').open({}, { initialWindow: 65_536 });
    const south = await harness.client('south').accepted();
    const message = 'x'.repeat(100_000);
    // The exit grants nothing yet: the proxy takes at most its own window from the client.
    while (client.send(message)) {
      /* keep writing until told to stop */
    }
    expect(client.handle.out.queued).toBeGreaterThan(0);
    expect(south.received().byteLength).toBe(0);

    south.window(1_000_000);
    await south.receivedAtLeast(100_000);
    const first = south.dataFrames()[0]!;
    expect(first.payload.byteLength).toBe(100_000);
    expect(first.first && first.last).toBe(true);
    expect(Buffer.from(first.payload).toString()).toBe('X'.repeat(100_000));
    // Credit flowed back to the client once the exit drained.
    await client.credited();
    client.handle.close({ code: 'TEST_DONE' });
  });
});

test('upperCase changes ASCII letters only', () => {
  const bytes = new TextEncoder().encode('abc xyz ABC 123 é ß');
  expect(new TextDecoder().decode(upperCase(bytes))).toBe('ABC XYZ ABC 123 é ß');
});
