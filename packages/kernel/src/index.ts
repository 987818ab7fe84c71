/**
 * `@tributary/kernel`: the plugin SPI, the stream-flow engine, configuration loading, plugin
 * discovery and the gateway lifecycle.
 *
 * Plugin authors need the SPI types and `definePlugin`; applications embedding the gateway need
 * `createKernel`. Tests use `@tributary/kernel/testkit`.
 *
 * @module
 */
export { SPI_VERSION } from './spi/version.ts';
export type * from './spi/stream.ts';
export type * from './spi/binding.ts';
export type * from './spi/config.ts';
export { BINDING_KINDS } from './spi/config.ts';
export type * from './spi/context.ts';
export type * from './spi/guard.ts';
export type * from './spi/catalog.ts';
export type * from './spi/model.ts';
export type * from './spi/vault.ts';
export type * from './spi/schema.ts';
export { definePlugin, isPlugin, PLUGIN_BRAND, PROVIDED_KINDS } from './spi/plugin.ts';
export type { Plugin, PluginDefinition, PluginManifest, ProvidedKind } from './spi/plugin.ts';
export { defineErrors, formatMessage, isTributaryError, TributaryError } from './spi/errors.ts';
export type { ErrorFactory, ErrorSpec } from './spi/errors.ts';
export { errors } from './errors.ts';
export { MessageAssembler, pumpReadable, pumpToWritable } from './engine/pump.ts';
export { relay } from './engine/relay.ts';
export { resolveTemplates } from './engine/templates.ts';
export { compilePathPattern } from './engine/paths.ts';
export type { PathMatcher } from './engine/paths.ts';
export { PluginRegistry } from './engine/registry.ts';
export { createKernel, Kernel, TOKENS } from './lifecycle/kernel.ts';
export type { KernelOptions, LoadedConfig } from './lifecycle/kernel.ts';
export { Gateway } from './lifecycle/gateway.ts';
export type { GatewayState, SourcedEvent } from './lifecycle/gateway.ts';
export { createLogger, DEFAULT_REDACT_KEYS } from './logging/logger.ts';
export { Reloader } from './lifecycle/watch.ts';
export type { ReloaderOptions } from './lifecycle/watch.ts';
