/**
 * Discovery: which plugin packages an application has installed, read from `package.json`
 * files only. Nothing is imported here.
 *
 * @module
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { PROVIDED_KINDS, type PluginManifest, type ProvidedKind } from '../spi/plugin.ts';
import type { TributaryError } from '../spi/errors.ts';
import { SPI_VERSION } from '../spi/version.ts';
import { errors } from '../errors.ts';
import { singular } from '../engine/registry.ts';
import { spiSatisfies, validateManifest } from './manifest.ts';
import { resolvePackageJson } from './resolve.ts';

/** One dependency of the application whose `package.json` has a valid `tributary` field. */
export interface InstalledPlugin {
  /** The package name, as the application depends on it (and imports it). */
  readonly pkg: string;
  /** The installed version, from its `package.json`. */
  readonly version: string;
  /** The package's directory (real path). */
  readonly dir: string;
  /** The validated `tributary` field. */
  readonly manifest: PluginManifest;
  /** True when this kernel's `SPI_VERSION` satisfies `manifest.spi`. */
  readonly spiCompatible: boolean;
}

/** What an application has installed, as found by {@link discover}. */
export interface Discovery {
  /** The directory whose `package.json` was read. */
  readonly appDir: string;
  /** Every dependency with a valid `tributary` field, sorted by package name. */
  readonly installed: readonly InstalledPlugin[];
  /**
   * Packages that cannot be used as they are: invalid manifests (`TRIB_PLUGIN_MANIFEST_INVALID`),
   * unreadable `package.json` files (`TRIB_PLUGIN_PACKAGE_UNREADABLE`) and types provided by more
   * than one package (`TRIB_PLUGIN_DUPLICATE_TYPE`). Reported, not thrown: a problem only stops
   * the gateway when the configuration uses what it concerns.
   */
  readonly problems: readonly TributaryError[];
  /**
   * The installed package whose manifest provides `type` of `kind`; the first by name when
   * several do (see `problems`).
   */
  provider(kind: ProvidedKind, type: string): InstalledPlugin | undefined;
}

/** The dependency fields read, in order. */
const DEPENDENCY_FIELDS = [
  'dependencies',
  'optionalDependencies',
  'devDependencies',
  'peerDependencies',
] as const;

interface CacheEntry {
  readonly stamp: string;
  readonly discovery: Promise<Discovery>;
}

/**
 * Discovery results by application directory. An entry is reused while the application's
 * `package.json` is unchanged (same mtime and size), so repeated loads and concurrent callers
 * share one scan, while an `npm install` followed by a reload is seen.
 */
const cache = new Map<string, CacheEntry>();

/**
 * Reads the dependencies of the application at `appDir` (`dependencies`,
 * `optionalDependencies`, `devDependencies`, `peerDependencies`), resolves each one's
 * `package.json` from `appDir`, and keeps those with a `tributary` field. Packages without the
 * field are ignored; dependencies that are not installed are skipped (a configuration using
 * their types gets "not installed"). Imports nothing.
 *
 * Throws `TRIB_PLUGIN_PACKAGE_UNREADABLE` only when the application's own `package.json` exists
 * but cannot be parsed; a directory without one yields an empty discovery.
 */
export async function discover(appDir: string): Promise<Discovery> {
  const dir = resolve(appDir);
  const file = join(dir, 'package.json');
  const stamp = await stat(file).then(
    (s) => `${s.mtimeMs}:${s.size}`,
    () => 'missing',
  );
  const cached = cache.get(dir);
  if (cached?.stamp === stamp) return cached.discovery;
  const discovery = scan(dir, file, stamp);
  cache.set(dir, { stamp, discovery });
  // A failed scan is not remembered: the next call reads again.
  discovery.catch(() => {
    if (cache.get(dir)?.discovery === discovery) cache.delete(dir);
  });
  return discovery;
}

async function scan(appDir: string, file: string, stamp: string): Promise<Discovery> {
  if (stamp === 'missing') return new DiscoveryResult(appDir, [], []);
  const app = await readPackageJson(file);
  if (!app.ok) throw errors.TRIB_PLUGIN_PACKAGE_UNREADABLE({ file, reason: app.reason });

  const names = new Set<string>();
  for (const field of DEPENDENCY_FIELDS) {
    const deps = app.json[field];
    if (typeof deps === 'object' && deps !== null) for (const name of Object.keys(deps)) names.add(name);
  }

  // Resolved concurrently, reported in name order.
  const found = await Promise.all(
    [...names].sort().map(async (pkg): Promise<{ plugin?: InstalledPlugin; problems: TributaryError[] }> => {
      const problems: TributaryError[] = [];
      const packageJson = resolvePackageJson(pkg, appDir);
      if (packageJson === undefined) return { problems };
      const read = await readPackageJson(packageJson);
      if (!read.ok) {
        problems.push(errors.TRIB_PLUGIN_PACKAGE_UNREADABLE({ file: packageJson, reason: read.reason }));
        return { problems };
      }
      const plugin = installedPlugin(pkg, dirname(packageJson), read.json, problems);
      return plugin ? { plugin, problems } : { problems };
    }),
  );
  const installed = found.flatMap((entry) => (entry.plugin ? [entry.plugin] : []));
  const problems = found.flatMap((entry) => entry.problems);
  problems.push(...duplicates(installed));
  return new DiscoveryResult(appDir, installed, problems);
}

/**
 * Builds the record for one package from its parsed `package.json`; undefined (and a problem)
 * when its manifest is invalid, undefined alone when it has none.
 */
export function installedPlugin(
  pkg: string,
  dir: string,
  json: Readonly<Record<string, unknown>>,
  problems: TributaryError[],
): InstalledPlugin | undefined {
  if (json['tributary'] === undefined) return undefined;
  const checked = validateManifest(pkg, json['tributary']);
  if ('problem' in checked) {
    problems.push(checked.problem);
    return undefined;
  }
  const version = typeof json['version'] === 'string' ? json['version'] : '0.0.0';
  return Object.freeze({
    pkg,
    version,
    dir,
    manifest: checked.manifest,
    spiCompatible: spiSatisfies(SPI_VERSION, checked.manifest.spi),
  });
}

/** One `TRIB_PLUGIN_DUPLICATE_TYPE` per package that provides a type an earlier one does. */
function duplicates(installed: readonly InstalledPlugin[]): TributaryError[] {
  const problems: TributaryError[] = [];
  for (const kind of PROVIDED_KINDS) {
    const first = new Map<string, string>();
    for (const plugin of installed) {
      for (const type of plugin.manifest.provides[kind] ?? []) {
        const earlier = first.get(type);
        if (earlier === undefined) first.set(type, plugin.pkg);
        else {
          problems.push(
            errors.TRIB_PLUGIN_DUPLICATE_TYPE({
              what: singular(kind),
              type,
              first: earlier,
              second: plugin.pkg,
            }),
          );
        }
      }
    }
  }
  return problems;
}

/** Every installed package whose manifest provides `type` of `kind`, in discovery order. */
export function providersOf(discovery: Discovery, kind: ProvidedKind, type: string): InstalledPlugin[] {
  return discovery.installed.filter((plugin) => plugin.manifest.provides[kind]?.includes(type) === true);
}

class DiscoveryResult implements Discovery {
  readonly appDir: string;
  readonly installed: readonly InstalledPlugin[];
  readonly problems: readonly TributaryError[];

  constructor(appDir: string, installed: readonly InstalledPlugin[], problems: readonly TributaryError[]) {
    this.appDir = appDir;
    this.installed = Object.freeze([...installed]);
    this.problems = Object.freeze([...problems]);
  }

  provider(kind: ProvidedKind, type: string): InstalledPlugin | undefined {
    return providersOf(this, kind, type)[0];
  }
}

export type PackageJsonRead =
  | { readonly ok: true; readonly json: Readonly<Record<string, unknown>> }
  | { readonly ok: false; readonly reason: string };

export async function readPackageJson(file: string): Promise<PackageJsonRead> {
  try {
    const json: unknown = JSON.parse(await readFile(file, 'utf8'));
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      return { ok: false, reason: 'it does not hold a JSON object' };
    }
    return { ok: true, json: json as Record<string, unknown> };
  } catch (cause) {
    return { ok: false, reason: cause instanceof Error ? cause.message : String(cause) };
  }
}
