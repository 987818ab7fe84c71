/**
 * Request header parsing that decides how a request is answered: `Prefer` (RFC 7240),
 * `If-None-Match` (RFC 9110 §13.1.2) and entity tags (RFC 9110 §8.8.3). Pure functions.
 */

export interface Preferences {
  /** `respond-async` was asked for (RFC 7240 §4.1). */
  readonly respondAsync: boolean;
  /** `wait=N` in seconds (RFC 7240 §4.3), capped by the caller; undefined when absent. */
  readonly wait: number | undefined;
}

/**
 * Parses every `Prefer` header value. Unknown preferences and malformed parameters are ignored,
 * as RFC 7240 §2 asks; of repeated `wait` values the first wins.
 */
export function parsePrefer(values: readonly string[], maxWaitSeconds: number): Preferences {
  let respondAsync = false;
  let wait: number | undefined;
  for (const value of values) {
    for (const item of splitList(value)) {
      const token = item.split(';', 1)[0]!.trim();
      const eq = token.indexOf('=');
      const name = (eq < 0 ? token : token.slice(0, eq)).trim().toLowerCase();
      const raw = eq < 0 ? undefined : unquote(token.slice(eq + 1).trim());
      if (name === 'respond-async') respondAsync = true;
      else if (name === 'wait' && wait === undefined && raw !== undefined && /^\d{1,9}$/.test(raw))
        wait = Math.min(Number(raw), maxWaitSeconds);
    }
  }
  return { respondAsync, wait };
}

/**
 * The entity tags of an `If-None-Match` value, compared weakly (RFC 9110 §13.1.2: the weak
 * comparison applies): `W/` prefixes dropped, quotes removed. `*` yields `['*']`.
 */
export function parseIfNoneMatch(value: string | undefined): readonly string[] {
  if (value === undefined) return [];
  if (value.trim() === '*') return ['*'];
  const tags: string[] = [];
  for (const item of splitList(value)) {
    const tag = /^(?:W\/)?"([^"]*)"$/.exec(item.trim());
    if (tag) tags.push(tag[1]!);
  }
  return tags;
}

/** True when `etag` (unquoted) is among the `If-None-Match` tags. */
export function noneMatch(tags: readonly string[], etag: string): boolean {
  return tags.includes('*') || tags.includes(etag);
}

/** Quotes an entity tag for the `ETag` header. */
export function quoteEtag(etag: string): string {
  return `"${etag}"`;
}

/** Splits a comma-separated header list, keeping commas inside quoted strings. */
function splitList(value: string): string[] {
  const items: string[] = [];
  let current = '';
  let quoted = false;
  for (const ch of value) {
    if (ch === '"') quoted = !quoted;
    if (ch === ',' && !quoted) {
      if (current.trim()) items.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (current.trim()) items.push(current.trim());
  return items;
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}
