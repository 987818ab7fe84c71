/**
 * Conversions between Node's header representations and the ordered, lower-case
 * {@link HttpHeader} lists of `http` streams.
 *
 * @module
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { HttpHeader } from '../index.ts';

/**
 * Connection-specific fields (RFC 9110 §7.6.1, RFC 9113 §8.2.2): each hop manages its own, so
 * they never travel on a stream. `expect` is answered by the server itself (100-continue).
 */
const CONNECTION_SPECIFIC = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
  'http2-settings',
  'expect',
]);

/** Fields listed in `Connection` are connection-specific too (RFC 9110 §7.6.1). */
function connectionTokens(pairs: readonly (readonly [string, string])[]): Set<string> {
  const tokens = new Set<string>();
  for (const [name, value] of pairs) {
    if (name !== 'connection') continue;
    for (const token of value.split(',')) tokens.add(token.trim().toLowerCase());
  }
  return tokens;
}

/** True for names that must not cross a hop. */
export function isConnectionSpecific(name: string): boolean {
  return CONNECTION_SPECIFIC.has(name);
}

/**
 * The request headers from Node's `rawHeaders` (name, value, name, value…; HTTP/2 includes the
 * pseudo-headers, which are dropped here), lower-cased, in order, without connection-specific
 * fields and without `host` (it becomes `:authority`).
 */
export function requestHeaders(rawHeaders: readonly string[]): HttpHeader[] {
  const pairs: (readonly [string, string])[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    pairs.push([rawHeaders[i]!.toLowerCase(), rawHeaders[i + 1]!]);
  }
  const listed = connectionTokens(pairs);
  const headers: HttpHeader[] = [];
  for (const [name, value] of pairs) {
    if (name.startsWith(':') || name === 'host' || CONNECTION_SPECIFIC.has(name) || listed.has(name))
      continue;
    headers.push({ name, value });
  }
  return headers;
}

/**
 * Node outgoing headers from a header list: pseudo-headers and connection-specific fields are
 * left out, repeated names become arrays (so `set-cookie` stays several fields).
 */
export function toNodeHeaders(
  headers: readonly HttpHeader[],
  skip: ReadonlySet<string> = new Set(),
): OutgoingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (const { name, value } of headers) {
    if (name.startsWith(':') || CONNECTION_SPECIFIC.has(name) || name === 'te' || skip.has(name)) continue;
    const existing = out[name];
    if (existing === undefined) out[name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else out[name] = [existing, value];
  }
  return out;
}

/** A header list from Node's parsed incoming headers (or trailers), lower-cased. */
export function fromNodeHeaders(
  headers: IncomingHttpHeaders | Readonly<Record<string, unknown>>,
): HttpHeader[] {
  const list: HttpHeader[] = [];
  const pairs: (readonly [string, string])[] = [];
  for (const [rawName, value] of Object.entries(headers)) {
    const name = rawName.toLowerCase();
    if (value === undefined || value === null) continue;
    for (const item of Array.isArray(value) ? value : [value]) pairs.push([name, String(item)]);
  }
  const listed = connectionTokens(pairs);
  for (const [name, value] of pairs) {
    if (name.startsWith(':') || CONNECTION_SPECIFIC.has(name) || listed.has(name)) continue;
    list.push({ name, value });
  }
  return list;
}
