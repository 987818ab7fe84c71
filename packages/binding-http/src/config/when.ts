/**
 * The route condition of `http` servers: does one `when` entry match a request? Patterns are
 * compiled once per entry (routes are immutable objects; a reload brings new ones).
 *
 * @module
 */
import type { RouteParams } from '@tributary/kernel';
import type { HttpHeader } from '../index.ts';
import type { HttpWhen } from './schema.ts';

/** The parts of a request that conditions look at. */
export interface RequestFacts {
  readonly method: string;
  /** `:authority`, lower case. */
  readonly authority: string;
  /** The path without its query string. */
  readonly path: string;
  readonly headers: readonly HttpHeader[];
}

interface Compiled {
  readonly authority: RegExp | undefined;
  readonly path: { readonly regex: RegExp; readonly names: readonly string[] } | undefined;
  readonly headers: readonly { readonly name: string; readonly value: RegExp }[];
}

const compiled = new WeakMap<HttpWhen, Compiled>();

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `*` matches any run of characters; everything else is literal. */
function wildcard(pattern: string, flags = ''): RegExp {
  return new RegExp('^' + pattern.split('*').map(escape).join('.*') + '$', flags);
}

function compilePath(pattern: string): { regex: RegExp; names: string[] } {
  const names: string[] = [];
  const body = pattern
    .split(/(\{\w+\}|\*)/)
    .map((part) => {
      if (part === '*') return '.*';
      const capture = /^\{(\w+)\}$/.exec(part);
      if (capture) {
        names.push(capture[1]!);
        return '([^/]+)';
      }
      return escape(part);
    })
    .join('');
  // Without `*` the pattern is a prefix ending on a segment boundary.
  const tail = pattern.includes('*') ? '$' : pattern.endsWith('/') ? '' : '(?=/|$)';
  return { regex: new RegExp('^' + body + tail), names };
}

function compile(when: HttpWhen): Compiled {
  let entry = compiled.get(when);
  if (entry === undefined) {
    entry = {
      authority: when.authority === undefined ? undefined : wildcard(when.authority.toLowerCase(), 'i'),
      path: when.path === undefined ? undefined : compilePath(when.path),
      headers: Object.entries(when.headers ?? {}).map(([name, value]) => ({
        name: name.toLowerCase(),
        value: wildcard(value),
      })),
    };
    compiled.set(when, entry);
  }
  return entry;
}

/** The params `when` captures from `request`, or `undefined` when it does not match. */
export function matchWhen(when: HttpWhen, request: RequestFacts): RouteParams | undefined {
  if (when.method !== undefined && when.method !== request.method) return undefined;
  const { authority, path, headers } = compile(when);
  if (authority !== undefined && !authority.test(request.authority)) return undefined;
  for (const condition of headers) {
    if (!request.headers.some((h) => h.name === condition.name && condition.value.test(h.value))) {
      return undefined;
    }
  }
  if (path === undefined) return {};
  const match = path.regex.exec(request.path);
  if (!match) return undefined;
  const params: Record<string, string> = {};
  path.names.forEach((name, i) => {
    const raw = match[i + 1]!;
    try {
      params[name] = decodeURIComponent(raw);
    } catch {
      params[name] = raw;
    }
  });
  return params;
}
