import { cp, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  describePlugins,
  discover,
  findAppDir,
  importPlugin,
  importPluginByName,
  loadPlugins,
  officialPackage,
  type Discovery,
  type InstalledPlugin,
  type UsedTypes,
} from '../../src/discovery/index.ts';
import { PluginRegistry } from '../../src/engine/registry.ts';
import { definePlugin, isPlugin, type ProvidedKind } from '../../src/spi/plugin.ts';
import { isTributaryError, type TributaryError } from '../../src/spi/errors.ts';
import type { BindingContext } from '../../src/spi/binding.ts';
import type { GuardConfig } from '../../src/spi/config.ts';
import type { PluginContext } from '../../src/spi/context.ts';
import type { DataFrame, Stream, StreamHandler } from '../../src/spi/stream.ts';

const APP = fileURLToPath(new URL('./fixtures/app', import.meta.url));

declare global {
  var tributaryFixtureImports: Set<string> | undefined;
  var tributaryFixtureSideEffect: boolean | undefined;
}

/** `used` as the config loader would build it: kind → type → use sites. */
function uses(entries: Partial<Record<ProvidedKind, Record<string, string[]>>>): UsedTypes {
  const map = (kind: ProvidedKind) => new Map(Object.entries(entries[kind] ?? {}));
  return {
    bindings: map('bindings'),
    guards: map('guards'),
    catalogs: map('catalogs'),
    models: map('models'),
    vaults: map('vaults'),
  };
}

async function failure(promise: Promise<unknown>): Promise<TributaryError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isTributaryError(error)) throw new Error(`expected a TributaryError, got ${String(error)}`);
  return error;
}

function installed(discovery: Discovery, pkg: string): InstalledPlugin {
  const found = discovery.installed.find((plugin) => plugin.pkg === pkg);
  if (!found) throw new Error(`${pkg} not discovered`);
  return found;
}

let discovery: Discovery;
beforeAll(async () => {
  discovery = await discover(APP);
});

describe('discover', () => {
  test('lists every dependency with a valid tributary field, from all dependency fields, without importing', () => {
    expect(discovery.appDir).toBe(APP);
    expect(discovery.installed.map((plugin) => plugin.pkg)).toEqual([
      '@fixture/scoped',
      'fixture-conditional',
      'fixture-future-spi',
      'fixture-import-only',
      'fixture-misnamed',
      'fixture-missing-dep',
      'fixture-no-pkg-export',
      'fixture-no-plugin-export',
      'fixture-object-spi',
      'fixture-old-spi',
      'fixture-side-effect',
      'fixture-throws',
      'fixture-twin-a',
      'fixture-twin-b', // a devDependency
      'fixture-unbranded',
      'fixture-valid', // also a peerDependency: listed once
      'fixture-wrong-types',
      'yaml',
    ]);
    expect(globalThis.tributaryFixtureImports ?? new Set()).toEqual(new Set());
  });

  test('records version, directory, manifest and SPI compatibility', () => {
    expect(installed(discovery, 'fixture-valid')).toEqual({
      pkg: 'fixture-valid',
      version: '1.2.3',
      dir: join(APP, 'node_modules', 'fixture-valid'),
      manifest: { spi: '^1.0.0', provides: { bindings: ['echo'], guards: ['allow-all'] } },
      spiCompatible: true,
    });
    expect(installed(discovery, 'fixture-future-spi').spiCompatible).toBe(false);
    expect(installed(discovery, 'fixture-old-spi').spiCompatible).toBe(false);
    expect(installed(discovery, '@fixture/scoped').spiCompatible).toBe(true);
  });

  test('ignores packages without a tributary field and dependencies that are not installed', () => {
    const names = discovery.installed.map((plugin) => plugin.pkg);
    expect(names).not.toContain('fixture-no-manifest');
    expect(names).not.toContain('fixture-not-installed');
    expect(discovery.provider('bindings', 'plain')).toBeUndefined();
  });

  test('finds packages that do not export ./package.json by walking node_modules', () => {
    expect(discovery.provider('bindings', 'hidden')?.pkg).toBe('fixture-no-pkg-export');
  });

  test('reports an invalid manifest with every reason, and leaves the package out', () => {
    const problem = discovery.problems.find((p) => p.code === 'TRIB_PLUGIN_MANIFEST_INVALID');
    expect(problem?.message).toBe(
      'package fixture-bad-manifest has an invalid "tributary" field: "spi" is "one point oh", which is not a semver range; ' +
        '"provides.bindings" must be an array of type names; ' +
        '"provides.widgets" is not a kind of plugin type (expected bindings, guards, catalogs, models, vaults)',
    );
    expect(discovery.installed.map((plugin) => plugin.pkg)).not.toContain('fixture-bad-manifest');
  });

  test('reports a type provided by two packages, naming both', () => {
    const problems = discovery.problems.filter((p) => p.code === 'TRIB_PLUGIN_DUPLICATE_TYPE');
    expect(problems.map((p) => p.message)).toEqual([
      'binding type "twin" is provided by both fixture-twin-a and fixture-twin-b',
    ]);
    expect(discovery.problems).toHaveLength(2);
  });

  test('resolves from the application directory, not from the kernel', async () => {
    // The kernel depends on the real `yaml`, which has no tributary field; the application's
    // node_modules holds a plugin of that name.
    expect(installed(discovery, 'yaml')).toMatchObject({
      version: '0.0.0-fixture',
      dir: join(APP, 'node_modules', 'yaml'),
      manifest: { provides: { bindings: ['shadow'] } },
    });
    // The same application anywhere else on disk finds the same plugins, in its own folder.
    const elsewhere = await mkdtemp(join(tmpdir(), 'tributary-discovery-'));
    try {
      await cp(APP, elsewhere, { recursive: true });
      const moved = await discover(elsewhere);
      expect(moved.installed.map((plugin) => plugin.pkg)).toEqual(
        discovery.installed.map((plugin) => plugin.pkg),
      );
      expect(moved.provider('bindings', 'shadow')?.dir).toBe(join(elsewhere, 'node_modules', 'yaml'));
      const registry = new PluginRegistry();
      await loadPlugins(moved, uses({ bindings: { shadow: ['/bindings/s/type'] } }), registry);
      expect(registry.get('bindings', 'shadow')?.plugin.name).toBe('yaml');
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });

  test('is cached per application directory until its package.json changes', async () => {
    expect(await discover(APP)).toBe(discovery);
    const [a, b] = await Promise.all([discover(APP), discover(APP)]);
    expect(a).toBe(b);
    const copy = await mkdtemp(join(tmpdir(), 'tributary-discovery-'));
    try {
      await cp(APP, copy, { recursive: true });
      const first = await discover(copy);
      const later = new Date(Date.now() + 5_000);
      await utimes(join(copy, 'package.json'), later, later);
      expect(await discover(copy)).not.toBe(first);
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });

  test('refuses an application package.json that is not JSON, and reads it again next time', async () => {
    const broken = await mkdtemp(join(tmpdir(), 'tributary-discovery-'));
    try {
      await writeFile(join(broken, 'package.json'), '{ "dependencies": ');
      const error = await failure(discover(broken));
      expect(error.code).toBe('TRIB_PLUGIN_PACKAGE_UNREADABLE');
      expect(error.message).toContain(join(broken, 'package.json'));
      await writeFile(join(broken, 'package.json'), '{ "dependencies": {} }');
      expect((await discover(broken)).installed).toEqual([]);
    } finally {
      await rm(broken, { recursive: true, force: true });
    }
  });

  test('finds nothing in a directory without package.json', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'tributary-discovery-'));
    try {
      const found = await discover(empty);
      expect(found.installed).toEqual([]);
      expect(found.problems).toEqual([]);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});

describe('loadPlugins', () => {
  test('imports a used plugin, registers its types, and its factories work', async () => {
    const registry = new PluginRegistry();
    const { issues } = await loadPlugins(
      discovery,
      uses({ bindings: { echo: ['/bindings/east/type'] }, guards: { 'allow-all': ['/guards/open/type'] } }),
      registry,
    );
    expect(issues).toEqual([]);
    expect(registry.all().map((plugin) => plugin.name)).toEqual(['fixture-valid']);
    const echo = registry.get('bindings', 'echo');
    expect(echo?.factory.kinds).toEqual(['client']);

    const handler = await echo!.factory.create({ name: 'east' } as BindingContext);
    const sent: string[] = [];
    const granted: number[] = [];
    const stream = {
      out: {
        begin: () => undefined,
        data: (payload: Uint8Array) => sent.push(Buffer.from(payload).toString()),
        end: () => undefined,
      },
      in: { window: (credit: number) => granted.push(credit) },
    } as unknown as Stream;
    const frames = handler.accept!(stream, undefined) as StreamHandler;
    const frame: DataFrame = {
      payload: Buffer.from('ping'),
      ext: undefined,
      first: true,
      last: true,
      credit: 4,
    };
    frames.onData!(frame);
    expect(sent).toEqual(['ping']);
    expect(granted).toEqual([65536, 4]);

    const guard = await registry
      .get('guards', 'allow-all')!
      .factory.create({} as PluginContext, { name: 'open', type: 'allow-all', options: {} } as GuardConfig);
    await expect(guard.authorize('anything')).resolves.toMatchObject({
      ok: true,
      session: { guard: 'open' },
    });
  });

  test('imports only the providers of used types, each once', async () => {
    globalThis.tributaryFixtureSideEffect = undefined;
    const registry = new PluginRegistry();
    await loadPlugins(
      discovery,
      uses({
        bindings: { echo: ['/bindings/a/type', '/bindings/b/type'], hidden: ['/bindings/c/type'] },
        guards: { scoped: ['/guards/g/type'] },
      }),
      registry,
    );
    expect(globalThis.tributaryFixtureSideEffect).toBeUndefined();
    // `yaml` was imported from a copy of the application by an earlier test.
    expect([...(globalThis.tributaryFixtureImports ?? [])].sort()).toEqual([
      '@fixture/scoped',
      'fixture-no-pkg-export',
      'fixture-valid',
      'yaml',
    ]);
    expect(registry.all().map((plugin) => plugin.name)).toEqual([
      '@fixture/scoped',
      'fixture-no-pkg-export',
      'fixture-valid',
    ]);

    await loadPlugins(discovery, uses({ bindings: { 'side-effect': ['/bindings/s/type'] } }), registry);
    expect(globalThis.tributaryFixtureSideEffect).toBe(true);
  });

  test('leaves types that are already registered alone', async () => {
    const registry = new PluginRegistry();
    const own = definePlugin({
      name: 'embedded',
      spi: '^1.0.0',
      bindings: { twin: { kinds: ['client'], create: () => ({}) } },
    });
    registry.add(own);
    await loadPlugins(discovery, uses({ bindings: { twin: ['/bindings/t/type'] } }), registry);
    expect(registry.get('bindings', 'twin')?.plugin).toBe(own);
  });

  test('an official type that is not installed names the package to install, per use site', async () => {
    const { issues } = await loadPlugins(
      discovery,
      uses({
        bindings: { 'http-kafka': ['/bindings/north/type', '/bindings/south/type'] },
        models: { avro: ['/bindings/x/options/value/model'] },
      }),
      new PluginRegistry(),
    );
    expect(issues).toEqual([
      {
        code: 'TRIB_PLUGIN_NOT_INSTALLED',
        message:
          'binding type "http-kafka" is provided by @tributary/binding-http-kafka, which is not installed: run `npm install @tributary/binding-http-kafka`',
        pointer: '/bindings/north/type',
      },
      expect.objectContaining({ code: 'TRIB_PLUGIN_NOT_INSTALLED', pointer: '/bindings/south/type' }),
      expect.objectContaining({
        code: 'TRIB_PLUGIN_NOT_INSTALLED',
        message: expect.stringContaining('run `npm install @tributary/model-avro`') as unknown,
        pointer: '/bindings/x/options/value/model',
      }),
    ]);
  });

  test('a type no installed package declares is unknown, even when a package without manifest exports it', async () => {
    const { issues } = await loadPlugins(
      discovery,
      uses({ bindings: { plain: ['/bindings/p/type'] } }),
      new PluginRegistry(),
    );
    expect(issues).toEqual([
      {
        code: 'TRIB_CONFIG_UNKNOWN_TYPE',
        message: expect.stringMatching(
          /^no installed plugin provides binding type "plain" \(installed binding types: alpha, echo, .*\)$/,
        ) as unknown,
        pointer: '/bindings/p/type',
      },
    ]);
    expect(globalThis.tributaryFixtureImports?.has('fixture-no-manifest')).toBe(false);
  });

  test('an unknown type close to a known one gets a suggestion', async () => {
    const { issues } = await loadPlugins(
      discovery,
      uses({ bindings: { ecoh: ['/bindings/e/type'] } }),
      new PluginRegistry(),
    );
    expect(issues[0]?.message).toMatch(
      /^no installed plugin provides binding type "ecoh"; did you mean "echo"\?/,
    );
  });

  test('a used type provided by two packages is refused, naming both', async () => {
    const error = await failure(
      loadPlugins(discovery, uses({ bindings: { twin: ['/bindings/t/type'] } }), new PluginRegistry()),
    );
    expect(error.code).toBe('TRIB_PLUGIN_DUPLICATE_TYPE');
    expect(error.message).toBe('binding type "twin" is provided by both fixture-twin-a and fixture-twin-b');
  });

  test('a manifest SPI range the kernel does not implement is refused before importing', async () => {
    const error = await failure(
      loadPlugins(discovery, uses({ bindings: { future: ['/bindings/f/type'] } }), new PluginRegistry()),
    );
    expect(error.code).toBe('TRIB_PLUGIN_SPI_MISMATCH');
    expect(error.message).toMatch(
      /^plugin fixture-future-spi supports SPI \^2\.0\.0, but this kernel implements SPI 1\.1\.0: fixture-future-spi@3\.0\.0 needs a newer kernel than @tributary\/kernel@\S+: upgrade @tributary\/kernel/,
    );
    expect(globalThis.tributaryFixtureImports?.has('fixture-future-spi')).toBe(false);

    const old = await failure(
      loadPlugins(discovery, uses({ bindings: { old: ['/bindings/o/type'] } }), new PluginRegistry()),
    );
    expect(old.message).toContain('fixture-old-spi@0.9.0 was built for an older SPI');
    expect(old.message).toContain('upgrade fixture-old-spi to a version that supports SPI 1.1.0');
  });
});

describe('importPlugin', () => {
  test('a plugin that throws on import fails to load, with the error as cause and in the message', async () => {
    const error = await failure(importPlugin(installed(discovery, 'fixture-throws'), APP));
    expect(error.code).toBe('TRIB_PLUGIN_LOAD_FAILED');
    expect(error.message).toBe(
      'plugin fixture-throws failed to load: RangeError: fixture exploded while initialising',
    );
    expect(error.cause).toBeInstanceOf(RangeError);
  });

  test('a plugin whose dependency is missing fails to load, naming the missing module', async () => {
    const error = await failure(importPlugin(installed(discovery, 'fixture-missing-dep'), APP));
    expect(error.code).toBe('TRIB_PLUGIN_LOAD_FAILED');
    expect(error.message).toMatch(
      /^plugin fixture-missing-dep failed to load: a module it imports, "fixture-absent-dependency", cannot be found/,
    );
    expect((error.cause as { code?: string }).code).toBe('ERR_MODULE_NOT_FOUND');
  });

  test('an export without the brand is not a plugin', async () => {
    const error = await failure(importPlugin(installed(discovery, 'fixture-unbranded'), APP));
    expect(error.code).toBe('TRIB_PLUGIN_INVALID');
    expect(error.message).toContain("lacks the Symbol.for('tributary.plugin') brand");
  });

  test("a plugin object whose SPI range excludes the kernel's is refused", async () => {
    const error = await failure(importPlugin(installed(discovery, 'fixture-object-spi'), APP));
    expect(error.code).toBe('TRIB_PLUGIN_SPI_MISMATCH');
    expect(error.message).toContain('supports SPI ^2.0.0, but this kernel implements SPI 1.1.0');
  });

  test('a plugin object providing other types than its manifest declares is invalid', async () => {
    const error = await failure(importPlugin(installed(discovery, 'fixture-wrong-types'), APP));
    expect(error.code).toBe('TRIB_PLUGIN_INVALID');
    expect(error.message).toContain('bindings: manifest ["alpha"], plugin ["beta"]');
  });

  test('a plugin object named after another package is invalid', async () => {
    const error = await failure(importPlugin(installed(discovery, 'fixture-misnamed'), APP));
    expect(error.code).toBe('TRIB_PLUGIN_INVALID');
    expect(error.message).toContain('named "some-other-package"');
  });

  test('a package without a ./plugin export is invalid', async () => {
    const error = await failure(importPlugin(installed(discovery, 'fixture-no-plugin-export'), APP));
    expect(error.code).toBe('TRIB_PLUGIN_INVALID');
    expect(error.message).toContain('has no "./plugin" entry');
  });

  test('resolves ./plugin with ESM conditions, including the ones the process runs with', async () => {
    expect(isPlugin(await importPlugin(installed(discovery, 'fixture-import-only'), APP))).toBe(true);
    // vitest passes `--conditions @tributary/source` to its workers, as `npm run tributary` does.
    expect((await importPlugin(installed(discovery, 'fixture-conditional'), APP)).name).toBe(
      'fixture-conditional',
    );
  });

  test('a default export is accepted, and concurrent imports share one module', async () => {
    const scoped = installed(discovery, '@fixture/scoped');
    const [a, b] = await Promise.all([importPlugin(scoped, APP), importPlugin(scoped, APP)]);
    expect(a).toBe(b);
    expect(a.name).toBe('@fixture/scoped');
  });
});

describe('importPluginByName', () => {
  test('imports a plugin listed explicitly', async () => {
    expect((await importPluginByName('fixture-valid', APP)).name).toBe('fixture-valid');
  });

  test('says which package to install when it is missing', async () => {
    const error = await failure(importPluginByName('fixture-not-installed', APP));
    expect(error.code).toBe('TRIB_PLUGIN_PACKAGE_MISSING');
    expect(error.message).toBe(
      `plugin package fixture-not-installed is not installed in ${APP}: run \`npm install fixture-not-installed\` there`,
    );
  });

  test('refuses packages without or with an invalid manifest', async () => {
    expect((await failure(importPluginByName('fixture-no-manifest', APP))).code).toBe('TRIB_PLUGIN_INVALID');
    expect((await failure(importPluginByName('fixture-bad-manifest', APP))).code).toBe(
      'TRIB_PLUGIN_MANIFEST_INVALID',
    );
  });
});

describe('describePlugins', () => {
  test('lists packages, versions, SPI ranges, compatibility and types by kind, then problems', () => {
    const text = describePlugins(discovery);
    const lines = text.split('\n');
    expect(lines[0]).toBe(`Plugins installed in ${APP} (kernel SPI 1.1.0)`);
    expect(lines[2]).toMatch(/^PACKAGE +VERSION +SPI +OK +KIND +TYPES$/);
    expect(text).toMatch(/\n@fixture\/scoped +2\.0\.0 +>=1\.0\.0 <2 +✓ +guards +scoped\n/);
    expect(text).toMatch(/\nfixture-valid +1\.2\.3 +\^1\.0\.0 +✓ +bindings +echo\n +guards +allow-all\n/);
    expect(text).toMatch(/\nfixture-future-spi +3\.0\.0 +\^2\.0\.0 +✗ +bindings +future\n/);
    expect(text).toContain('✗ 2 plugins do not support SPI 1.1.0');
    expect(text).toContain('Problems:\n  TRIB_PLUGIN_MANIFEST_INVALID  package fixture-bad-manifest');
    expect(text).toContain(
      '  TRIB_PLUGIN_DUPLICATE_TYPE  binding type "twin" is provided by both fixture-twin-a and fixture-twin-b',
    );
    // Columns line up: the KIND column starts at the same offset on every table row.
    const table = lines.slice(2, lines.indexOf('', 3));
    const offsets = new Set(
      table.map((line) => [...line].length - [...line.replace(/^.*?(bindings|guards|KIND)/, '$1')].length),
    );
    expect(offsets.size).toBe(1);
    expect(lines.every((line) => line === line.trimEnd())).toBe(true);
  });

  test('says so when nothing is installed', () => {
    const text = describePlugins({
      appDir: '/srv/app',
      installed: [],
      problems: [],
      provider: () => undefined,
    });
    expect(text).toContain('No dependency declares a "tributary" field');
  });
});

describe('helpers', () => {
  test('officialPackage follows the @tributary/<kind>-<type> naming rule', () => {
    expect(officialPackage('bindings', 'http-kafka')).toBe('@tributary/binding-http-kafka');
    expect(officialPackage('guards', 'jwt')).toBe('@tributary/guard-jwt');
    expect(officialPackage('catalogs', 'schema-registry')).toBe('@tributary/catalog-schema-registry');
    expect(officialPackage('models', 'avro')).toBe('@tributary/model-avro');
    expect(officialPackage('vaults', 'aws')).toBe('@tributary/vault-aws');
  });

  test('findAppDir walks up to the nearest package.json', () => {
    expect(findAppDir(join(APP, 'node_modules', 'fixture-conditional', 'src'))).toBe(
      join(APP, 'node_modules', 'fixture-conditional'),
    );
    expect(findAppDir(join(APP, 'package.json'))).toBe(APP);
    expect(findAppDir(join(APP, 'config', 'missing-dir'))).toBe(APP);
    expect(findAppDir(resolve('/'))).toBe(resolve('/'));
  });
});

afterAll(() => {
  globalThis.tributaryFixtureSideEffect = undefined;
});
