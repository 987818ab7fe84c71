/**
 * Loading: importing the plugins a configuration uses, checking them, and registering them.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ConfigIssue } from '../spi/config.ts';
import { isPlugin, PROVIDED_KINDS, type Plugin, type ProvidedKind } from '../spi/plugin.ts';
import { isTributaryError } from '../spi/errors.ts';
import { SPI_VERSION } from '../spi/version.ts';
import { errors } from '../errors.ts';
import { singular, type PluginRegistry } from '../engine/registry.ts';
import {
  installedPlugin,
  providersOf,
  readPackageJson,
  type Discovery,
  type InstalledPlugin,
} from './discover.ts';
import { quoteList, spiAdvice, spiSatisfies } from './manifest.ts';
import { officialProvider, officialTypes } from './official.ts';
import { importConditions, isFile, resolveExport, resolvePackageJson } from './resolve.ts';

/** Per kind, the types a configuration uses, each with the JSON pointers of its use sites. */
export type UsedTypes = { readonly [K in ProvidedKind]: ReadonlyMap<string, readonly string[]> };

/**
 * Imports in progress or done, by plugin directory: a plugin module is imported and checked once
 * per process however many kernels or reloads ask for it. Failures are forgotten so that a
 * reload after fixing the installation tries again.
 */
const imports = new Map<string, Promise<Plugin>>();

/**
 * Imports an installed plugin's `./plugin` module (resolved from its package with the export
 * conditions this process runs with, e.g. `@tributary/source`) and checks it:
 *
 * - the manifest's and the plugin object's SPI ranges include `SPI_VERSION`, else
 *   `TRIB_PLUGIN_SPI_MISMATCH` (checked before importing, for the manifest);
 * - the module evaluates, else `TRIB_PLUGIN_LOAD_FAILED` with the error as `cause` (a missing
 *   dependency of the plugin is named);
 * - it exports `plugin` (or a default) carrying the `Symbol.for('tributary.plugin')` brand,
 *   named like its package and providing exactly the types its manifest declares, else
 *   `TRIB_PLUGIN_INVALID`.
 */
export function importPlugin(installed: InstalledPlugin, appDir: string): Promise<Plugin> {
  const key = installed.dir;
  let pending = imports.get(key);
  if (!pending) {
    pending = load(installed, appDir);
    imports.set(key, pending);
    const settled = pending;
    settled.catch(() => {
      if (imports.get(key) === settled) imports.delete(key);
    });
  }
  return pending;
}

/**
 * Imports a plugin named explicitly (a configuration's `plugins:` list) rather than found by
 * discovery: its `package.json` is resolved from `appDir` and must carry a valid manifest.
 * Throws `TRIB_PLUGIN_PACKAGE_MISSING` when it is not installed, otherwise as
 * {@link importPlugin}.
 */
export async function importPluginByName(pkg: string, appDir: string): Promise<Plugin> {
  const packageJson = resolvePackageJson(pkg, appDir);
  if (packageJson === undefined) throw errors.TRIB_PLUGIN_PACKAGE_MISSING({ pkg, dir: appDir });
  const read = await readPackageJson(packageJson);
  if (!read.ok) throw errors.TRIB_PLUGIN_PACKAGE_UNREADABLE({ file: packageJson, reason: read.reason });
  if (read.json['tributary'] === undefined) {
    throw errors.TRIB_PLUGIN_INVALID({
      pkg,
      reason: `its package.json has no "tributary" field (expected { "spi": "^${SPI_VERSION}", "provides": { … } })`,
    });
  }
  const problems: Parameters<typeof installedPlugin>[3] = [];
  const installed = installedPlugin(pkg, join(packageJson, '..'), read.json, problems);
  if (!installed)
    throw problems[0] ?? errors.TRIB_PLUGIN_INVALID({ pkg, reason: 'its manifest is unusable' });
  return importPlugin(installed, appDir);
}

/**
 * Makes the types a configuration uses available in `registry`.
 *
 * Types already registered (the kernel's own, `kernel.use()`) are left alone. For every other
 * used type the installed provider is found; a type nobody provides yields one issue per use
 * site — `TRIB_PLUGIN_NOT_INSTALLED` naming the package to `npm install` when an official
 * package provides it, `TRIB_CONFIG_UNKNOWN_TYPE` otherwise (`pointer` is the use site; file,
 * line and column are the caller's to fill in). Only the providers of used types are imported,
 * each once, concurrently, and added to the registry in package-name order.
 *
 * Throws (never returns as issues) what stops a plugin from loading: a used type provided by
 * two packages (`TRIB_PLUGIN_DUPLICATE_TYPE`), an SPI mismatch, a load failure, an invalid
 * plugin. When several providers fail, the first by package name is thrown.
 */
export async function loadPlugins(
  discovery: Discovery,
  used: UsedTypes,
  registry: PluginRegistry,
): Promise<{ issues: ConfigIssue[] }> {
  const issues: ConfigIssue[] = [];
  const needed = new Map<string, InstalledPlugin>();
  for (const kind of PROVIDED_KINDS) {
    for (const [type, pointers] of used[kind]) {
      if (registry.get(kind, type)) continue;
      const providers = providersOf(discovery, kind, type);
      const [provider, other] = providers;
      if (!provider) {
        for (const pointer of pointers)
          issues.push(missingTypeIssue(discovery, registry, kind, type, pointer));
        continue;
      }
      if (other) {
        throw errors.TRIB_PLUGIN_DUPLICATE_TYPE({
          what: singular(kind),
          type,
          first: provider.pkg,
          second: other.pkg,
        });
      }
      needed.set(provider.pkg, provider);
    }
  }

  const providers = [...needed.values()].sort((a, b) => (a.pkg < b.pkg ? -1 : a.pkg > b.pkg ? 1 : 0));
  for (const provider of providers) {
    if (!provider.spiCompatible) throw spiMismatch(provider, provider.manifest.spi);
  }
  const settled = await Promise.allSettled(
    providers.map((provider) => importPlugin(provider, discovery.appDir)),
  );
  const plugins: Plugin[] = [];
  for (const result of settled) {
    if (result.status === 'rejected') throw result.reason;
    plugins.push(result.value);
  }
  for (const plugin of plugins) registry.add(plugin);
  return { issues };
}

function missingTypeIssue(
  discovery: Discovery,
  registry: PluginRegistry,
  kind: ProvidedKind,
  type: string,
  pointer: string,
): ConfigIssue {
  const what = singular(kind);
  const pkg = officialProvider(kind, type);
  if (pkg !== undefined) {
    const error = errors.TRIB_PLUGIN_NOT_INSTALLED({ what, type, pkg });
    return { code: error.code, message: error.message, pointer };
  }
  const available = [
    ...new Set([
      ...registry.types(kind).map((registered) => registered.type),
      ...discovery.installed.flatMap((plugin) => plugin.manifest.provides[kind] ?? []),
    ]),
  ].sort();
  const suggestion = closest(type, [...available, ...officialTypes(kind)]);
  const hints: string[] = [];
  if (suggestion !== undefined) hints.push(`; did you mean "${suggestion}"?`);
  hints.push(
    available.length > 0
      ? ` (installed ${what} types: ${available.join(', ')})`
      : ` (no ${what} types are installed in ${discovery.appDir})`,
  );
  const error = errors.TRIB_CONFIG_UNKNOWN_TYPE({ what, type, hint: hints.join('') });
  return { code: error.code, message: error.message, pointer };
}

/** The candidate within edit distance 2 of `word` (the nearest, then the first), if any. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    if (candidate === word) continue;
    const distance = editDistance(word, candidate);
    if (distance <= 2 && (!best || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}

async function load(installed: InstalledPlugin, appDir: string): Promise<Plugin> {
  const { pkg } = installed;
  if (!spiSatisfies(SPI_VERSION, installed.manifest.spi))
    throw spiMismatch(installed, installed.manifest.spi);

  const file = await pluginFile(installed, appDir);
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (cause) {
    throw errors.TRIB_PLUGIN_LOAD_FAILED({ pkg, reason: describeCause(pkg, cause) }, { cause });
  }

  const plugin = [
    module['plugin'],
    module['default'],
    (module['default'] as { plugin?: unknown } | undefined)?.plugin,
  ].find(isPlugin);
  if (!plugin) {
    const exported = module['plugin'] ?? module['default'];
    throw errors.TRIB_PLUGIN_INVALID({
      pkg,
      reason:
        exported === undefined
          ? `${file} exports neither "plugin" nor a default; export the object made by definePlugin() from @tributary/kernel`
          : `the object ${file} exports lacks the Symbol.for('tributary.plugin') brand; create it with definePlugin() from @tributary/kernel`,
    });
  }

  if (typeof plugin.spi !== 'string' || !spiSatisfies(SPI_VERSION, plugin.spi)) {
    throw spiMismatch(installed, String(plugin.spi));
  }
  const packageName = await declaredName(installed);
  if (plugin.name !== packageName) {
    throw errors.TRIB_PLUGIN_INVALID({
      pkg,
      reason: `its plugin object is named "${plugin.name}", not after its package ("${packageName}")`,
    });
  }
  const disagreements: string[] = [];
  for (const kind of PROVIDED_KINDS) {
    const declared = [...(installed.manifest.provides[kind] ?? [])].sort();
    const actual = Object.keys(plugin[kind] ?? {}).sort();
    if (declared.join('\0') !== actual.join('\0')) {
      disagreements.push(`${kind}: manifest [${quoteList(declared)}], plugin [${quoteList(actual)}]`);
    }
  }
  if (disagreements.length > 0) {
    throw errors.TRIB_PLUGIN_INVALID({
      pkg,
      reason: `the types its plugin object provides differ from its package.json "tributary.provides" (${disagreements.join('; ')})`,
    });
  }
  return plugin;
}

/** The file `<pkg>/plugin` resolves to, as an ESM import from the application would see it. */
async function pluginFile(installed: InstalledPlugin, appDir: string): Promise<string> {
  const { pkg, dir } = installed;
  const read = await readPackageJson(join(dir, 'package.json'));
  if (!read.ok)
    throw errors.TRIB_PLUGIN_PACKAGE_UNREADABLE({ file: join(dir, 'package.json'), reason: read.reason });
  let file: string | undefined;
  if (read.json['exports'] !== undefined) {
    const conditions = importConditions();
    file = resolveExport(dir, read.json['exports'], './plugin', conditions);
    if (file === undefined) {
      throw errors.TRIB_PLUGIN_INVALID({
        pkg,
        reason: `its package.json "exports" has no "./plugin" entry for the conditions ${[...conditions].join(', ')}`,
      });
    }
  } else {
    try {
      file = createRequire(join(appDir, 'package.json')).resolve(`${pkg}/plugin`);
    } catch {
      throw errors.TRIB_PLUGIN_INVALID({
        pkg,
        reason: 'it has no "./plugin" module (add "exports": { "./plugin": … })',
      });
    }
  }
  if (!isFile(file)) {
    throw errors.TRIB_PLUGIN_LOAD_FAILED({
      pkg,
      reason: `"${pkg}/plugin" resolves to ${file}, which does not exist (is the package built?)`,
    });
  }
  return file;
}

async function declaredName(installed: InstalledPlugin): Promise<string> {
  const read = await readPackageJson(join(installed.dir, 'package.json'));
  return read.ok && typeof read.json['name'] === 'string' ? read.json['name'] : installed.pkg;
}

/** The reason shown for a module that failed to evaluate; a missing dependency is named. */
function describeCause(pkg: string, cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const code = (cause as { code?: unknown }).code;
  // Multi-line messages (bundler and transpiler errors) are folded onto one line, bounded.
  const folded = cause.message
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .join(' ');
  const text = folded.length > 500 ? `${folded.slice(0, 500)}…` : folded;
  const missing = /Cannot find (?:package|module) '([^']+)'/.exec(cause.message)?.[1];
  if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && missing !== undefined) {
    return `a module it imports, "${missing}", cannot be found (${text}); reinstall ${pkg} so that its dependencies are installed`;
  }
  if (isTributaryError(cause)) return `${cause.code}: ${cause.message}`;
  return cause.name === 'Error' ? text : `${cause.name}: ${text}`;
}

function spiMismatch(installed: InstalledPlugin, range: string) {
  return errors.TRIB_PLUGIN_SPI_MISMATCH({
    pkg: installed.pkg,
    range,
    spi: SPI_VERSION,
    hint: spiAdvice(installed.pkg, installed.version, range, SPI_VERSION, kernelVersion()),
  });
}

let ownVersion: string | undefined;

/** This kernel's package version, for messages (`src/discovery` and `dist/discovery` alike). */
function kernelVersion(): string {
  if (ownVersion === undefined) {
    try {
      const json = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
        version?: unknown;
      };
      ownVersion = typeof json.version === 'string' ? json.version : 'unknown';
    } catch {
      ownVersion = 'unknown';
    }
  }
  return ownVersion;
}
