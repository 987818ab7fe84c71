/**
 * The packages published from this repository, so that a configuration using one of their
 * types can say which package to install instead of only "unknown type".
 *
 * @module
 */
import type { ProvidedKind } from '../spi/plugin.ts';

const PREFIX: Record<ProvidedKind, string> = {
  bindings: '@tributary/binding-',
  guards: '@tributary/guard-',
  catalogs: '@tributary/catalog-',
  models: '@tributary/model-',
  vaults: '@tributary/vault-',
};

/**
 * The official package name for a type, by the naming rule `@tributary/<kind>-<type>`
 * (e.g. `('bindings', 'http-kafka')` → `@tributary/binding-http-kafka`). Whether such a package
 * exists is {@link OFFICIAL_PACKAGES}' business.
 */
export function officialPackage(kind: ProvidedKind, type: string): string {
  return `${PREFIX[kind]}${type}`;
}

/** The plugin packages published from this repository (docs: DESIGN §2 "Packages"). */
export const OFFICIAL_PACKAGES: ReadonlySet<string> = new Set([
  '@tributary/binding-kafka',
  '@tributary/binding-http',
  '@tributary/binding-sse',
  '@tributary/binding-mqtt',
  '@tributary/binding-grpc',
  '@tributary/binding-http-kafka',
  '@tributary/binding-sse-kafka',
  '@tributary/binding-mqtt-kafka',
  '@tributary/binding-grpc-kafka',
  '@tributary/binding-kafka-grpc',
  '@tributary/catalog-apicurio',
  '@tributary/catalog-schema-registry',
  '@tributary/catalog-inline',
  '@tributary/catalog-filesystem',
  '@tributary/model-json',
  '@tributary/model-avro',
  '@tributary/model-protobuf',
  '@tributary/guard-jwt',
]);

/** Types the kernel package provides itself (its own plugin is always registered). */
const KERNEL_TYPES: Readonly<Record<ProvidedKind, readonly string[]>> = {
  bindings: ['test'],
  guards: ['test'],
  catalogs: ['test'],
  models: ['test'],
  vaults: ['filesystem'],
};

/** The official package that provides `type`, or undefined when no official package does. */
export function officialProvider(kind: ProvidedKind, type: string): string | undefined {
  if (KERNEL_TYPES[kind].includes(type)) return '@tributary/kernel';
  const name = officialPackage(kind, type);
  return OFFICIAL_PACKAGES.has(name) ? name : undefined;
}

/** Every type an official package provides, for "did you mean" hints. */
export function officialTypes(kind: ProvidedKind): readonly string[] {
  const prefix = PREFIX[kind];
  const types = [...OFFICIAL_PACKAGES]
    .filter((name) => name.startsWith(prefix))
    .map((name) => name.slice(prefix.length));
  return [...KERNEL_TYPES[kind], ...types];
}
