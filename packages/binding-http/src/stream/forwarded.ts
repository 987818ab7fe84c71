/**
 * `Forwarded` (RFC 7239) and `X-Forwarded-For/-Proto/-Host`, believed only when the peer is a
 * trusted proxy. The client is the rightmost untrusted address of the chain (addresses further
 * left could have been written by anyone); scheme and authority are those that proxy saw.
 *
 * @module
 */
import { BlockList, isIP } from 'node:net';
import { header, headerValues, type HttpHeader } from '../index.ts';
import { addProxy } from '../config/validate.ts';

export interface ForwardedView {
  readonly scheme: string;
  readonly authority: string;
  readonly remote: { readonly address: string; readonly port: number };
}

interface Hop {
  readonly address: string | undefined;
  readonly port: number;
  readonly proto: string | undefined;
  readonly host: string | undefined;
}

const unquote = (value: string) =>
  value.startsWith('"') && value.endsWith('"') && value.length >= 2
    ? value.slice(1, -1).replace(/\\(.)/g, '$1')
    : value;

/** `192.0.2.1`, `192.0.2.1:80`, `[2001:db8::1]:80`, `unknown`, `_hidden` → address and port. */
function node(value: string): { address: string | undefined; port: number } {
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  if (bracket) return { address: bracket[1], port: Number(bracket[2] ?? 0) };
  if (isIP(value) !== 0) return { address: value, port: 0 };
  const v4 = /^([\d.]+):(\d+)$/.exec(value);
  if (v4 && isIP(v4[1]!) === 4) return { address: v4[1], port: Number(v4[2]) };
  return { address: undefined, port: 0 };
}

function parseForwarded(values: readonly string[]): Hop[] {
  const hops: Hop[] = [];
  for (const element of values.join(',').split(',')) {
    const pairs = new Map<string, string>();
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=');
      if (eq > 0) pairs.set(pair.slice(0, eq).trim().toLowerCase(), unquote(pair.slice(eq + 1).trim()));
    }
    if (pairs.size === 0) continue;
    const { address, port } = node(pairs.get('for') ?? '');
    hops.push({ address, port, proto: pairs.get('proto')?.toLowerCase(), host: pairs.get('host') });
  }
  return hops;
}

function list(values: readonly string[]): string[] {
  return values
    .join(',')
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

function parseXForwarded(headers: readonly HttpHeader[]): Hop[] {
  const fors = list(headerValues({ headers }, 'x-forwarded-for'));
  const protos = list(headerValues({ headers }, 'x-forwarded-proto'));
  const hosts = list(headerValues({ headers }, 'x-forwarded-host'));
  // Proto and host lists aligned with the address list are per hop; otherwise the edge proxy
  // wrote one value for all.
  const pick = (values: readonly string[], i: number) =>
    values.length === fors.length ? values[i] : values[0];
  return fors.map((value, i) => {
    const { address, port } = node(value);
    return { address, port, proto: pick(protos, i)?.toLowerCase(), host: pick(hosts, i) };
  });
}

export class ForwardedPolicy {
  private readonly trusted = new BlockList();

  constructor(trustedProxies: readonly string[]) {
    for (const entry of trustedProxies) addProxy(this.trusted, entry);
  }

  private trusts(address: string | undefined): boolean {
    if (address === undefined) return false;
    const family = isIP(address);
    if (family === 0) return false;
    // IPv4 peers on dual-stack sockets appear as ::ffff:a.b.c.d.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) return this.trusted.check(mapped[1]!, 'ipv4') || this.trusted.check(address, 'ipv6');
    return this.trusted.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }

  /** The request as the client sent it, when `peer` is trusted; `direct` otherwise. */
  resolve(direct: ForwardedView, headers: readonly HttpHeader[]): ForwardedView {
    if (!this.trusts(direct.remote.address)) return direct;
    const hops =
      header({ headers }, 'forwarded') !== undefined
        ? parseForwarded(headerValues({ headers }, 'forwarded'))
        : parseXForwarded(headers);
    if (hops.length === 0) return direct;
    let i = hops.length - 1;
    while (i > 0 && this.trusts(hops[i]!.address)) i--;
    const hop = hops[i]!;
    const scheme = hop.proto === 'http' || hop.proto === 'https' ? hop.proto : direct.scheme;
    return {
      scheme,
      authority: hop.host ?? direct.authority,
      remote: hop.address === undefined ? direct.remote : { address: hop.address, port: hop.port },
    };
  }
}
