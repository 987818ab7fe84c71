/**
 * `${{ env.NAME }}` interpolation of configuration strings.
 *
 * Grammar: `${{` `env.NAME` [`??` `'default'` | `"default"`] `}}`, with optional spaces inside
 * the braces; NAME is `[A-Za-z_][A-Za-z0-9_]*`; a default is any text without its own quote
 * character (no escapes). The default applies only when the variable is unset (`??`, as in
 * JavaScript): a variable set to the empty string interpolates as the empty string.
 *
 * One pass, left to right: the text a variable expands to is never scanned again, so a value
 * containing `${{ … }}` (or a runtime template such as `${params.id}`) is kept literally.
 * Runtime templates (`${` followed by anything but `{`) are not touched at all.
 *
 * @module
 */
import type { Env } from './source.ts';

export type InterpolationProblem =
  | { readonly kind: 'missing'; readonly name: string; readonly expression: string }
  | { readonly kind: 'syntax'; readonly expression: string };

export interface Interpolation {
  readonly value: string;
  /** True when the input was exactly one resolved `${{ … }}` expression and nothing else. */
  readonly whole: boolean;
  /** True when at least one expression was replaced. */
  readonly changed: boolean;
  readonly problems: readonly InterpolationProblem[];
}

const OPEN = '${{';
const EXPRESSION = /\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*(?:\?\?\s*(?:'([^']*)'|"([^"]*)")\s*)?\}\}/y;
const EXPRESSION_ONLY = new RegExp(`^${EXPRESSION.source}$`);

/**
 * Expands every `${{ env.NAME }}` in `text`. An expression that cannot be expanded (unset
 * variable without default, malformed) is kept as written and reported in `problems`.
 */
export function interpolate(text: string, env: Env): Interpolation {
  if (!text.includes(OPEN)) return { value: text, whole: false, changed: false, problems: [] };
  const problems: InterpolationProblem[] = [];
  let out = '';
  let from = 0;
  let replaced = 0;
  let expressions = 0;
  for (let at = text.indexOf(OPEN); at !== -1; at = text.indexOf(OPEN, from)) {
    out += text.slice(from, at);
    expressions++;
    EXPRESSION.lastIndex = at;
    const match = EXPRESSION.exec(text);
    if (match) {
      const [expression, name, single, double] = match as unknown as [string, string, string?, string?];
      const value = env[name] ?? single ?? double;
      if (value === undefined) {
        problems.push({ kind: 'missing', name, expression });
        out += expression;
      } else {
        out += value;
        replaced++;
      }
      from = at + expression.length;
    } else {
      const close = text.indexOf('}}', at + OPEN.length);
      const end = close === -1 ? text.length : close + 2;
      const expression = text.slice(at, end);
      problems.push({ kind: 'syntax', expression });
      out += expression;
      from = end;
    }
  }
  out += text.slice(from);
  const whole = expressions === 1 && replaced === 1 && EXPRESSION_ONLY.test(text);
  return { value: out, whole, changed: replaced > 0, problems };
}
