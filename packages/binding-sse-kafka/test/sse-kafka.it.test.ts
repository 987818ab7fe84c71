// sse-kafka through the wire: SSE clients (Node's HTTP client) → http → sse → sse-kafka → Kafka
// cache and client → a real broker.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import type { TestHarness } from '@tributary/kernel/testkit';
import { kafka, uniqueTopic } from '../../../tools/it/context.ts';
import { SseClient } from '../../../tools/it/sse-client.ts';
import { createTopic, produce, startGateway } from './helpers.ts';

const EVENTS_ROUTE = (topic: string) => ({
  when: [{ path: '/events/{key}/{tag}' }],
  exit: 'kafka_cache',
  with: {
    topic,
    filters: [{ key: '${params.key}', headers: { tag: '${params.tag}' } }],
    event: { header: 'event-type' },
  },
});

const quote = (key: string, tag: string, price: number, extra: Record<string, string> = {}) => ({
  key,
  value: JSON.stringify({ symbol: key, price }),
  headers: { tag, ...extra },
});

let harness: TestHarness | undefined;
const clients: SseClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await harness?.stop(1_000);
  harness = undefined;
});

async function open(url: string, options: Parameters<typeof SseClient.open>[1] = {}): Promise<SseClient> {
  const client = await SseClient.open(url, options);
  clients.push(client);
  return client;
}

describe('sse-kafka', () => {
  it('sends the records of its key and tag only, each with a token id and a type from its header', async () => {
    const topic = uniqueTopic('sse-filter');
    await createTopic(kafka().bootstrap, topic, 2, { 'cleanup.policy': 'compact' });
    const started = await startGateway({ bootstrap: kafka().bootstrap, routes: [EVENTS_ROUTE(topic)] });
    harness = started.harness;
    const client = await open(`${started.origin}/events/AAPL/nasdaq`);
    expect(client.status).toBe(200);
    expect(client.headers['content-type']).toBe('text/event-stream');
    await produce(kafka().bootstrap, topic, [
      quote('MSFT', 'nasdaq', 10),
      quote('AAPL', 'nyse', 11),
      quote('AAPL', 'nasdaq', 1, { 'event-type': 'quote' }),
      quote('AAPLX', 'nasdaq', 12),
      quote('AAPL', 'nasdaq', 2),
    ]);
    const events = await client.eventsAtLeast(2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(client.events.map((e) => [e.type, e.data])).toEqual([
      ['quote', '{"symbol":"AAPL","price":1}'],
      ['message', '{"symbol":"AAPL","price":2}'],
    ]);
    expect(events[0]!.lastEventId).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(events[1]!.lastEventId).not.toBe(events[0]!.lastEventId);
  });

  it('gives a late subscriber the latest value per key, then live records', async () => {
    const topic = uniqueTopic('sse-late');
    await createTopic(kafka().bootstrap, topic, 1, { 'cleanup.policy': 'compact' });
    await produce(kafka().bootstrap, topic, [
      quote('AAPL', 'nasdaq', 1),
      quote('AAPL', 'nasdaq', 2),
      quote('AAPL', 'nasdaq', 3),
    ]);
    const started = await startGateway({ bootstrap: kafka().bootstrap, routes: [EVENTS_ROUTE(topic)] });
    harness = started.harness;
    const client = await open(`${started.origin}/events/AAPL/nasdaq`);
    await client.eventsAtLeast(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(client.events.map((e) => e.data)).toEqual(['{"symbol":"AAPL","price":3}']);
    await produce(kafka().bootstrap, topic, [quote('AAPL', 'nasdaq', 4)]);
    await client.eventsAtLeast(2);
    expect(client.events.map((e) => e.data)).toEqual([
      '{"symbol":"AAPL","price":3}',
      '{"symbol":"AAPL","price":4}',
    ]);
  });

  it('resumes exactly after Last-Event-ID, on a restarted gateway, with tombstones as delete events', async () => {
    const topic = uniqueTopic('sse-resume');
    await createTopic(kafka().bootstrap, topic, 3, { 'cleanup.policy': 'compact' });
    // A stream of all nasdaq symbols: one filter on the tag header only.
    const route = {
      when: [{ path: '/events/{tag}' }],
      exit: 'kafka_cache',
      with: { topic, filters: [{ headers: { tag: '${params.tag}' } }] },
    };
    await produce(kafka().bootstrap, topic, [quote('AAPL', 'nasdaq', 1), quote('MSFT', 'nasdaq', 1)]);
    let started = await startGateway({ bootstrap: kafka().bootstrap, routes: [route] });
    harness = started.harness;
    const first = await open(`${started.origin}/events/nasdaq`);
    await first.eventsAtLeast(2);
    const resumeFrom = first.lastEventId;
    first.close();
    await harness.stop(1_000);

    // While no gateway runs: an update, another symbol, a deletion (it carries the tag header, so
    // that the tag filter sees it), and a record of another tag.
    await produce(kafka().bootstrap, topic, [
      quote('AAPL', 'nasdaq', 2),
      quote('GOOG', 'nasdaq', 1),
      { key: 'MSFT', headers: { tag: 'nasdaq' } },
      quote('IBM', 'nyse', 1),
    ]);
    started = await startGateway({ bootstrap: kafka().bootstrap, routes: [route] });
    harness = started.harness;
    const resumed = await open(`${started.origin}/events/nasdaq`, { lastEventId: resumeFrom });
    await resumed.eventsAtLeast(3);
    await produce(kafka().bootstrap, topic, [quote('AAPL', 'nasdaq', 3)]);
    await resumed.eventsAtLeast(4);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const seen = resumed.events.map((e) => [e.type, e.data]);
    // Partitions interleave; per key the order is Kafka's.
    expect(seen.slice(0, 3)).toEqual(
      expect.arrayContaining([
        ['message', '{"symbol":"AAPL","price":2}'],
        ['message', '{"symbol":"GOOG","price":1}'],
        ['delete', 'MSFT'],
      ]),
    );
    expect(seen[3]).toEqual(['message', '{"symbol":"AAPL","price":3}']);
    expect(seen).toHaveLength(4);

    // The same id through the query parameter (a client's first connection) resumes the same
    // way. On a compacted topic a key's missed updates collapse into its latest: AAPL 2 was
    // superseded by AAPL 3 meanwhile, so this client gets AAPL 3 only.
    const viaQuery = await open(
      `${started.origin}/events/nasdaq?lastEventId=${encodeURIComponent(resumeFrom)}`,
    );
    await viaQuery.eventsAtLeast(3);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(viaQuery.events.map((e) => [e.type, e.data]).sort()).toEqual(
      [
        ['message', '{"symbol":"AAPL","price":3}'],
        ['message', '{"symbol":"GOOG","price":1}'],
        ['delete', 'MSFT'],
      ].sort(),
    );
  });

  it('refuses a last event id that is not a token of this gateway with 400, not a silent restart', async () => {
    const topic = uniqueTopic('sse-badid');
    await createTopic(kafka().bootstrap, topic, 1);
    const started = await startGateway({ bootstrap: kafka().bootstrap, routes: [EVENTS_ROUTE(topic)] });
    harness = started.harness;
    const client = await open(`${started.origin}/events/AAPL/nasdaq`, { lastEventId: 'not-a-token' });
    await client.closed;
    expect(client.status).toBe(400);
    expect(JSON.parse(client.body)).toMatchObject({ code: 'TRIB_SSE_KAFKA_INVALID_LAST_EVENT_ID' });
  });

  it('filters on the guard identity; a session without identity matches nothing', async () => {
    const topic = uniqueTopic('sse-identity');
    await createTopic(kafka().bootstrap, topic, 1);
    const started = await startGateway({
      bootstrap: kafka().bootstrap,
      server: {
        authorization: { g0: { credentials: { headers: { authorization: 'Bearer {credentials}' } } } },
      },
      guards: {
        g0: {
          type: 'test',
          options: {
            credentials: { alice: { identity: 'alice', roles: ['read'] }, nobody: { roles: ['read'] } },
          },
        },
      },
      routes: [
        {
          when: [{ path: '/mine' }],
          exit: 'kafka_cache',
          guarded: { g0: ['read'] },
          with: { topic, filters: [{ key: "${guarded['g0'].identity}" }] },
        },
      ],
    });
    harness = started.harness;
    expect((await open(`${started.origin}/mine`)).status).toBe(401);
    const alice = await open(`${started.origin}/mine`, { headers: { authorization: 'Bearer alice' } });
    const nobody = await open(`${started.origin}/mine`, { headers: { authorization: 'Bearer nobody' } });
    expect([alice.status, nobody.status]).toEqual([200, 200]);
    await produce(kafka().bootstrap, topic, [
      { key: 'bob', value: 'for bob' },
      { key: '', value: 'empty key' },
      { key: 'alice', value: 'for alice' },
    ]);
    await alice.eventsAtLeast(1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(alice.events.map((e) => e.data)).toEqual(['for alice']);
    expect(nobody.events).toEqual([]);
  });

  it('answers 503 with Retry-After while Kafka cannot be reached, before the stream began', async () => {
    // A port nothing listens on.
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const started = await startGateway({
      bootstrap: `127.0.0.1:${port}`,
      routes: [EVENTS_ROUTE('events')],
      sseKafka: { retryAfterSeconds: 3 },
    });
    harness = started.harness;
    const client = await open(`${started.origin}/events/AAPL/nasdaq`);
    await client.closed;
    expect(client.status).toBe(503);
    expect(client.headers['retry-after']).toBe('3');
    expect(JSON.parse(client.body)).toMatchObject({ code: 'TRIB_SSE_KAFKA_UNAVAILABLE', status: 503 });
    expect(harness.events.map((e) => e.name)).toContain('sse-kafka.kafka.unavailable');
  });
});
