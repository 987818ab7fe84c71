// Repository checks that CI runs as part of the test suite, so that they count in its report:
// the workspace type-checks, lints and is formatted, and every publishable package is correct
// as published (publint, are-the-types-wrong on the packed tarball).
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

function run(command: string, args: string[], cwd = root) {
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const publishable = readdirSync(join(root, 'packages'))
  .map((folder) => join(root, 'packages', folder))
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .filter(
    (dir) => !(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { private?: boolean }).private,
  );

describe('repository', () => {
  it('type-checks', { timeout: 180_000 }, () => {
    const { status, output } = run(bin('tsc'), ['-p', 'tsconfig.json']);
    expect(output).toBe('');
    expect(status).toBe(0);
  });

  it('lints clean', { timeout: 300_000 }, () => {
    const { status, output } = run(bin('eslint'), ['.', '--max-warnings=0']);
    expect(output).toBe('');
    expect(status).toBe(0);
  });

  it('is formatted', { timeout: 120_000 }, () => {
    const { status, output } = run(bin('prettier'), ['--check', '.', '--log-level=warn']);
    expect(output).toBe('');
    expect(status).toBe(0);
  });
});

/** Publishable packages, each after the workspace packages it depends on. */
function buildOrder(dirs: readonly string[]): string[] {
  const manifests = new Map(
    dirs.map((dir) => [
      (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string }).name,
      {
        dir,
        manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>,
      },
    ]),
  );
  const order: string[] = [];
  const visit = (name: string, seen = new Set<string>()) => {
    const entry = manifests.get(name);
    if (!entry || order.includes(entry.dir) || seen.has(name)) return;
    seen.add(name);
    for (const field of ['dependencies', 'peerDependencies', 'devDependencies']) {
      for (const dep of Object.keys((entry.manifest[field] as Record<string, string> | undefined) ?? {}))
        visit(dep, seen);
    }
    order.push(entry.dir);
  };
  for (const name of manifests.keys()) visit(name);
  return order;
}

describe('packages as published', () => {
  // Packages compile against their dependencies' published types, so build in dependency order.
  const built = new Map<string, string>();
  beforeAll(() => {
    for (const dir of buildOrder(publishable))
      built.set(dir, run(bin('tsc'), ['-p', 'tsconfig.build.json'], dir).output);
  }, 300_000);

  it.each(publishable.map((dir) => [dir.split('/').at(-1)!, dir]))(
    '%s builds, and passes publint and are-the-types-wrong',
    { timeout: 240_000 },
    (_name, dir) => {
      expect(built.get(dir)).toBe('');
      const publint = run(bin('publint'), ['--strict'], dir);
      expect(publint.output).not.toMatch(/error|warning/i);
      expect(publint.status).toBe(0);
      const attw = run(bin('attw'), ['--pack', '.', '--profile', 'esm-only', '--format', 'ascii'], dir);
      expect(attw.status, attw.output).toBe(0);
    },
  );
});
