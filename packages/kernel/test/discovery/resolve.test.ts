import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { importConditions, isPackageName, resolveExport } from '../../src/discovery/resolve.ts';
import { validateManifest } from '../../src/discovery/manifest.ts';

const DIR = '/pkg';
const node = new Set(['node', 'import', 'default']);
const source = new Set([...node, '@tributary/source']);

describe('resolveExport', () => {
  test('resolves exact subpaths through conditions in the order the package lists them', () => {
    const exports = {
      '.': './index.js',
      './plugin': {
        '@tributary/source': './src/plugin.ts',
        types: './dist/plugin.d.ts',
        default: './dist/plugin.js',
      },
    };
    expect(resolveExport(DIR, exports, './plugin', node)).toBe(join(DIR, 'dist/plugin.js'));
    expect(resolveExport(DIR, exports, './plugin', source)).toBe(join(DIR, 'src/plugin.ts'));
    expect(resolveExport(DIR, exports, './missing', node)).toBeUndefined();
  });

  test('prefers import over require, and skips conditions that are not active', () => {
    const exports = { './plugin': { require: './plugin.cjs', import: './plugin.mjs' } };
    expect(resolveExport(DIR, exports, './plugin', node)).toBe(join(DIR, 'plugin.mjs'));
    expect(resolveExport(DIR, { './plugin': { require: './plugin.cjs' } }, './plugin', node)).toBeUndefined();
  });

  test('matches * patterns, the most specific first', () => {
    const exports = { './*': './lib/*.js', './plugins/*': './special/*.js' };
    expect(resolveExport(DIR, exports, './plugins/x', node)).toBe(join(DIR, 'special/x.js'));
    expect(resolveExport(DIR, exports, './plugin', node)).toBe(join(DIR, 'lib/plugin.js'));
    // As in Node, a pattern never matches an empty `*`.
    expect(resolveExport(DIR, { './plugin*': './p*.js' }, './plugin', node)).toBeUndefined();
  });

  test('tries array targets in order and refuses targets outside the package', () => {
    expect(resolveExport(DIR, { './plugin': ['../escape.js', './ok.js'] }, './plugin', node)).toBe(
      join(DIR, 'ok.js'),
    );
    expect(resolveExport(DIR, { './plugin': './../../etc/passwd' }, './plugin', node)).toBeUndefined();
    expect(resolveExport(DIR, { './plugin': null }, './plugin', node)).toBeUndefined();
  });

  test('sugar forms export only the main entry', () => {
    expect(resolveExport(DIR, './index.js', './plugin', node)).toBeUndefined();
    expect(resolveExport(DIR, { import: './index.js' }, '.', node)).toBe(join(DIR, 'index.js'));
  });
});

describe('importConditions', () => {
  test("adds --conditions / -C from the command line and NODE_OPTIONS to Node's defaults", () => {
    expect([...importConditions([], undefined)]).toEqual(['node', 'import', 'module-sync', 'default']);
    const conditions = importConditions(
      ['--conditions=@tributary/source', '-C', 'development'],
      '--conditions "edge" --max-old-space-size=100',
    );
    expect(conditions.has('@tributary/source')).toBe(true);
    expect(conditions.has('development')).toBe(true);
    expect(conditions.has('edge')).toBe(true);
    expect(conditions.has('--max-old-space-size=100')).toBe(false);
  });
});

test('isPackageName accepts npm names and refuses paths', () => {
  expect(isPackageName('@tributary/binding-http')).toBe(true);
  expect(isPackageName('tributary-plugin-uppercase')).toBe(true);
  expect(isPackageName('../secrets')).toBe(false);
  expect(isPackageName('/abs')).toBe(false);
  expect(isPackageName('@scope/../x')).toBe(false);
});

describe('validateManifest', () => {
  test('accepts a manifest and drops nothing it understands', () => {
    expect(
      validateManifest('p', { spi: '^1.0.0', provides: { bindings: ['a', 'b'], vaults: [] }, future: true }),
    ).toEqual({
      manifest: { spi: '^1.0.0', provides: { bindings: ['a', 'b'], vaults: [] } },
    });
  });

  test.each([
    [null, 'expected an object'],
    [{ provides: {} }, '"spi" must be the semver range'],
    [{ spi: '', provides: {} }, '"spi" must be the semver range'],
    [{ spi: 'latest', provides: {} }, '"spi" is "latest", which is not a semver range'],
    [{ spi: '^1.0.0' }, '"provides" must be an object'],
    [{ spi: '^1.0.0', provides: { binding: ['x'] } }, '"provides.binding" is not a kind of plugin type'],
    [{ spi: '^1.0.0', provides: { bindings: [1] } }, '"provides.bindings" must be an array of type names'],
    [
      { spi: '^1.0.0', provides: { bindings: ['a b'] } },
      '"provides.bindings" must be an array of type names',
    ],
    [{ spi: '^1.0.0', provides: { guards: ['x', 'x'] } }, '"provides.guards" lists "x" more than once'],
  ])('refuses %j', (value, reason) => {
    const result = validateManifest('p', value);
    expect('problem' in result && result.problem.code).toBe('TRIB_PLUGIN_MANIFEST_INVALID');
    expect('problem' in result && result.problem.message).toContain(reason);
  });
});
