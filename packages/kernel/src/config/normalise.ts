/**
 * A validated configuration value → {@link GatewayConfig}: every binding, guard, catalog and
 * vault gets its `name`; absent `options` become `{}`, absent `routes` and `when` become `[]`,
 * absent sections become `{}`. Optional members stay absent rather than `undefined`.
 *
 * @module
 */
import type {
  BindingConfig,
  BindingKind,
  CatalogConfig,
  GatewayConfig,
  GuardConfig,
  RouteConfig,
  VaultConfig,
} from '../spi/config.ts';
import { isRecord } from './pointer.ts';

type Raw = Record<string, unknown>;

/** Assumes `value` passed schema validation. */
export function normaliseConfig(value: unknown): GatewayConfig {
  const root = value as Raw;
  const entries = (section: string): [string, Raw][] =>
    isRecord(root[section]) ? (Object.entries(root[section]) as [string, Raw][]) : [];
  const resources = (section: string) =>
    Object.fromEntries(
      entries(section).map(([name, raw]) => [
        name,
        { name, type: raw['type'] as string, options: raw['options'] ?? {} } satisfies GuardConfig &
          CatalogConfig &
          VaultConfig,
      ]),
    );
  const config: GatewayConfig = {
    name: root['name'] as string,
    bindings: Object.fromEntries(entries('bindings').map(([name, raw]) => [name, binding(name, raw)])),
    guards: resources('guards'),
    catalogs: resources('catalogs'),
    vaults: resources('vaults'),
    telemetry: isRecord(root['telemetry']) ? root['telemetry'] : {},
    ...(Array.isArray(root['plugins']) ? { plugins: root['plugins'] } : {}),
  };
  return config;
}

function binding(name: string, raw: Raw): BindingConfig {
  const routes = Array.isArray(raw['routes']) ? (raw['routes'] as Raw[]) : [];
  return {
    name,
    type: raw['type'] as string,
    kind: raw['kind'] as BindingKind,
    options: raw['options'] ?? {},
    routes: routes.map(route),
    ...(typeof raw['exit'] === 'string' ? { exit: raw['exit'] } : {}),
    ...(typeof raw['vault'] === 'string' ? { vault: raw['vault'] } : {}),
  };
}

function route(raw: Raw): RouteConfig {
  return {
    when: Array.isArray(raw['when']) ? (raw['when'] as unknown[]) : [],
    exit: raw['exit'] as string,
    ...('with' in raw ? { with: raw['with'] } : {}),
    ...(isRecord(raw['guarded']) ? { guarded: raw['guarded'] as Record<string, string[]> } : {}),
  };
}
