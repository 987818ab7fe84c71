/**
 * Finds a guard's credentials in a request: a header, query parameter or cookie, each through a
 * template in which `{credentials}` marks the credentials (`Bearer {credentials}`). Literal
 * parts match case-insensitively (auth schemes are, RFC 9110 §11.1).
 *
 * @module
 */
import { headerValues, type HttpHeader } from '../index.ts';
import type { HttpCredentialsOptions } from '../config/schema.ts';

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function template(text: string): RegExp {
  const [prefix = '', ...rest] = text.split('{credentials}');
  return new RegExp('^' + escape(prefix) + '(.+?)' + escape(rest.join('{credentials}')) + '$', 'i');
}

interface Place {
  readonly name: string;
  readonly pattern: RegExp;
}

const places = (entries: Readonly<Record<string, string>> | undefined, lower: boolean): Place[] =>
  Object.entries(entries ?? {}).map(([name, text]) => ({
    name: lower ? name.toLowerCase() : name,
    pattern: template(text),
  }));

/** Cookies of a request (RFC 6265 §5.4), first occurrence of each name. */
export function parseCookies(headers: readonly HttpHeader[]): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const line of headerValues({ headers }, 'cookie')) {
    for (const pair of line.split(';')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      let value = pair.slice(eq + 1).trim();
      if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
      if (!cookies.has(name)) cookies.set(name, value);
    }
  }
  return cookies;
}

export class CredentialsExtractor {
  private readonly headers: readonly Place[];
  private readonly query: readonly Place[];
  private readonly cookies: readonly Place[];
  /** The auth scheme of an `authorization` header template, for `WWW-Authenticate`. */
  readonly scheme: string;

  constructor(options: HttpCredentialsOptions) {
    this.headers = places(options.headers, true);
    this.query = places(options.query, false);
    this.cookies = places(options.cookies, false);
    const authorization = options.headers?.['authorization'] ?? options.headers?.['Authorization'];
    this.scheme = /^([A-Za-z][\w.+-]*) \{credentials\}$/.exec(authorization ?? '')?.[1] ?? 'Bearer';
  }

  /** The credentials found in the request, or `undefined`. */
  extract(
    headers: readonly HttpHeader[],
    query: URLSearchParams,
    cookies: () => ReadonlyMap<string, string>,
  ): string | undefined {
    for (const place of this.headers) {
      for (const value of headerValues({ headers }, place.name)) {
        const found = place.pattern.exec(value)?.[1];
        if (found !== undefined) return found;
      }
    }
    for (const place of this.query) {
      const value = query.get(place.name);
      const found = value === null ? undefined : place.pattern.exec(value)?.[1];
      if (found !== undefined) return found;
    }
    if (this.cookies.length === 0) return undefined;
    const jar = cookies();
    for (const place of this.cookies) {
      const value = jar.get(place.name);
      const found = value === undefined ? undefined : place.pattern.exec(value)?.[1];
      if (found !== undefined) return found;
    }
    return undefined;
  }
}
