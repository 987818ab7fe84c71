// Bodies stream within credit in both directions: a slow exit holds back the uploading client,
// a slow client holds back the exit (and only its own stream); limits answer 413 and 431 and
// never let a partial body pass for a whole one; trailers travel both ways.
import { createHash } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { ScriptedPeer, TestHarness } from '@tributary/kernel/testkit';
import { responseBegin, type HttpEndEx } from '../../src/index.ts';
import { curl, gateway, problemOf, request, request2, startGateway, urlOf } from '../helpers.ts';

let harness: TestHarness | undefined;
afterEach(async () => {
  await harness?.stop(1_000);
  harness = undefined;
});

const MiB = 1_048_576;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function server(options: object = {}, far: object = { mode: 'script', window: 0 }) {
  return gateway({
    north: {
      type: 'http',
      kind: 'server',
      options: { listen: { host: '127.0.0.1', port: 0 }, ...options },
      exit: 'far',
    },
    far: { type: 'test', kind: 'client', options: far },
  });
}

/** Bytes received by `peer` (without joining them). */
function bytesOf(peer: ScriptedPeer): number {
  return peer.dataFrames().reduce((sum, frame) => sum + frame.payload.byteLength, 0);
}

/** Waits until `read()` stops changing (the pipeline upstream of it is stalled). */
async function settled(read: () => number): Promise<number> {
  let last = -1;
  let same = 0;
  while (same < 5) {
    const now = read();
    same = now === last ? same + 1 : 0;
    last = now;
    await sleep(20);
  }
  return last;
}

/** A body of `size` pseudo-random bytes, produced on demand; `pulled()` says how much was read. */
function source(size: number): { readable: Readable; pulled: () => number; digest: () => string } {
  let produced = 0;
  const hash = createHash('sha256');
  const readable = new Readable({
    highWaterMark: 16_384,
    read() {
      if (produced >= size) {
        this.push(null);
        return;
      }
      const chunk = Buffer.alloc(Math.min(16_384, size - produced), produced % 251);
      for (let i = 0; i < chunk.length; i += 997) chunk[i] = (produced + i) % 256;
      produced += chunk.length;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { readable, pulled: () => produced, digest: () => hash.copy().digest('hex') };
}

describe('http server: request bodies', () => {
  it('streams a 10 MiB body through an exit that grants credit slowly, holding the client back', async () => {
    harness = await startGateway(server({ bodyLimit: 16 * MiB }));
    const body = source(10 * MiB);
    const req = http.request(`${urlOf(harness)}/upload`, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(10 * MiB) },
    });
    const response = new Promise<http.IncomingMessage>((resolve, reject) => {
      req.on('response', resolve);
      req.on('error', reject);
    });
    body.readable.pipe(req);
    const far: ScriptedPeer = await harness.client('far').accepted();
    far.window(MiB);
    await far.receivedAtLeast(MiB);
    // The exit stopped granting: the client cannot get the rest of the body off its hands.
    const pulled = await settled(body.pulled);
    expect(far.received().byteLength).toBe(MiB);
    expect(pulled).toBeLessThan(10 * MiB);
    // Then it grants 256 KiB at a time, each once the previous grant has been used.
    while (bytesOf(far) < 10 * MiB) {
      const target = Math.min(bytesOf(far) + 256 * 1024, 10 * MiB);
      far.window(256 * 1024);
      await far.until(() => bytesOf(far) >= target);
    }
    await far.next('end');
    expect(far.received().byteLength).toBe(10 * MiB);
    expect(createHash('sha256').update(far.received()).digest('hex')).toBe(body.digest());
    far.begin(responseBegin(201, { 'content-type': 'text/plain' }));
    far.send('stored');
    far.end();
    const res = await response;
    expect(res.statusCode).toBe(201);
    res.resume();
  });

  it('answers 413 up front when content-length exceeds bodyLimit; the exit sees nothing', async () => {
    harness = await startGateway(server({ bodyLimit: 1024 }, { mode: 'echo' }));
    const res = await curl(['--data-binary', 'x'.repeat(2048), `${urlOf(harness)}/upload`]);
    expect(res.status).toBe(413);
    expect(problemOf(res.body)).toMatchObject({
      type: 'urn:tributary:error:TRIB_HTTP_BODY_TOO_LARGE',
      status: 413,
      code: 'TRIB_HTTP_BODY_TOO_LARGE',
    });
    expect(harness.client('far').begins).toHaveLength(0);
  });

  it('answers 413 when a streamed body goes over bodyLimit; the exit sees an abort, never an end', async () => {
    harness = await startGateway(server({ bodyLimit: 1024 }, { mode: 'script', window: 65_536 }));
    const res = await curl(
      ['-H', 'transfer-encoding: chunked', '--data-binary', '@-', `${urlOf(harness)}/upload`],
      Buffer.alloc(4096, 'y'),
    );
    expect(res.status).toBe(413);
    expect(res.headers['connection']).toBe('close');
    const far = await harness.client('far').accepted();
    const abort = await far.next('abort');
    expect(abort.frame === 'abort' && abort.reason.code).toBe('TRIB_HTTP_BODY_TOO_LARGE');
    expect(far.has('end')).toBe(false);
    expect(far.received().byteLength).toBeLessThanOrEqual(1024);
  });

  it('answers 413 on HTTP/2 too, resetting the stream towards the exit', async () => {
    harness = await startGateway(server({ bodyLimit: 1024 }, { mode: 'script', window: 65_536 }));
    const res = await request2(
      urlOf(harness),
      { ':method': 'POST', ':path': '/upload' },
      Buffer.alloc(4096, 'z'),
    );
    expect(res.status).toBe(413);
    const far = await harness.client('far').accepted();
    await far.next('abort');
    expect(far.has('end')).toBe(false);
  });

  it('answers 431 to a request head over maxHeaderSize, on HTTP/1.1 and HTTP/2', async () => {
    harness = await startGateway(server({ maxHeaderSize: 4096 }, { mode: 'echo' }));
    const url = urlOf(harness);
    const big = 'v'.repeat(8192);
    const h1 = await curl(['-H', `x-big: ${big}`, `${url}/x`]);
    expect(h1.status).toBe(431);
    expect(problemOf(h1.body)).toMatchObject({ status: 431, code: 'TRIB_HTTP_HEADERS_TOO_LARGE' });
    const h2 = await curl(['--http2-prior-knowledge', '-H', `x-big: ${big}`, `${url}/x`]);
    expect(h2.status).toBe(431);
    expect(h2.version).toBe('2');
    expect(harness.client('far').begins).toHaveLength(0);
  });

  it('passes request trailers to the exit and response trailers to the client', async () => {
    harness = await startGateway(server({}, { mode: 'script', window: 65_536 }));
    const req = http.request(`${urlOf(harness)}/t`, {
      method: 'POST',
      agent: false,
      headers: { te: 'trailers' },
    });
    const response = new Promise<http.IncomingMessage>((resolve) => req.on('response', resolve));
    req.write('abc');
    req.addTrailers({ 'x-request-sum': '42' });
    req.end();
    const far = await harness.client('far').accepted();
    const end = await far.next('end');
    expect(end.frame === 'end' && (end.ext as HttpEndEx).trailers).toEqual([
      { name: 'x-request-sum', value: '42' },
    ]);
    expect(far.text()).toBe('abc');
    far.begin(responseBegin(200, { trailer: 'x-response-sum' }));
    far.send('def');
    const trailers: HttpEndEx = {
      type: 'http',
      kind: 'end',
      trailers: [{ name: 'x-response-sum', value: '7' }],
    };
    far.end(trailers);
    const res = await response;
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('def');
    expect(res.trailers).toEqual({ 'x-response-sum': '7' });
  });
});

describe('http server: response bodies', () => {
  it('holds back the exit while the client does not read, and only that client', async () => {
    harness = await startGateway(server({ window: 65_536 }, { mode: 'script', window: 65_536 }));
    const url = urlOf(harness);
    const total = 32 * MiB;
    const req = http.get(`${url}/slow`, { agent: false });
    const res = await new Promise<http.IncomingMessage>((resolve) => {
      req.on('response', resolve);
      void harness!
        .client('far')
        .accepted()
        .then((far) => {
          far.begin(responseBegin(200, { 'content-type': 'application/octet-stream' }));
          const chunk = Buffer.alloc(64 * 1024, 1);
          let sent = 0;
          const pump = async () => {
            while (sent < total) {
              sent += chunk.length;
              if (!far.send(chunk)) await far.credited();
            }
            far.end();
          };
          void pump();
          slow.sent = () => sent;
        });
    });
    res.pause();
    const stalled = await settled(() => slow.sent());
    expect(stalled).toBeLessThan(total);
    // Another request is served meanwhile.
    const other = request(`${url}/other`);
    const otherFar = await harness.client('far').accepted();
    otherFar.begin(responseBegin(200));
    otherFar.send('quick');
    otherFar.end();
    expect((await other).body.toString()).toBe('quick');
    let received = 0;
    res.on('data', (chunk: Buffer) => (received += chunk.length));
    res.resume();
    await new Promise((resolve) => res.on('end', resolve));
    expect(received).toBe(total);
  });
});

const slow = { sent: () => 0 };
