import type { Plugin, ProvidedKind } from '../spi/plugin.ts';
import type { BindingFactory } from '../spi/binding.ts';
import type { GuardFactory } from '../spi/guard.ts';
import type { CatalogFactory } from '../spi/catalog.ts';
import type { ModelFactory } from '../spi/model.ts';
import type { VaultFactory } from '../spi/vault.ts';
import { errors } from '../errors.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- factories are typed by their plugin */
export interface FactoryByKind {
  bindings: BindingFactory<any, any, any>;
  guards: GuardFactory<any>;
  catalogs: CatalogFactory<any>;
  models: ModelFactory<any>;
  vaults: VaultFactory<any>;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

export interface Registered<K extends ProvidedKind> {
  readonly type: string;
  readonly factory: FactoryByKind[K];
  readonly plugin: Plugin;
}

const SINGULAR: Record<ProvidedKind, string> = {
  bindings: 'binding',
  guards: 'guard',
  catalogs: 'catalog',
  models: 'model',
  vaults: 'vault',
};

export const singular = (kind: ProvidedKind): string => SINGULAR[kind];

/**
 * The types available to a configuration, by kind, each with the plugin that provides it.
 * Filled by discovery or `kernel.use()`; a type provided twice is refused.
 */
export class PluginRegistry {
  private readonly byKind: { [K in ProvidedKind]: Map<string, Registered<K>> } = {
    bindings: new Map(),
    guards: new Map(),
    catalogs: new Map(),
    models: new Map(),
    vaults: new Map(),
  };
  private readonly plugins = new Map<string, Plugin>();

  /** Adds every type a plugin provides. Throws `TRIB_PLUGIN_DUPLICATE_TYPE` on a clash. */
  add(plugin: Plugin): void {
    if (this.plugins.get(plugin.name) === plugin) return;
    for (const kind of Object.keys(this.byKind) as ProvidedKind[]) {
      for (const type of Object.keys(plugin[kind] ?? {})) {
        const existing = this.byKind[kind].get(type);
        if (existing && existing.plugin !== plugin) {
          throw errors.TRIB_PLUGIN_DUPLICATE_TYPE({
            what: SINGULAR[kind],
            type,
            first: existing.plugin.name,
            second: plugin.name,
          });
        }
      }
    }
    this.plugins.set(plugin.name, plugin);
    for (const kind of Object.keys(this.byKind) as ProvidedKind[]) {
      const factories = (plugin[kind] ?? {}) as Record<string, unknown>;
      for (const [type, factory] of Object.entries(factories)) {
        (this.byKind[kind] as Map<string, Registered<ProvidedKind>>).set(type, {
          type,
          factory: factory as FactoryByKind[ProvidedKind],
          plugin,
        });
      }
    }
  }

  get<K extends ProvidedKind>(kind: K, type: string): Registered<K> | undefined {
    return this.byKind[kind].get(type);
  }

  types<K extends ProvidedKind>(kind: K): readonly Registered<K>[] {
    return [...this.byKind[kind].values()];
  }

  all(): readonly Plugin[] {
    return [...this.plugins.values()];
  }
}
