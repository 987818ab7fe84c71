// Failures reach clients as RFC 9457 problem documents while the response has not begun and as
// a cut connection or stream after; a client that goes away closes its stream; stopping lets
// requests in flight finish and cuts what is left at the deadline.
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ScriptedPeer, TestHarness } from '@tributary/kernel/testkit';
import { problem, responseBegin } from '../../src/index.ts';
import { HTTP_EVENTS } from '../../src/events.ts';
import { curl, gateway, problemOf, request, startGateway, urlOf } from '../helpers.ts';

let harness: TestHarness | undefined;
afterEach(async () => {
  await harness?.stop(1_000);
  harness = undefined;
});

const server = (far: object = { mode: 'script', window: 65_536 }) =>
  gateway({
    north: { type: 'http', kind: 'server', options: { listen: { host: '127.0.0.1', port: 0 } }, exit: 'far' },
    far: { type: 'test', kind: 'client', options: far },
  });

/** Sends a request with curl and hands the exit's side of it to `act`. */
async function exchange(act: (far: ScriptedPeer) => void, args: readonly string[] = []) {
  const pending = curl([...args, `${urlOf(harness!)}/thing`]);
  const far = await harness!.client('far').accepted();
  act(far);
  return pending;
}

describe('http server: problems', () => {
  it('renders the exit’s HttpProblemEx with its headers', async () => {
    harness = await startGateway(server());
    const conflict = await exchange((far) => {
      const ext = {
        ...problem(409, 'TRIB_ITEMS_CONFLICT', 'the item changed meanwhile', { ETag: '"v2"' }),
        title: 'Conflict on item',
      };
      far.handle.in.reset({ code: ext.code, ext });
      far.handle.out.abort({ code: ext.code, ext });
    });
    expect(conflict.status).toBe(409);
    expect(conflict.headers['content-type']).toBe('application/problem+json');
    expect(conflict.headers['etag']).toBe('"v2"');
    expect(problemOf(conflict.body)).toEqual({
      type: 'urn:tributary:error:TRIB_ITEMS_CONFLICT',
      title: 'Conflict on item',
      status: 409,
      detail: 'the item changed meanwhile',
      code: 'TRIB_ITEMS_CONFLICT',
    });
  });

  it('answers 502 to an abort without a problem, never showing its message', async () => {
    harness = await startGateway(server());
    const res = await exchange((far) =>
      far.abort('TRIB_SOMETHING_BROKE', 'connect ECONNREFUSED 10.1.2.3:9092'),
    );
    expect(res.status).toBe(502);
    const body = problemOf(res.body);
    expect(body).toMatchObject({ status: 502, code: 'TRIB_HTTP_UPSTREAM_FAILED', title: 'Bad Gateway' });
    expect(res.body.toString()).not.toContain('10.1.2.3');
  });

  it('answers 503 with Retry-After to a retriable reason', async () => {
    harness = await startGateway(server());
    const res = await exchange((far) =>
      far.handle.out.abort({
        code: 'TRIB_KAFKA_UNAVAILABLE',
        ext: { type: 'kafka', kind: 'error', retriable: true, retryAfterMs: 2_500 } as never,
      }),
    );
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('3');
    expect(problemOf(res.body)).toMatchObject({ status: 503, code: 'TRIB_HTTP_SERVICE_UNAVAILABLE' });
  });

  it('answers 502 when the exit refuses the stream', async () => {
    harness = await startGateway(server({ mode: 'refuse' }));
    const res = await curl([`${urlOf(harness)}/x`]);
    expect(res.status).toBe(502);
  });

  it('cuts an HTTP/1.1 response once it has begun: the connection is closed', async () => {
    harness = await startGateway(server());
    const req = http.get(`${urlOf(harness)}/cut`, { agent: false });
    const far = await harness.client('far').accepted();
    far.begin(responseBegin(200, { 'content-length': '100' }));
    far.send('partial');
    const res = await new Promise<http.IncomingMessage>((resolve) => req.on('response', resolve));
    await new Promise((resolve) => res.once('data', resolve));
    far.abort('TRIB_TEST_BROKE');
    await new Promise((resolve) => res.on('aborted', resolve));
    expect(res.complete).toBe(false);
  });

  it('cuts an HTTP/2 response once it has begun: RST_STREAM with INTERNAL_ERROR', async () => {
    harness = await startGateway(server());
    const session = http2.connect(urlOf(harness));
    try {
      const stream = session.request({ ':path': '/cut' });
      stream.on('error', () => undefined);
      const far = await harness.client('far').accepted();
      far.begin(responseBegin(200));
      far.send('partial');
      await new Promise((resolve) => stream.once('data', resolve));
      far.abort('TRIB_TEST_BROKE');
      await new Promise((resolve) => stream.on('close', resolve));
      expect(stream.rstCode).toBe(http2.constants.NGHTTP2_INTERNAL_ERROR);
    } finally {
      session.close();
    }
  });
});

describe('http server: clients going away', () => {
  it('aborts the stream when the client drops the connection mid-request', async () => {
    harness = await startGateway(server());
    const req = http.request(`${urlOf(harness)}/up`, {
      method: 'POST',
      agent: false,
      headers: { 'content-length': '1000' },
    });
    req.on('error', () => undefined);
    req.write('only a part');
    const far = await harness.client('far').accepted();
    await far.receivedAtLeast(11);
    req.destroy();
    const abort = await far.next('abort');
    expect(abort.frame === 'abort' && abort.reason.code).toBe('TRIB_HTTP_CLIENT_ABORTED');
    expect(far.has('end')).toBe(false);
  });

  it('resets the reply when the client drops the connection mid-response', async () => {
    harness = await startGateway(server());
    const req = http.get(`${urlOf(harness)}/down`, { agent: false });
    req.on('error', () => undefined);
    const far = await harness.client('far').accepted();
    far.begin(responseBegin(200));
    far.send('first');
    await new Promise<void>((resolve) => req.on('response', (res) => res.once('data', () => resolve())));
    req.destroy();
    const reset = await far.next('reset');
    expect(reset.frame === 'reset' && reset.reason.code).toBe('TRIB_HTTP_CLIENT_ABORTED');
  });
});

describe('http server: stopping', () => {
  it('lets a request in flight finish, refusing new connections meanwhile', async () => {
    harness = await startGateway(server());
    const url = urlOf(harness);
    const inFlight = request(`${url}/slow`);
    const far = await harness.client('far').accepted();
    const stopped = harness.stop(10_000);
    const port = Number(new URL(url).port);
    await expect(
      new Promise((resolve, reject) =>
        net.connect(port, '127.0.0.1').on('connect', resolve).on('error', reject),
      ),
    ).rejects.toThrow(/ECONNREFUSED/);
    far.begin(responseBegin(200));
    far.send('done');
    far.end();
    const res = await inFlight;
    expect([res.status, res.body.toString(), res.headers['connection']]).toEqual([200, 'done', 'close']);
    await stopped;
    expect(harness.events.find((e) => e.name === HTTP_EVENTS.serverStopped)?.detail).toEqual({ aborted: 0 });
    harness = undefined;
  });

  it('answers what is left at the deadline with 503 and closes its stream', async () => {
    harness = await startGateway(server());
    const inFlight = request(`${urlOf(harness)}/never`);
    const far = await harness.client('far').accepted();
    await harness.stop(200);
    const res = await inFlight;
    expect(res.status).toBe(503);
    expect(problemOf(res.body)).toMatchObject({ code: 'TRIB_HTTP_STOPPING' });
    await far.until((f) => f.frame === 'abort' || f.frame === 'reset');
    expect(harness.events.find((e) => e.name === HTTP_EVENTS.serverStopped)?.detail).toEqual({ aborted: 1 });
    harness = undefined;
  });
});
