import { fileURLToPath } from 'node:url';
import type { ConfigIssue } from '../../src/spi/config.ts';
import type { PluginRegistry } from '../../src/engine/registry.ts';
import { parseConfigText, type Env } from '../../src/config/source.ts';
import { validateConfig, type ValidateOptions } from '../../src/config/validate.ts';
import { registry } from './plugins.ts';

export const fixture = (name: string): string =>
  fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** An issue as `line:column CODE pointer message`, for compact exact assertions. */
export const brief = (issue: ConfigIssue): string =>
  `${issue.line}:${issue.column} ${issue.code} ${issue.pointer} ${issue.message}`;

/** Parses and validates YAML text; parse issues come first, as loadConfig would add them. */
export function check(
  text: string,
  options: ValidateOptions & { env?: Env; registry?: PluginRegistry } = {},
): ReturnType<typeof validateConfig> & { parseIssues: ConfigIssue[] } {
  const { source, issues } = parseConfigText(text, 'gateway.yaml', options.env ?? {});
  const result = validateConfig(source, options.registry ?? registry(), options);
  return { ...result, parseIssues: issues };
}

/** Joins lines, so that fixtures written inline keep their line numbers readable. */
export const yaml = (...lines: string[]): string => `${lines.join('\n')}\n`;
