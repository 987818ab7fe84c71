// A bundled deployment lists its plugins instead of relying on discovery.
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { Kernel } from '@tributary/kernel';

const appDir = fileURLToPath(new URL('../app', import.meta.url));

describe('explicit plugins list', () => {
  it('loads the listed package without discovering the application dependencies', async () => {
    const kernel = new Kernel({ appDir, discover: false });
    const { config } = await kernel.loadText(`
name: explicit
plugins: [tributary-plugin-uppercase]
bindings:
  north: { type: test, kind: server, exit: shout }
  shout: { type: uppercase, kind: proxy, exit: south }
  south: { type: test, kind: client }
`);
    expect(config.bindings['shout']?.type).toBe('uppercase');
    expect(kernel.registry.get('bindings', 'uppercase')?.plugin.name).toBe('tributary-plugin-uppercase');
  });

  it('names the package to install when a listed plugin is missing', async () => {
    const kernel = new Kernel({ appDir, discover: false });
    const error = await kernel
      .loadText(
        `
name: explicit
plugins: [tributary-plugin-nowhere]
bindings:
  north: { type: test, kind: server }
`,
      )
      .then(
        () => undefined,
        (e: unknown) => e as { code: string; message: string },
      );
    expect(error?.code).toBe('TRIB_PLUGIN_PACKAGE_MISSING');
    expect(error?.message).toContain('npm install');
  });
});
