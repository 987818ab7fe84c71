// The client kind sends `http` streams to an upstream over undici: request head and body out,
// response head, body and trailers back, within credit; an unreachable or silent upstream is a
// problem (502, 504). Put behind the server kind it makes a working reverse proxy.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ScriptedPeer, TestHarness } from '@tributary/kernel/testkit';
import {
  header,
  headerValues,
  isHttpBegin,
  isHttpProblem,
  type HttpBeginEx,
  type HttpEndEx,
} from '../../src/index.ts';
import { HTTP_EVENTS } from '../../src/events.ts';
import { curl, gateway, problemOf, startGateway, urlOf } from '../helpers.ts';

let harness: TestHarness | undefined;
let upstream: http.Server | undefined;
afterEach(async () => {
  await harness?.stop(1_000);
  harness = undefined;
  upstream?.closeAllConnections();
  await new Promise((resolve) => (upstream ? upstream.close(resolve) : resolve(undefined)));
  upstream = undefined;
});

/** A port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Starts the test's upstream HTTP server on `port` (0: any). */
async function serve(handler: http.RequestListener, port = 0): Promise<string> {
  upstream = http.createServer(handler);
  await new Promise<void>((resolve) => upstream!.listen(port, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
}

const clientGateway = (url: string, options: object = {}) =>
  gateway({
    app: { type: 'test', kind: 'server', routes: [{ when: [{ route: 'up' }], exit: 'south' }] },
    south: { type: 'http', kind: 'client', options: { url, ...options } },
  });

function head(method: string, path: string, headers: Record<string, string> = {}): HttpBeginEx {
  return {
    type: 'http',
    kind: 'begin',
    headers: [
      { name: ':method', value: method },
      { name: ':scheme', value: 'http' },
      { name: ':authority', value: 'gateway.example' },
      { name: ':path', value: path },
      ...Object.entries(headers).map(([name, value]) => ({ name, value })),
    ],
  };
}

function open(h: TestHarness, begin: HttpBeginEx, initialWindow = 1_048_576): ScriptedPeer {
  return h.server('app').open({ route: 'up' }, { begin, initialWindow, autoWindow: true });
}

/** Status and code of the problem the stream failed with (the request half has ended already). */
async function failure(peer: ScriptedPeer): Promise<[number, string] | undefined> {
  const frame = await peer.until((f) => f.frame === 'abort' || f.frame === 'reset', 5_000);
  const ext = frame.frame === 'abort' || frame.frame === 'reset' ? frame.reason.ext : undefined;
  return isHttpProblem(ext) ? [ext.status, ext.code] : undefined;
}

async function replyHead(peer: ScriptedPeer): Promise<HttpBeginEx> {
  const begin = await peer.next('begin', 5_000);
  if (begin.frame !== 'begin' || !isHttpBegin(begin.ext))
    throw new Error(`no http reply begin: ${peer.describe()}`);
  return begin.ext;
}

describe('http client', () => {
  it('sends the request head and body upstream and returns the response with trailers', async () => {
    const seen: { method?: string; url?: string; headers?: http.IncomingHttpHeaders; body?: string } = {};
    const url = await serve((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        Object.assign(seen, {
          method: req.method,
          url: req.url,
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
        });
        res.writeHead(201, { 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'], trailer: 'x-sum' });
        res.write('created ');
        res.addTrailers({ 'x-sum': '99' });
        res.end('it');
      });
    });
    harness = await startGateway(clientGateway(url));
    const peer = open(
      harness,
      head('POST', '/items?x=1', {
        'content-type': 'text/plain',
        'x-request': 'r',
        connection: 'x-hop',
        'x-hop': 'h',
      }),
    );
    peer.send('hello ');
    peer.send('upstream');
    peer.end();
    const reply = await replyHead(peer);
    expect(header(reply, ':status')).toBe('201');
    expect(header(reply, 'content-type')).toBe('text/plain');
    expect(headerValues(reply, 'set-cookie')).toEqual(['a=1', 'b=2']);
    const end = await peer.next('end', 5_000);
    expect(peer.text()).toBe('created it');
    expect(end.frame === 'end' && (end.ext as HttpEndEx).trailers).toEqual([{ name: 'x-sum', value: '99' }]);
    expect(seen).toMatchObject({ method: 'POST', url: '/items?x=1', body: 'hello upstream' });
    expect(seen.headers?.['x-request']).toBe('r');
    expect(seen.headers?.['host']).toBe(new URL(url).host);
    expect(seen.headers?.['x-hop']).toBeUndefined();
  });

  it('sends requests without a body when the request half ends first', async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    const url = await serve((req, res) => {
      seen.push(req.headers);
      res.end('ok');
    });
    harness = await startGateway(clientGateway(url));
    const peer = open(harness, head('GET', '/'));
    peer.end();
    await peer.next('end', 5_000);
    expect(peer.text()).toBe('ok');
    expect(seen[0]?.['transfer-encoding']).toBeUndefined();
  });

  it('stops reading the upstream while the reply half has no credit', async () => {
    const total = 32 * 1_048_576;
    let written = 0;
    const url = await serve((_req, res) => {
      const chunk = Buffer.alloc(65_536, 7);
      const write = () => {
        while (written < total) {
          written += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', write);
            return;
          }
        }
        res.end();
      };
      write();
    });
    harness = await startGateway(clientGateway(url));
    const peer = harness
      .server('app')
      .open({ route: 'up' }, { begin: head('GET', '/big'), initialWindow: 65_536 });
    peer.end();
    await peer.receivedAtLeast(65_536, 5_000);
    let last = -1;
    let same = 0;
    while (same < 5) {
      same = written === last ? same + 1 : 0;
      last = written;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(written).toBeLessThan(total);
    expect(peer.received().byteLength).toBe(65_536);
    peer.window(total);
    await peer.next('end', 10_000);
    const received = peer.dataFrames().reduce((sum, frame) => sum + frame.payload.byteLength, 0);
    expect(received).toBe(total);
  });

  it('resets with 502 TRIB_HTTP_UPSTREAM_UNAVAILABLE when the upstream is down, and reports it once', async () => {
    const port = await freePort();
    harness = await startGateway(clientGateway(`http://127.0.0.1:${port}`));
    for (let i = 0; i < 2; i++) {
      const peer = open(harness, head('GET', '/'));
      peer.end();
      expect(await failure(peer)).toEqual([502, 'TRIB_HTTP_UPSTREAM_UNAVAILABLE']);
    }
    expect(harness.events.filter((e) => e.name === HTTP_EVENTS.upstreamLost)).toHaveLength(1);
    await serve((_req, res) => res.end('back'), port);
    const peer = open(harness, head('GET', '/'));
    peer.end();
    await peer.next('end', 5_000);
    expect(peer.text()).toBe('back');
    expect(harness.events.filter((e) => e.name === HTTP_EVENTS.upstreamRecovered)).toHaveLength(1);
  });

  it('resets with 504 when the upstream does not answer within headersTimeout', async () => {
    const url = await serve(() => undefined);
    harness = await startGateway(clientGateway(url, { headersTimeout: 200 }));
    const peer = open(harness, head('GET', '/'));
    peer.end();
    expect(await failure(peer)).toEqual([504, 'TRIB_HTTP_UPSTREAM_TIMEOUT']);
  });

  it('refuses a stream whose begin is not an HTTP request head', async () => {
    harness = await startGateway(clientGateway('http://127.0.0.1:9'));
    const peer = harness.server('app').open({ route: 'up' });
    const reset = await peer.next('reset');
    expect(reset.frame === 'reset' && reset.reason.code).toBe('TRIB_HTTP_INVALID_BEGIN');
  });
});

const proxyGateway = (url: string) =>
  gateway({
    north: {
      type: 'http',
      kind: 'server',
      options: { listen: { host: '127.0.0.1', port: 0 } },
      exit: 'south',
    },
    south: { type: 'http', kind: 'client', options: { url } },
  });

describe('http server → http client: a reverse proxy', () => {
  it('proxies HTTP/1.1 and h2c requests to the upstream and back', async () => {
    const url = await serve((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'yes' });
        res.end(JSON.stringify({ method: req.method, url: req.url, body: Buffer.concat(chunks).toString() }));
      });
    });
    harness = await startGateway(proxyGateway(url));
    const gatewayUrl = urlOf(harness);
    for (const args of [['--http1.1'], ['--http2-prior-knowledge']]) {
      const res = await curl([
        ...args,
        '-X',
        'PUT',
        '--data-binary',
        'payload',
        `${gatewayUrl}/things/1?v=2`,
      ]);
      expect(res.status).toBe(200);
      expect(res.headers['x-upstream']).toBe('yes');
      expect(JSON.parse(res.body.toString())).toEqual({
        method: 'PUT',
        url: '/things/1?v=2',
        body: 'payload',
      });
    }
  });

  it('streams a large upload and download through both bindings intact', async () => {
    const url = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.pipe(res);
    });
    harness = await startGateway({
      ...proxyGateway(url),
      bindings: {
        north: {
          type: 'http',
          kind: 'server',
          options: { listen: { host: '127.0.0.1', port: 0 }, bodyLimit: 16_777_216 },
          exit: 'south',
        },
        south: { type: 'http', kind: 'client', options: { url } },
      },
    });
    const body = Buffer.alloc(5 * 1_048_576);
    for (let i = 0; i < body.length; i += 4096) body.writeUInt32BE(i, i);
    const res = await curl(
      ['--data-binary', '@-', '-H', 'content-type: application/octet-stream', `${urlOf(harness)}/echo`],
      body,
    );
    expect(res.status).toBe(200);
    expect(res.body.equals(body)).toBe(true);
  });

  it('answers 502 problem+json when the upstream is down', async () => {
    harness = await startGateway(proxyGateway(`http://127.0.0.1:${await freePort()}`));
    const res = await curl([`${urlOf(harness)}/x`]);
    expect(res.status).toBe(502);
    expect(problemOf(res.body)).toMatchObject({
      type: 'urn:tributary:error:TRIB_HTTP_UPSTREAM_UNAVAILABLE',
      status: 502,
      code: 'TRIB_HTTP_UPSTREAM_UNAVAILABLE',
    });
  });
});
