/**
 * Loading a configuration file: read, interpolate, validate, normalise.
 *
 * @module
 */
import type { GatewayConfig } from '../spi/config.ts';
import type { PluginRegistry } from '../engine/registry.ts';
import { errors } from '../errors.ts';
import { sortIssues } from './issues.ts';
import { readConfigFile, type ConfigSource, type Env } from './source.ts';
import { validateConfig, type ValidateOptions } from './validate.ts';

export interface LoadOptions extends ValidateOptions {
  /** Variables for `${{ env.NAME }}`; defaults to `process.env`. */
  readonly env?: Env;
}

export interface LoadedConfig {
  readonly config: GatewayConfig;
  readonly source: ConfigSource;
}

/**
 * Reads, validates and normalises `file`. Throws `TRIB_CONFIG_READ_FAILED` when it cannot be
 * read, and `TRIB_CONFIG_INVALID` carrying every issue, sorted by position, otherwise.
 *
 * With syntax errors the document is not validated: yaml's error recovery would make
 * validation report problems that are not there. Environment problems do not stop
 * validation; validation issues on a value whose interpolation failed are left out, since
 * they only restate that the value is missing.
 */
export async function loadConfig(
  file: string,
  registry: PluginRegistry,
  options: LoadOptions = {},
): Promise<LoadedConfig> {
  const { env, ...validateOptions } = options;
  const { source, issues: parseIssues } = await readConfigFile(file, env ?? process.env);
  const syntax = parseIssues.some((issue) => issue.code === errors.TRIB_CONFIG_SYNTAX.code);
  const result = syntax ? { issues: [] } : validateConfig(source, registry, validateOptions);
  const unresolved = new Set(parseIssues.map((issue) => issue.pointer));
  const issues = sortIssues([
    ...parseIssues,
    ...result.issues.filter((issue) => !unresolved.has(issue.pointer)),
  ]);
  if (issues.length > 0 || !('config' in result) || result.config === undefined) {
    throw errors.TRIB_CONFIG_INVALID({ file, count: issues.length }, { issues });
  }
  return { config: result.config, source };
}
