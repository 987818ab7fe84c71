/**
 * Resolves the `tls` options of an `http` binding into PEM text when the binding is created:
 * files relative to the configuration file, or aliases of the binding's vault (the same option
 * shape as the `kafka` client). Problems throw one `TRIB_HTTP_OPTIONS` error carrying an issue
 * per problem, each pointing at the option. PEM text stays in memory and is never logged.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { ConfigIssue, VaultHandler } from '@tributary/kernel';
import { errors } from '../errors.ts';
import type { HttpTlsOptions, HttpTlsSource } from './schema.ts';
import { optionsIssue } from './validate.ts';

export interface TlsMaterial {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

export interface TlsContext {
  /** The binding's name, for the issues' pointers. */
  readonly name: string;
  readonly configDir: string;
  readonly vault: VaultHandler | undefined;
}

const PARTS = {
  ca: { label: 'CA certificates', lookup: (vault: VaultHandler, alias: string) => vault.trust(alias) },
  cert: { label: 'certificate', lookup: (vault: VaultHandler, alias: string) => vault.certificate(alias) },
  key: { label: 'private key', lookup: (vault: VaultHandler, alias: string) => vault.key(alias) },
} as const;

export function loadTlsMaterial(options: HttpTlsOptions, ctx: TlsContext): TlsMaterial {
  const issues: ConfigIssue[] = [];
  const material: { ca?: string; cert?: string; key?: string } = {};
  for (const part of ['ca', 'cert', 'key'] as const) {
    const source = options[part];
    if (source === undefined) continue;
    const result = read(part, source, ctx);
    if (typeof result === 'string') material[part] = result;
    else issues.push(result);
  }
  if (issues.length > 0) {
    throw errors.TRIB_HTTP_OPTIONS({ reason: issues.map((issue) => issue.message).join('; ') }, { issues });
  }
  return material;
}

function read(part: keyof typeof PARTS, source: HttpTlsSource, ctx: TlsContext): string | ConfigIssue {
  const { label, lookup } = PARTS[part];
  if ('file' in source) {
    const path = isAbsolute(source.file) ? source.file : resolve(ctx.configDir, source.file);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (cause) {
      const why = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
      return optionsIssue(ctx.name, ['tls', part, 'file'], `cannot read the ${label} file ${path} (${why})`);
    }
    if (!text.includes('-----BEGIN ')) {
      return optionsIssue(ctx.name, ['tls', part, 'file'], `the ${label} file ${path} holds no PEM block`);
    }
    return text;
  }
  if (ctx.vault === undefined) {
    return optionsIssue(
      ctx.name,
      ['tls', part, 'vault'],
      `tls.${part} names a vault alias, but the binding has no vault`,
    );
  }
  const found = lookup(ctx.vault, source.vault);
  if (found === undefined) {
    return optionsIssue(ctx.name, ['tls', part, 'vault'], `the vault holds no ${label} "${source.vault}"`);
  }
  return found;
}
