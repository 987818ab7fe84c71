// CORS preflights are answered by the server and allowed origins get their response headers;
// Forwarded / X-Forwarded-* change scheme, authority and remote only from trusted proxies.
import { afterEach, describe, expect, it } from 'vitest';
import type { TestHarness } from '@tributary/kernel/testkit';
import { header, isHttpBegin, type HttpBeginEx } from '../../src/index.ts';
import { curl, gateway, startGateway, urlOf } from '../helpers.ts';

let harness: TestHarness | undefined;
afterEach(async () => {
  await harness?.stop(1_000);
  harness = undefined;
});

const server = (options: object) =>
  gateway({
    north: {
      type: 'http',
      kind: 'server',
      options: { listen: { host: '127.0.0.1', port: 0 }, ...options },
      routes: [{ when: [{ path: '/api' }], exit: 'far' }],
    },
    far: { type: 'test', kind: 'client', options: { mode: 'echo' } },
  });

const cors = {
  origins: ['https://app.example.com'],
  methods: ['GET', 'POST', 'PUT'],
  allowedHeaders: ['content-type', 'authorization'],
  exposedHeaders: ['etag'],
  credentials: true,
  maxAge: 600,
};

describe('http server: CORS', () => {
  it('answers a preflight from an allowed origin itself', async () => {
    harness = await startGateway(server({ cors }));
    const res = await curl([
      '-X',
      'OPTIONS',
      '-H',
      'origin: https://app.example.com',
      '-H',
      'access-control-request-method: PUT',
      '-H',
      'access-control-request-headers: content-type',
      `${urlOf(harness)}/api/items`,
    ]);
    expect(res.status).toBe(204);
    expect(res.headers).toMatchObject({
      'access-control-allow-origin': 'https://app.example.com',
      'access-control-allow-methods': 'GET, POST, PUT',
      'access-control-allow-headers': 'content-type, authorization',
      'access-control-allow-credentials': 'true',
      'access-control-max-age': '600',
      vary: 'origin',
    });
    expect(harness.client('far').begins).toHaveLength(0);
  });

  it('gives a preflight from another origin no allowing headers', async () => {
    harness = await startGateway(server({ cors }));
    const res = await curl([
      '-X',
      'OPTIONS',
      '-H',
      'origin: https://evil.example.com',
      '-H',
      'access-control-request-method: PUT',
      `${urlOf(harness)}/api/items`,
    ]);
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('adds the CORS headers to responses and problems for allowed origins only', async () => {
    harness = await startGateway(server({ cors }));
    const url = urlOf(harness);
    const ok = await curl(['-H', 'origin: https://app.example.com', `${url}/api/items`]);
    expect(ok.status).toBe(200);
    expect(ok.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(ok.headers['access-control-expose-headers']).toBe('etag');
    const missing = await curl(['-H', 'origin: https://app.example.com', `${url}/elsewhere`]);
    expect(missing.status).toBe(404);
    expect(missing.headers['access-control-allow-origin']).toBe('https://app.example.com');
    const other = await curl(['-H', 'origin: https://evil.example.com', `${url}/api/items`]);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('allows any origin with `*`', async () => {
    harness = await startGateway(server({ cors: { origins: '*' } }));
    const res = await curl(['-H', 'origin: https://anywhere.example', `${urlOf(harness)}/api`]);
    expect(res.headers['access-control-allow-origin']).toBe('*');
  });
});

function lastBegin(h: TestHarness): HttpBeginEx {
  const begin = h.client('far').begins.at(-1);
  if (!isHttpBegin(begin)) throw new Error('no http begin');
  return begin;
}

const forwarded = [
  '-H',
  'x-forwarded-for: 203.0.113.7, 10.0.0.2',
  '-H',
  'x-forwarded-proto: https',
  '-H',
  'x-forwarded-host: shop.example.com',
];

describe('http server: forwarded headers', () => {
  it('ignores X-Forwarded-* unless trustedProxies is set', async () => {
    harness = await startGateway(server({}));
    await curl([...forwarded, `${urlOf(harness)}/api`]);
    const begin = lastBegin(harness);
    expect(header(begin, ':scheme')).toBe('http');
    expect(header(begin, ':authority')).toBe(new URL(urlOf(harness)).host);
    expect(begin.remote?.address).toBe('127.0.0.1');
  });

  it('believes X-Forwarded-* from a trusted proxy, taking the rightmost untrusted address', async () => {
    harness = await startGateway(server({ trustedProxies: ['127.0.0.1', '10.0.0.0/8'] }));
    await curl([...forwarded, `${urlOf(harness)}/api`]);
    const begin = lastBegin(harness);
    expect(header(begin, ':scheme')).toBe('https');
    expect(header(begin, ':authority')).toBe('shop.example.com');
    expect(begin.remote).toEqual({ address: '203.0.113.7', port: 0 });
  });

  it('prefers Forwarded (RFC 7239) and routes on the forwarded authority', async () => {
    harness = await startGateway(server({ trustedProxies: ['127.0.0.0/8'] }));
    await curl([
      '-H',
      'forwarded: for="[2001:db8::1]:4711";proto=https;host=api.example.com, for=127.0.0.9',
      ...forwarded,
      `${urlOf(harness)}/api`,
    ]);
    const begin = lastBegin(harness);
    expect(header(begin, ':scheme')).toBe('https');
    expect(header(begin, ':authority')).toBe('api.example.com');
    expect(begin.remote).toEqual({ address: '2001:db8::1', port: 4711 });
  });

  it('does not believe a proxy outside the trusted list', async () => {
    harness = await startGateway(server({ trustedProxies: ['10.0.0.0/8'] }));
    await curl([...forwarded, `${urlOf(harness)}/api`]);
    expect(lastBegin(harness).remote?.address).toBe('127.0.0.1');
  });
});
