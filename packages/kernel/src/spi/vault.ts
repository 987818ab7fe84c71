/**
 * Vaults supply keys, certificates and trust anchors (PEM) to bindings, so that secrets never
 * appear in the configuration file itself. Lookups are synchronous after `start`.
 *
 * @module
 */
import type { ConfigIssue, VaultConfig } from './config.ts';
import type { PluginContext } from './context.ts';
import type { JsonSchema } from './schema.ts';

export interface VaultHandler {
  start?(): Promise<void>;
  /** A private key (PEM) by alias. */
  key(alias: string): string | undefined;
  /** A certificate chain (PEM) by alias. */
  certificate(alias: string): string | undefined;
  /** Trusted CA certificates (PEM) by alias. */
  trust(alias: string): string | undefined;
}

export interface VaultFactory<Options = unknown> {
  readonly schema?: JsonSchema;
  validate?(config: VaultConfig<Options>): readonly ConfigIssue[];
  create(ctx: PluginContext, config: VaultConfig<Options>): VaultHandler | Promise<VaultHandler>;
}
