/**
 * Plugins: what an npm package contributes to the kernel.
 *
 * A plugin package
 * 1. declares itself in its `package.json`:
 *    `"tributary": { "spi": "^1.0.0", "provides": { "bindings": ["http"], "guards": [], … } }`
 *    and exports `"./plugin"` (and `"./package.json"`);
 * 2. exports from `./plugin` a `plugin` (or default) value made by {@link definePlugin}.
 *
 * The kernel reads manifests of the application's dependencies, imports only the plugins whose
 * types the configuration uses, and checks the brand and the SPI range.
 *
 * @module
 */
import type { DependencyContainer } from 'tsyringe';
import type { BindingFactory } from './binding.ts';
import type { GuardFactory } from './guard.ts';
import type { CatalogFactory } from './catalog.ts';
import type { ModelFactory } from './model.ts';
import type { VaultFactory } from './vault.ts';

/**
 * Brand on plugin objects. A registered symbol, not a class, so that two installed copies of
 * the kernel recognise each other's plugins.
 */
export const PLUGIN_BRAND: unique symbol = Symbol.for('tributary.plugin');

export interface PluginDefinition {
  /** The npm package name. */
  readonly name: string;
  readonly version?: string;
  /** The SPI semver range supported, e.g. `^1.0.0`. */
  readonly spi: string;
  /* eslint-disable @typescript-eslint/no-explicit-any -- factories are typed by their plugin */
  readonly bindings?: Readonly<Record<string, BindingFactory<any, any, any>>>;
  readonly guards?: Readonly<Record<string, GuardFactory<any>>>;
  readonly catalogs?: Readonly<Record<string, CatalogFactory<any>>>;
  readonly models?: Readonly<Record<string, ModelFactory<any>>>;
  readonly vaults?: Readonly<Record<string, VaultFactory<any>>>;
  /* eslint-enable @typescript-eslint/no-explicit-any */
  /** Registers the plugin's services in its child container (explicit tokens only). */
  register?(container: DependencyContainer): void;
}

export interface Plugin extends PluginDefinition {
  readonly [PLUGIN_BRAND]: true;
}

/** Brands a plugin definition. The result is what `./plugin` exports. */
export function definePlugin<const T extends PluginDefinition>(definition: T): T & Plugin {
  return Object.freeze({ ...definition, [PLUGIN_BRAND]: true as const }) as T & Plugin;
}

/** True when `value` carries the plugin brand (from any copy of the kernel). */
export function isPlugin(value: unknown): value is Plugin {
  return (
    typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[PLUGIN_BRAND] === true
  );
}

/** The kinds of thing a plugin can provide, as named in the manifest's `provides`. */
export type ProvidedKind = 'bindings' | 'guards' | 'catalogs' | 'models' | 'vaults';

export const PROVIDED_KINDS: readonly ProvidedKind[] = ['bindings', 'guards', 'catalogs', 'models', 'vaults'];

/** The `tributary` field of a plugin package's `package.json`. */
export interface PluginManifest {
  readonly spi: string;
  readonly provides: Partial<Record<ProvidedKind, readonly string[]>>;
}
