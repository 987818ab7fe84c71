import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { PluginRegistry } from '@tributary/kernel';
import { createPlugin, main, ScaffoldError, type CreatedPlugin, type PluginKind } from '../create-plugin.ts';
import { discover, loadPlugins, validateManifest } from '../../packages/kernel/src/discovery/index.ts';

const KERNEL = fileURLToPath(new URL('../../packages/kernel', import.meta.url));

/** One package of each kind, scaffolded into `<root>/packages` of a scratch repository. */
const KINDS: readonly (readonly [PluginKind, string])[] = [
  ['binding', 'echo-proxy'],
  ['guard', 'static-token'],
  ['catalog', 'inline-list'],
  ['model', 'pass'],
];

let root: string;
const created = new Map<PluginKind, CreatedPlugin>();

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tributary-create-plugin-'));
  await mkdir(join(root, 'docs'));
  await writeFile(join(root, 'docs', 'errors.md'), '# Error codes\n\n## @tributary/kernel: plugins\n');
  // The generated tsconfig.json extends ../../tsconfig.base.json, as in this repository.
  await writeFile(
    join(root, 'tsconfig.base.json'),
    await readFile(join(KERNEL, '..', '..', 'tsconfig.base.json')),
  );
  for (const [kind, type] of KINDS)
    created.set(kind, await createPlugin({ kind, type, dir: join(root, 'packages') }));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

describe('create-plugin', () => {
  test('lays the package out as STYLE.md says, with a changeset', async () => {
    const binding = created.get('binding')!;
    expect(binding.pkg).toBe('@tributary/binding-echo-proxy');
    expect(binding.dir).toBe(join(root, 'packages', 'binding-echo-proxy'));
    expect(await files(binding.dir)).toEqual([
      'README.md',
      'package.json',
      'src/config/schema.ts',
      'src/errors.ts',
      'src/events.ts',
      'src/index.ts',
      'src/plugin.ts',
      'src/stream/echo-proxy-proxy.ts',
      'test/echo-proxy.test.ts',
      'tsconfig.build.json',
      'tsconfig.json',
    ]);
    expect(await files(join(created.get('guard')!.dir, 'src', 'stream'))).toEqual(['static-token-guard.ts']);
    expect(binding.files).toContain(join(root, '.changeset', 'add-binding-echo-proxy.md'));
    expect(await readFile(join(root, '.changeset', 'add-binding-echo-proxy.md'), 'utf8')).toMatch(
      /^---\n'@tributary\/binding-echo-proxy': minor\n---\n\nAdd @tributary\/binding-echo-proxy\. /,
    );
  });

  test('writes a package.json that is correct as published and copies the kernel tsconfig shapes', async () => {
    const dir = created.get('guard')!.dir;
    const json = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
    const kernel = JSON.parse(await readFile(join(KERNEL, 'package.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(json).toMatchObject({
      name: '@tributary/guard-static-token',
      type: 'module',
      exports: {
        '.': {
          '@tributary/source': './src/index.ts',
          types: './dist/index.d.ts',
          default: './dist/index.js',
        },
        './plugin': {
          '@tributary/source': './src/plugin.ts',
          types: './dist/plugin.d.ts',
          default: './dist/plugin.js',
        },
        './package.json': './package.json',
      },
      scripts: Object.fromEntries(
        Object.entries(kernel['scripts'] as Record<string, string>).map(([name, script]) => [
          name,
          script.replaceAll('packages/kernel', 'packages/guard-static-token'),
        ]),
      ),
      repository: { directory: 'packages/guard-static-token' },
      tributary: { spi: '^1.0.0', provides: { guards: ['static-token'] } },
      peerDependencies: { '@tributary/kernel': `^${String(kernel['version'])}` },
    });
    expect(Object.keys(json['exports'] as object)).toEqual(['.', './plugin', './package.json']);
    expect(await readFile(join(dir, 'tsconfig.json'), 'utf8')).toBe(
      await readFile(join(KERNEL, 'tsconfig.json'), 'utf8'),
    );
    expect(await readFile(join(dir, 'tsconfig.build.json'), 'utf8')).toBe(
      await readFile(join(KERNEL, 'tsconfig.build.json'), 'utf8'),
    );
  });

  test.each(KINDS)(
    'the %s manifest is valid and agrees with the plugin object discovery imports',
    async (kind, type) => {
      const { pkg, dir } = created.get(kind)!;
      const json = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { tributary: unknown };
      expect(validateManifest(pkg, json.tributary)).toEqual({
        manifest: { spi: '^1.0.0', provides: { [`${kind}s`]: [type] } },
      });

      // An application depending on the new package (and on the kernel, which the plugin imports).
      const app = await mkdtemp(join(root, `app-${kind}-`));
      await writeFile(
        join(app, 'package.json'),
        JSON.stringify({ name: 'app', private: true, dependencies: { [pkg]: '*' } }),
      );
      await mkdir(join(app, 'node_modules', '@tributary'), { recursive: true });
      await symlink(dir, join(app, 'node_modules', pkg), 'dir');
      await mkdir(join(root, 'node_modules', '@tributary'), { recursive: true });
      await symlink(KERNEL, join(root, 'node_modules', '@tributary', 'kernel'), 'dir').catch(() => undefined);

      const discovery = await discover(app);
      expect(discovery.problems).toEqual([]);
      expect(discovery.provider(`${kind}s`, type)).toMatchObject({ pkg, dir, spiCompatible: true });
      const registry = new PluginRegistry();
      const used = {
        bindings: new Map(),
        guards: new Map(),
        catalogs: new Map(),
        models: new Map(),
        vaults: new Map(),
      };
      used[`${kind}s`].set(type, [`/${kind}s/x/type`]);
      await expect(loadPlugins(discovery, used, registry)).resolves.toEqual({ issues: [] });
      expect(registry.get(`${kind}s`, type)?.plugin.name).toBe(pkg);
    },
  );

  test('documents the new error codes in docs/errors.md', async () => {
    const doc = await readFile(join(root, 'docs', 'errors.md'), 'utf8');
    expect(doc).toContain('\n## @tributary/binding-echo-proxy\n\n### TRIB_ECHO_PROXY_MESSAGE_TOO_LARGE\n');
    expect(doc).toContain('- **Message:** `message exceeds {limit} bytes`\n- **Status:** 413\n');
    expect(doc).toContain(
      '### TRIB_INLINE_LIST_DUPLICATE_ID\n\n- **Message:** `schema id {id} is listed more than once`\n- **Status:** none',
    );
    for (const [kind] of KINDS) expect(created.get(kind)!.errorsDoc).toBe(join(root, 'docs', 'errors.md'));
  });

  test('refuses to overwrite an existing package', async () => {
    const readme = join(created.get('model')!.dir, 'README.md');
    await writeFile(readme, 'edited by hand\n');
    await expect(createPlugin({ kind: 'model', type: 'pass', dir: join(root, 'packages') })).rejects.toThrow(
      /model-pass already exists; the scaffolder never overwrites/,
    );
    expect(await readFile(readme, 'utf8')).toBe('edited by hand\n');
  });

  test('refuses when only the changeset is left from an earlier run', async () => {
    await mkdir(join(root, '.changeset'), { recursive: true });
    await writeFile(join(root, '.changeset', 'add-guard-leftover.md'), 'kept\n');
    const error = await createPlugin({ kind: 'guard', type: 'leftover', dir: join(root, 'packages') }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ScaffoldError);
    expect(await readdir(join(root, 'packages'))).not.toContain('guard-leftover');
  });

  test('the command line checks its arguments', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      expect(await main(['widget', 'x', '--dir', join(root, 'packages')])).toBe(2);
      expect(await main(['binding', 'Bad_Name', '--dir', join(root, 'packages')])).toBe(2);
      expect(await main(['binding'])).toBe(2);
      expect(await main(['model', 'pass', '--dir', join(root, 'packages')])).toBe(1);
      expect(stderr.mock.calls.map((call) => String(call[0])).join('')).toContain(
        'must be lower-case words joined by "-"',
      );
      expect(await main(['catalog', 'cli-made', '--dir', join(root, 'packages')])).toBe(0);
      expect(stdout.mock.calls.map((call) => String(call[0])).join('')).toContain(
        'Created @tributary/catalog-cli-made',
      );
    } finally {
      stderr.mockRestore();
      stdout.mockRestore();
    }
  });
});
