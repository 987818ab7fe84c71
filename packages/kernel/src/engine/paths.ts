import type { RouteParams } from '../spi/binding.ts';

/** Matches a path against a compiled pattern: the captured params, or undefined. */
export type PathMatcher = (path: string) => RouteParams | undefined;

const compiled = new Map<string, PathMatcher>();

/**
 * Compiles a route path pattern such as `/items/{id}`: literal text must match exactly, and each
 * `{name}` captures one or more characters that are none of `stops` (default `/` and `?`),
 * percent-decoded into `params.name`. A capture that does not decode makes the path not match.
 * Compiled patterns are cached, so that matching per request and config reloads cost no
 * compilation.
 */
export function compilePathPattern(pattern: string, stops = '/?'): PathMatcher {
  const cacheKey = `${stops}\u0000${pattern}`;
  let matcher = compiled.get(cacheKey);
  if (matcher) return matcher;
  const names: string[] = [];
  const capture = `([^${stops.replace(/[\]\\^-]/g, '\\$&')}]+)`;
  const source = pattern
    .split(/(\{\w+\})/)
    .map((part) => {
      const m = /^\{(\w+)\}$/.exec(part);
      if (m) {
        names.push(m[1]!);
        return capture;
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  const regex = new RegExp(`^${source}$`);
  matcher = (path) => {
    const m = regex.exec(path);
    if (!m) return undefined;
    const params: Record<string, string> = {};
    for (let i = 0; i < names.length; i++) {
      try {
        params[names[i]!] = decodeURIComponent(m[i + 1]!);
      } catch {
        return undefined;
      }
    }
    return params;
  };
  compiled.set(cacheKey, matcher);
  return matcher;
}
