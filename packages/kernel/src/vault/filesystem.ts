import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { VaultFactory } from '../spi/vault.ts';

export interface FilesystemVaultOptions {
  /** alias → PEM file (private keys), relative to the configuration file's directory. */
  readonly keys?: Readonly<Record<string, string>>;
  readonly certificates?: Readonly<Record<string, string>>;
  readonly trust?: Readonly<Record<string, string>>;
}

const section = {
  type: 'object',
  additionalProperties: { type: 'string', minLength: 1 },
  description: 'alias → path of a PEM file, relative to the configuration file',
} as const;

/** The `filesystem` vault: PEM files read once at start. */
export const filesystemVault: VaultFactory<FilesystemVaultOptions> = {
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: { keys: section, certificates: section, trust: section },
  },
  create(ctx, config) {
    const loaded = {
      keys: new Map<string, string>(),
      certificates: new Map<string, string>(),
      trust: new Map<string, string>(),
    };
    return {
      async start() {
        for (const kind of ['keys', 'certificates', 'trust'] as const) {
          for (const [alias, path] of Object.entries(config.options[kind] ?? {})) {
            loaded[kind].set(alias, await readFile(resolve(ctx.configDir, path), 'utf8'));
          }
        }
      },
      key: (alias) => loaded.keys.get(alias),
      certificate: (alias) => loaded.certificates.get(alias),
      trust: (alias) => loaded.trust.get(alias),
    };
  },
};
