/**
 * Finding packages the way the application would: from the application's directory, never
 * from wherever the kernel happens to be installed (a global CLI, a monorepo root, a second
 * copy in a plugin's own node_modules).
 *
 * @module
 */
import { realpathSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve, sep } from 'node:path';

/**
 * The nearest directory at or above `from` holding a `package.json`. `from` may be a file (a
 * configuration file, say). When no ancestor has one, `from` itself (or its directory) is
 * returned, so discovery simply finds nothing there.
 */
export function findAppDir(from: string): string {
  let start = resolve(from);
  if (isFile(start)) start = dirname(start);
  for (let dir = start; ;) {
    if (isFile(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return start;
    dir = parent;
  }
}

/**
 * The real path of `pkg`'s `package.json` as seen from `appDir`, or undefined when it is not
 * installed there.
 *
 * Node's own resolver is asked first (it knows about `NODE_PATH`, self-references and the
 * package's `./package.json` export); packages that do not export `./package.json` are found by
 * walking `node_modules` folders upwards, as Node would for the package directory itself.
 */
export function resolvePackageJson(pkg: string, appDir: string): string | undefined {
  if (!isPackageName(pkg)) return undefined;
  try {
    return createRequire(join(resolve(appDir), 'package.json')).resolve(`${pkg}/package.json`);
  } catch {
    // Not exported (or not installed): look for the folder itself.
  }
  for (let dir = resolve(appDir); ;) {
    const candidate = join(dir, 'node_modules', pkg, 'package.json');
    if (isFile(candidate)) return realpathSync(candidate);
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** True for names npm accepts as a dependency key (scoped or not), so paths cannot sneak in. */
export function isPackageName(name: string): boolean {
  return /^(?:@[a-z0-9][\w.~-]*\/)?[a-z0-9][\w.~-]*$/i.test(name) && !name.includes('..');
}

/**
 * The export conditions an ESM `import()` in this process matches: Node's defaults plus any
 * `--conditions` / `-C` given on the command line or in `NODE_OPTIONS` (this is how the
 * `@tributary/source` condition reaches workspace packages; vitest passes its configured
 * conditions to its workers the same way).
 */
export function importConditions(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string | undefined = process.env['NODE_OPTIONS'],
): ReadonlySet<string> {
  const conditions = new Set(['node', 'import', 'module-sync', 'default']);
  const args = [...execArgv, ...(nodeOptions ?? '').split(/\s+/).filter((arg) => arg !== '')];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const inline = /^(?:--conditions|-C)=(.+)$/.exec(arg);
    if (inline) conditions.add(unquote(inline[1]!));
    else if ((arg === '--conditions' || arg === '-C') && i + 1 < args.length)
      conditions.add(unquote(args[++i]!));
  }
  return conditions;
}

const unquote = (value: string): string => value.replace(/^(['"])(.*)\1$/, '$2');

/**
 * Resolves `subpath` (e.g. `./plugin`) through a package's `exports` field following Node's
 * ESM algorithm: exact keys before `*` patterns (longest prefix first), conditions in the
 * order the package lists them, arrays as fallbacks, `null` as "not exported". Returns the
 * absolute file path, or undefined when the package does not export the subpath under these
 * conditions. Targets that escape the package directory are refused.
 */
export function resolveExport(
  packageDir: string,
  exports: unknown,
  subpath: string,
  conditions: ReadonlySet<string>,
): string | undefined {
  const map = subpathMap(exports);
  if (!map) return undefined;
  if (Object.hasOwn(map, subpath) && !subpath.includes('*')) {
    return resolveTarget(packageDir, map[subpath], undefined, conditions);
  }
  let best: { key: string; match: string } | undefined;
  for (const key of Object.keys(map)) {
    const star = key.indexOf('*');
    if (star === -1 || key.indexOf('*', star + 1) !== -1) continue;
    const prefix = key.slice(0, star);
    const suffix = key.slice(star + 1);
    if (subpath.length < key.length || !subpath.startsWith(prefix) || !subpath.endsWith(suffix)) continue;
    if (!best || patternKeyCompare(best.key, key) > 0) {
      best = { key, match: subpath.slice(prefix.length, subpath.length - suffix.length) };
    }
  }
  return best ? resolveTarget(packageDir, map[best.key], best.match, conditions) : undefined;
}

/** Normalises the `exports` sugar forms to a subpath → target map. */
function subpathMap(exports: unknown): Readonly<Record<string, unknown>> | undefined {
  if (typeof exports === 'string' || Array.isArray(exports)) return { '.': exports };
  if (typeof exports !== 'object' || exports === null) return undefined;
  const keys = Object.keys(exports);
  if (keys.length > 0 && keys.every((key) => !key.startsWith('.'))) return { '.': exports };
  return exports as Readonly<Record<string, unknown>>;
}

/** Node's PATTERN_KEY_COMPARE: positive when `b` is the more specific pattern. */
function patternKeyCompare(a: string, b: string): number {
  const aBase = a.indexOf('*') + 1;
  const bBase = b.indexOf('*') + 1;
  if (aBase !== bBase) return bBase - aBase;
  return b.length - a.length;
}

function resolveTarget(
  packageDir: string,
  target: unknown,
  match: string | undefined,
  conditions: ReadonlySet<string>,
): string | undefined {
  if (typeof target === 'string') {
    if (!target.startsWith('./')) return undefined;
    const relative = match === undefined ? target : target.replaceAll('*', match);
    const root = resolve(packageDir);
    const file = resolve(root, relative);
    return file.startsWith(root + sep) ? file : undefined;
  }
  if (Array.isArray(target)) {
    for (const candidate of target as unknown[]) {
      const file = resolveTarget(packageDir, candidate, match, conditions);
      if (file !== undefined) return file;
    }
    return undefined;
  }
  if (typeof target === 'object' && target !== null) {
    for (const [condition, next] of Object.entries(target)) {
      if (condition !== 'default' && !conditions.has(condition)) continue;
      const file = resolveTarget(packageDir, next, match, conditions);
      if (file !== undefined) return file;
    }
  }
  return undefined;
}

export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
