// HTTP/1.1 and HTTP/2 on every listener: h2 over TLS by ALPN (HTTP/1.1 as fallback), h2c with
// prior knowledge and HTTP/1.1 on one plaintext port, several listeners, and mutual TLS.
import { readFileSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TestHarness } from '@tributary/kernel/testkit';
import type { KafkaCerts } from '../../../../tools/kafka/certs.ts';
import { header, isHttpBegin } from '../../src/index.ts';
import { HTTP_EVENTS } from '../../src/events.ts';
import { addresses, certs, curl, gateway, request2, startGateway, urlOf } from '../helpers.ts';

let harness: TestHarness | undefined;
let files: KafkaCerts;
beforeAll(async () => {
  files = await certs();
}, 60_000);
afterEach(async () => {
  await harness?.stop(1_000);
  harness = undefined;
});

function tlsServer(tls: object = {}, extra: object = {}) {
  return gateway({
    north: {
      type: 'http',
      kind: 'server',
      options: {
        listen: [
          { host: '127.0.0.1', port: 0 },
          { host: '127.0.0.1', port: 0, tls: true },
        ],
        tls: {
          key: { file: files.brokerKey },
          cert: { file: files.brokerCert },
          ca: { file: files.ca },
          ...tls,
        },
        ...extra,
      },
      exit: 'far',
    },
    far: { type: 'test', kind: 'client', options: { mode: 'echo' } },
  });
}

describe('http server: protocols', () => {
  it('listens on every address, with the bound ports discoverable and announced', async () => {
    harness = await startGateway(tlsServer());
    const bound = addresses(harness);
    expect(bound.map((a) => a.tls)).toEqual([false, true]);
    expect(bound.every((a) => a.port > 0)).toBe(true);
    const event = harness.events.find((e) => e.name === HTTP_EVENTS.serverListening);
    expect(event?.detail).toEqual({ addresses: bound.map((a) => a.url) });
  });

  it('serves HTTP/1.1 and h2c with prior knowledge on the same plaintext port', async () => {
    harness = await startGateway(tlsServer());
    const url = urlOf(harness, 'north', 0);
    const h1 = await curl(['--http1.1', '--data-binary', 'one', `${url}/a`]);
    expect([h1.status, h1.version, h1.body.toString()]).toEqual([200, '1.1', 'one']);
    const h2c = await curl(['--http2-prior-knowledge', '--data-binary', 'two', `${url}/b`]);
    expect([h2c.status, h2c.version, h2c.body.toString()]).toEqual([200, '2', 'two']);
    const node = await request2(url, { ':method': 'POST', ':path': '/c' }, 'three');
    expect(node.body.toString()).toBe('three');
    const begins = harness.client('far').begins.filter(isHttpBegin);
    expect(begins.map((b) => header(b, ':scheme'))).toEqual(['http', 'http', 'http']);
  });

  it('negotiates h2 over TLS by ALPN and falls back to HTTP/1.1', async () => {
    harness = await startGateway(tlsServer());
    const url = urlOf(harness, 'north', 1);
    const h2 = await curl(['--http2', '--cacert', files.ca, '--data-binary', 'secure', `${url}/a`]);
    expect([h2.status, h2.version, h2.body.toString()]).toEqual([200, '2', 'secure']);
    const h1 = await curl(['--http1.1', '--cacert', files.ca, `${url}/b`]);
    expect([h1.status, h1.version]).toEqual([200, '1.1']);
    const begin = harness.client('far').begins.filter(isHttpBegin)[0];
    expect(begin && header(begin, ':scheme')).toBe('https');
    expect(begin?.tls?.protocol).toMatch(/^TLSv1\.[23]$/);
    expect(begin?.tls?.peerSubject).toBeUndefined();
  });

  it('refuses TLS older than 1.2', async () => {
    harness = await startGateway(tlsServer());
    const res = await curl([
      '--tlsv1.1',
      '--tls-max',
      '1.1',
      '--cacert',
      files.ca,
      `${urlOf(harness, 'north', 1)}/`,
    ]);
    expect(res.exit).not.toBe(0);
    expect(harness.client('far').begins).toHaveLength(0);
  });

  it('with clientAuth require, accepts a client certificate signed by the CA and refuses none', async () => {
    harness = await startGateway(tlsServer({ clientAuth: 'require' }));
    const url = urlOf(harness, 'north', 1);
    const ok = await curl([
      '--http2',
      '--cacert',
      files.ca,
      '--cert',
      files.clientCert,
      '--key',
      files.clientKey,
      `${url}/m`,
    ]);
    expect([ok.status, ok.version]).toEqual([200, '2']);
    const begin = harness.client('far').begins.filter(isHttpBegin)[0];
    expect(begin?.tls?.peerSubject).toBe('CN=tributary-client');
    const refused = await curl(['--cacert', files.ca, `${url}/m`]);
    expect(refused.exit).not.toBe(0);
    expect(refused.status).toBe(0);
    // A certificate the CA did not sign is refused too: the server's own, self-presented.
    const foreign = await curl([
      '--cacert',
      files.ca,
      '--cert',
      files.ca,
      '--key',
      files.brokerKey,
      `${url}/m`,
    ]);
    expect(foreign.status).toBe(0);
    expect(harness.client('far').begins).toHaveLength(1);
  });

  it('with clientAuth request, serves clients without a certificate and names those with one', async () => {
    harness = await startGateway(tlsServer({ clientAuth: 'request' }));
    const url = urlOf(harness, 'north', 1);
    expect((await curl(['--cacert', files.ca, `${url}/anonymous`])).status).toBe(200);
    expect(
      (
        await curl([
          '--cacert',
          files.ca,
          '--cert',
          files.clientCert,
          '--key',
          files.clientKey,
          `${url}/named`,
        ])
      ).status,
    ).toBe(200);
    const begins = harness.client('far').begins.filter(isHttpBegin);
    expect(begins.map((b) => b.tls?.peerSubject)).toEqual([undefined, 'CN=tributary-client']);
  });

  it('reads TLS material from the binding vault', async () => {
    const config = tlsServer({
      key: { vault: 'server' },
      cert: { vault: 'server' },
      ca: { vault: 'ca' },
    }) as {
      bindings: Record<string, Record<string, unknown>>;
    };
    config.bindings['north']!['vault'] = 'pem';
    harness = await startGateway({
      ...config,
      vaults: {
        pem: {
          type: 'filesystem',
          options: {
            keys: { server: files.brokerKey },
            certificates: { server: files.brokerCert },
            trust: { ca: files.ca },
          },
        },
      },
    });
    const res = await request2(urlOf(harness, 'north', 1), { ':path': '/v' }, undefined, {
      ca: readFileSync(files.ca),
    });
    expect(res.status).toBe(200);
  });

  it('serves HTTP/1.1 only when http2 is off', async () => {
    harness = await startGateway(tlsServer({}, { http2: false }));
    const h2 = await curl(['--http2', '--cacert', files.ca, `${urlOf(harness, 'north', 1)}/a`]);
    expect([h2.status, h2.version]).toEqual([200, '1.1']);
  });
});
