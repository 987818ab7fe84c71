// The `sse` binding through the wire: Node's HTTP/1.1 and HTTP/2 clients → the real `http` server
// binding → `sse` → a scripted `test` client as the exit, which plays the event source.
import { afterEach, describe, expect, it } from 'vitest';
import { definePlugin, type GuardFactory, type GuardSession, type StreamError } from '@tributary/kernel';
import { createTestKernel, type ScriptedPeer, type TestHarness } from '@tributary/kernel/testkit';
import { plugin as httpPlugin } from '@tributary/binding-http/plugin';
import { boundAddresses } from '@tributary/binding-http';
import { SseClient } from '../../../tools/it/sse-client.ts';
import { plugin } from '../src/plugin.ts';
import { isSseBegin, sseEvent, sseProblem, type SseBeginEx } from '../src/index.ts';

/**
 * A guard whose sessions a test can change, standing in for a re-authorization: the kernel's
 * `test` guard answers `reauthorize` with a new session object, and nothing in the kernel yet
 * swaps it into the streams that carry the old one, so a test cannot reach a stream's session
 * through it. These sessions are plain objects whose `expiresAt` / `challengeAt` the test moves,
 * exactly what the `sse` binding must notice when its timers fire.
 */
class MovableSession implements GuardSession {
  readonly guard: string;
  readonly identity = 'movable';
  readonly attributes = {};
  readonly roles = new Set(['read']);
  expiresAt: number | null;
  challengeAt: number | null;
  constructor(guard: string, expiresAt: number, challengeAt: number) {
    this.guard = guard;
    this.expiresAt = expiresAt;
    this.challengeAt = challengeAt;
  }
  verify(roles: readonly string[], now = Date.now()): boolean {
    return (this.expiresAt === null || this.expiresAt > now) && roles.every((r) => this.roles.has(r));
  }
}
const movable: MovableSession[] = [];
const movableGuard: GuardFactory<{ expiresIn: number; challengeIn: number }> = {
  schema: {
    type: 'object',
    required: ['expiresIn', 'challengeIn'],
    properties: { expiresIn: { type: 'number' }, challengeIn: { type: 'number' } },
  },
  create: (_ctx, config) => ({
    authorize: (credentials) => {
      if (credentials !== 'movable')
        return Promise.resolve({
          ok: false,
          failure: { code: 'TRIB_GUARD_INVALID_CREDENTIALS', message: 'unknown', status: 401 },
        });
      const now = Date.now();
      const session = new MovableSession(
        config.name,
        now + config.options.expiresIn * 1000,
        now + config.options.challengeIn * 1000,
      );
      movable.push(session);
      return Promise.resolve({ ok: true, session });
    },
  }),
};
const guardPlugin = definePlugin({ name: 'sse-it-guards', spi: '^1.0.0', guards: { movable: movableGuard } });

interface Setup {
  readonly sse?: Record<string, unknown>;
  readonly server?: Record<string, unknown>;
  readonly guarded?: Record<string, string[]>;
  readonly guards?: Record<string, unknown>;
}

let harness: TestHarness | undefined;
afterEach(async () => {
  await harness?.stop(1_000);
  harness = undefined;
});

async function start(setup: Setup = {}): Promise<string> {
  harness = await createTestKernel({
    config: {
      name: 'sse-wire',
      bindings: {
        north_http: {
          type: 'http',
          kind: 'server',
          options: { listen: [{ host: '127.0.0.1', port: 0 }], ...setup.server },
          exit: 'sse0',
        },
        sse0: {
          type: 'sse',
          kind: 'server',
          options: setup.sse ?? {},
          routes: [
            {
              when: [{ path: '/events/{key}' }],
              exit: 'south',
              ...(setup.guarded ? { guarded: setup.guarded } : {}),
            },
          ],
        },
        south: { type: 'test', kind: 'client', options: { mode: 'script' } },
      },
      ...(setup.guards ? { guards: setup.guards } : {}),
    },
    plugins: [httpPlugin, plugin, guardPlugin],
    logLevel: 'warn',
  });
  const address = boundAddresses(harness.gateway.binding('north_http'))?.[0];
  if (!address) throw new Error('http server bound no address');
  return address.url;
}

/** The `sse` stream the binding opened towards the scripted exit, and its begin. */
async function source(): Promise<{ peer: ScriptedPeer; begin: SseBeginEx }> {
  const peer = await harness!.client('south').accepted(5_000);
  const begin = harness!.client('south').begins.at(-1);
  if (!isSseBegin(begin)) throw new Error(`not an sse begin: ${JSON.stringify(begin)}`);
  return { peer, begin };
}

const resetOf = async (peer: ScriptedPeer, timeoutMs = 5_000): Promise<StreamError> => {
  const frame = await peer.until((f) => f.frame === 'reset', timeoutMs);
  if (frame.frame !== 'reset') throw new Error('no reset');
  return frame.reason;
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('sse server over HTTP/1.1 and HTTP/2', () => {
  it.each([
    ['HTTP/1.1', false],
    ['HTTP/2', true],
  ])(
    'answers 200 text/event-stream and writes events with id, type, retry and multi-line data (%s)',
    async (_name, h2) => {
      const origin = await start();
      const opening = SseClient.open(`${origin}/events/AAPL?x=1`, { http2: h2 });
      const { peer, begin } = await source();
      expect(begin).toEqual({
        type: 'sse',
        kind: 'begin',
        path: '/events/AAPL',
        query: 'x=1',
        params: { key: 'AAPL' },
      });
      peer.begin();
      const client = await opening;
      expect(client.status).toBe(200);
      expect(client.headers['content-type']).toBe('text/event-stream');
      expect(client.headers['cache-control']).toBe('no-cache');
      peer.send('{"price":1}', sseEvent({ id: 'AQ', event: 'quote', retry: 1500 }));
      peer.send('line one\r\nline two\rline three\n', sseEvent({ id: 'Ag' }));
      peer.send(' plain');
      const events = await client.eventsAtLeast(3);
      expect(events).toEqual([
        { type: 'quote', data: '{"price":1}', lastEventId: 'AQ' },
        { type: 'message', data: 'line one\nline two\nline three\n', lastEventId: 'Ag' },
        { type: 'message', data: ' plain', lastEventId: 'Ag' },
      ]);
      expect(client.retry).toBe(1500);
      // The exit ends: the response ends in order, and the client would reconnect.
      peer.end();
      expect(await client.closed).toBe('end');
    },
  );

  it('passes Last-Event-ID, else the lastEventId query parameter, to the exit', async () => {
    const origin = await start();
    const withHeader = SseClient.open(`${origin}/events/k?lastEventId=old`, { lastEventId: 'newer' });
    const resumed = await source();
    expect(resumed.begin.lastEventId).toBe('newer');
    // An event without an id of its own keeps the client's resume point where it was.
    resumed.peer.begin();
    resumed.peer.send('no id');
    expect((await (await withHeader).eventsAtLeast(1))[0]).toEqual({
      type: 'message',
      data: 'no id',
      lastEventId: 'newer',
    });
    const withQuery = SseClient.open(`${origin}/events/k?lastEventId=from-query`);
    expect((await source()).begin.lastEventId).toBe('from-query');
    const without = SseClient.open(`${origin}/events/k`);
    expect((await source()).begin).not.toHaveProperty('lastEventId');
    void withHeader;
    void withQuery;
    void without;
  });

  it('reads the query parameter the option names, or none', async () => {
    const origin = await start({ sse: { lastEventIdQuery: 'since' } });
    void SseClient.open(`${origin}/events/k?since=s1&lastEventId=x`);
    expect((await source()).begin.lastEventId).toBe('s1');
    await harness!.stop(1_000);
    const origin2 = await start({ sse: { lastEventIdQuery: false } });
    void SseClient.open(`${origin2}/events/k?lastEventId=x`);
    expect((await source()).begin).not.toHaveProperty('lastEventId');
  });

  it('refuses what is not an event-stream request with problem documents: 406, 405, 404', async () => {
    const origin = await start();
    const notSse = await fetch(`${origin}/events/k`, { headers: { accept: 'application/json' } });
    expect(notSse.status).toBe(406);
    expect(notSse.headers.get('content-type')).toBe('application/problem+json');
    expect(await notSse.json()).toMatchObject({ status: 406, code: 'TRIB_SSE_NOT_ACCEPTABLE' });
    const post = await fetch(`${origin}/events/k`, {
      method: 'POST',
      headers: { accept: 'text/event-stream' },
      body: 'x',
    });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
    const unknown = await SseClient.open(`${origin}/elsewhere`);
    expect(unknown.status).toBe(404);
    await unknown.closed;
    expect(JSON.parse(unknown.body)).toMatchObject({ code: 'TRIB_SSE_NO_ROUTE' });
  });

  it("answers an exit's failure before its begin with the exit's status, a bare failure with 502", async () => {
    const origin = await start();
    const refused = SseClient.open(`${origin}/events/k`);
    const first = await source();
    const reason = {
      code: 'TRIB_TEST_DOWN',
      ext: sseProblem(503, 'TRIB_TEST_DOWN', 'try later', { 'Retry-After': '7' }),
    };
    first.peer.handle.out.abort(reason);
    first.peer.handle.in.reset(reason);
    const client = await refused;
    await client.closed;
    expect(client.status).toBe(503);
    expect(client.headers['retry-after']).toBe('7');
    expect(JSON.parse(client.body)).toMatchObject({
      status: 503,
      code: 'TRIB_TEST_DOWN',
      detail: 'try later',
    });

    const bare = SseClient.open(`${origin}/events/k`);
    (await source()).peer.abort('TRIB_TEST_BROKEN');
    const failed = await bare;
    await failed.closed;
    expect(failed.status).toBe(502);
    expect(JSON.parse(failed.body)).toMatchObject({ code: 'TRIB_SSE_UPSTREAM_FAILED' });
  });

  it('sends retry when the stream opens, heartbeat comments while idle, and tells the exit when the client goes away', async () => {
    const origin = await start({ sse: { heartbeatMs: 100, retryMs: 1234 } });
    const opening = SseClient.open(`${origin}/events/k`);
    const { peer } = await source();
    peer.begin();
    const client = await opening;
    // The opening comment, then heartbeats.
    await client.until((c) => c.comments.length >= 4, 5_000, 'three heartbeats');
    expect(client.events).toEqual([]);
    expect(client.retry).toBe(1234);
    client.close();
    expect(await resetOf(peer)).toMatchObject({ code: 'TRIB_SSE_CLIENT_CLOSED' });
  });

  it('closes a stream whose client lags past maxLagBytes, without holding back another', async () => {
    const origin = await start({ sse: { maxLagBytes: 256 * 1024 } });
    const slowOpening = SseClient.open(`${origin}/events/slow`);
    const slow = await source();
    slow.peer.begin();
    const slowClient = await slowOpening;
    const fastOpening = SseClient.open(`${origin}/events/fast`);
    const fast = await source();
    fast.peer.begin();
    const fastClient = await fastOpening;

    slowClient.pause();
    const chunk = 'x'.repeat(64 * 1024);
    let sent = 0;
    // Bounded: loopback socket buffers hold a few MiB at most.
    while (!slow.peer.has('reset') && sent < 2_000) {
      slow.peer.send(chunk, sseEvent({ id: String(sent) }));
      sent++;
      // The other stream keeps flowing meanwhile.
      if (sent % 50 === 0) {
        fast.peer.send(`tick ${sent}`, sseEvent({ id: String(sent) }));
        await fastClient.until((c) => c.events.some((e) => e.data === `tick ${sent}`), 5_000, `tick ${sent}`);
      }
      await sleep(1);
    }
    expect(await resetOf(slow.peer)).toMatchObject({ code: 'TRIB_SSE_LAGGING' });
    slowClient.resume();
    expect(await slowClient.closed).toBe('error');
    // What the slow client did get are whole events, in order; a cut event is never dispatched.
    const ids = slowClient.events.map((e) => Number(e.lastEventId));
    expect(ids).toEqual(ids.map((_, i) => i));
    expect(ids.length).toBeLessThan(sent);
    expect(slowClient.events.every((e) => e.data === chunk)).toBe(true);
    expect(fastClient.outcome).toBeUndefined();
  });
});

describe('continuous authorization', () => {
  const guardedSetup = (guards: Record<string, unknown>, guard: string): Setup => ({
    server: {
      authorization: { [guard]: { credentials: { headers: { authorization: 'Bearer {credentials}' } } } },
    },
    guarded: { [guard]: ['read'] },
    guards,
  });

  it('sends a challenge event at challengeAt and ends the stream at expiresAt (test guard)', async () => {
    const origin = await start(
      guardedSetup(
        {
          g0: {
            type: 'test',
            options: { credentials: { short: { roles: ['read'], challengeIn: 0.5, expiresIn: 1.5 } } },
          },
        },
        'g0',
      ),
    );
    expect((await SseClient.open(`${origin}/events/k`)).status).toBe(401);
    const started = Date.now();
    const opening = SseClient.open(`${origin}/events/k`, { headers: { authorization: 'Bearer short' } });
    const { peer } = await source();
    peer.begin();
    const client = await opening;
    expect(client.status).toBe(200);
    peer.send('before', sseEvent({ id: '1' }));
    await client.until((c) => c.events.some((e) => e.type === 'challenge'), 3_000, 'a challenge');
    const challengedAfter = Date.now() - started;
    expect(challengedAfter).toBeGreaterThanOrEqual(400);
    const challenge = client.events.find((e) => e.type === 'challenge')!;
    expect(JSON.parse(challenge.data)).toEqual({
      method: 'POST',
      headers: { 'content-type': 'application/x-challenge-response' },
    });
    // The challenge repeats the current id: the client's resume point never moves back.
    expect(challenge.lastEventId).toBe('1');
    expect(await client.closed).toBe('end');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
    expect(await resetOf(peer)).toMatchObject({ code: 'TRIB_SSE_EXPIRED' });
  });

  it('keeps the stream open when the session is extended before expiry, and re-reads it every time', async () => {
    movable.length = 0;
    const origin = await start(
      guardedSetup({ m0: { type: 'movable', options: { challengeIn: 0.3, expiresIn: 1 } } }, 'm0'),
    );
    const started = Date.now();
    const opening = SseClient.open(`${origin}/events/k`, { headers: { authorization: 'Bearer movable' } });
    const { peer } = await source();
    peer.begin();
    const client = await opening;
    await client.until((c) => c.events.some((e) => e.type === 'challenge'), 3_000, 'the first challenge');
    // What a re-authorization with a fresh token does: a later expiry and a later challenge.
    const session = movable.at(-1)!;
    session.expiresAt = started + 2_500;
    session.challengeAt = started + 1_800;
    await sleep(Math.max(0, started + 1_300 - Date.now()));
    // Past the first expiry: still open, events still flow.
    expect(client.outcome).toBeUndefined();
    peer.send('still here', sseEvent({ id: '2' }));
    await client.until(
      (c) => c.events.some((e) => e.data === 'still here'),
      2_000,
      'an event after the first expiry',
    );
    await client.until(
      (c) => c.events.filter((e) => e.type === 'challenge').length === 2,
      3_000,
      'the second challenge',
    );
    expect(await client.closed).toBe('end');
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_400);
    expect(await resetOf(peer)).toMatchObject({ code: 'TRIB_SSE_EXPIRED' });
  });
});
