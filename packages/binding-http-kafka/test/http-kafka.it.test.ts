// The http-kafka mapping against a real broker: HTTP streams from the kernel's test server, the
// Kafka cache and client bindings, and kcat as the independent Kafka client on the other side.
import { afterEach, describe, expect, it } from 'vitest';
import type { TestHarness } from '@tributary/kernel/testkit';
import { kafka, uniqueTopic } from '../../../tools/it/context.ts';
import { kcat, kcatArgs } from '../../../tools/kafka/clients.ts';
import { createTopic, gateway, request, response, send, sleep } from './helpers.ts';
import { EVENTS } from '../src/events.ts';

interface KcatRecord {
  key: string | null;
  payload: string | null;
  headers?: string[];
  partition: number;
  offset: number;
}

async function consume(topic: string, expected: number): Promise<KcatRecord[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const result = await kcat([
      ...kcatArgs(kafka(), 'plaintext'),
      '-C',
      '-t',
      topic,
      '-J',
      '-e',
      '-o',
      'beginning',
      '-q',
    ]);
    const records = result.stdout
      .split('\n')
      .filter((line) => line.trim().startsWith('{'))
      .map((line) => JSON.parse(line) as KcatRecord);
    if (records.length >= expected || Date.now() > deadline) return records;
    await sleep(200);
  }
}

function headersOf(record: KcatRecord): Record<string, string> {
  const list = record.headers ?? [];
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) out[list[i]!] ??= list[i + 1]!;
  return out;
}

async function produceWithKcat(topic: string, key: string, value: string, headers: Record<string, string>) {
  const args = [...kcatArgs(kafka(), 'plaintext'), '-P', '-t', topic, '-K', '\t'];
  for (const [name, v] of Object.entries(headers)) args.push('-H', `${name}=${v}`);
  const result = await kcat(args, `${key}\t${value}\n`);
  expect(result.code, result.stderr).toBe(0);
}

let harnesses: TestHarness[] = [];
afterEach(async () => {
  await Promise.all(harnesses.map((h) => h.stop(500)));
  harnesses = [];
});

async function start(...args: Parameters<typeof gateway>): Promise<TestHarness> {
  const harness = await gateway(...args);
  harnesses.push(harness);
  return harness;
}

function crudRoutes(topic: string) {
  return [
    {
      when: [{ method: 'POST', path: '/items' }],
      exit: 'kafka_cache',
      with: { capability: 'produce', topic, key: '${idempotencyKey}' },
    },
    {
      when: [
        { method: 'PUT', path: '/items/{id}' },
        { method: 'DELETE', path: '/items/{id}' },
      ],
      exit: 'kafka_cache',
      with: { capability: 'produce', topic, key: '${params.id}' },
    },
    {
      when: [{ method: 'GET', path: '/items' }],
      exit: 'kafka_cache',
      with: { capability: 'fetch', topic, merge: { 'content-type': 'application/json' } },
    },
    {
      when: [{ method: 'GET', path: '/items/{id}' }],
      exit: 'kafka_cache',
      with: { capability: 'fetch', topic, filters: [{ key: '${params.id}' }] },
    },
  ];
}

const json = { 'content-type': 'application/json' };

describe('http-kafka: REST over a compacted topic', () => {
  it('creates, reads, replaces, deletes and lists items', async () => {
    const topic = uniqueTopic('items-snapshots');
    await createTopic(kafka().bootstrap, topic, 2, { 'cleanup.policy': 'compact' });
    const harness = await start(kafka().bootstrap, crudRoutes(topic));

    const empty = await request(harness, 'GET', '/items');
    expect(empty.status).toBe(200);
    expect(empty.body).toBe('[]');

    const created = await request(harness, 'POST', '/items', {
      headers: { ...json, 'idempotency-key': '1' },
      body: '{"greeting":"Hello, world1"}',
    });
    expect(created.status).toBe(204);
    const [record] = await consume(topic, 1);
    expect(record).toMatchObject({ key: '1', payload: '{"greeting":"Hello, world1"}' });
    expect(headersOf(record!)).toEqual({ 'content-type': 'application/json' });

    const read = await request(harness, 'GET', '/items/1');
    expect(read.status).toBe(200);
    expect(read.headers['content-type']).toBe('application/json');
    expect(read.headers['etag']).toMatch(/^".+"$/);
    expect(read.body).toBe('{"greeting":"Hello, world1"}');

    const replaced = await request(harness, 'PUT', '/items/1', {
      headers: json,
      body: '{"greeting":"Hello again"}',
    });
    expect(replaced.status).toBe(204);
    const reread = await request(harness, 'GET', '/items/1');
    expect(reread.body).toBe('{"greeting":"Hello again"}');
    expect(reread.headers['etag']).not.toBe(read.headers['etag']);

    await request(harness, 'PUT', '/items/2', { headers: json, body: '{"n":2}' });
    const listed = await request(harness, 'GET', '/items');
    expect(listed.status).toBe(200);
    expect(JSON.parse(listed.body)).toEqual(expect.arrayContaining([{ greeting: 'Hello again' }, { n: 2 }]));
    expect(JSON.parse(listed.body)).toHaveLength(2);

    const deleted = await request(harness, 'DELETE', '/items/1');
    expect(deleted.status).toBe(204);
    const tombstone = (await consume(topic, 4)).find((r) => r.key === '1' && r.payload === null);
    expect(tombstone).toBeDefined();
    const gone = await request(harness, 'GET', '/items/1');
    expect(gone.status).toBe(404);
    expect(gone.problem?.code).toBe('TRIB_HTTP_KAFKA_NOT_FOUND');
    expect(JSON.parse((await request(harness, 'GET', '/items')).body)).toEqual([{ n: 2 }]);
  });

  it('repeating a POST with the same idempotency key and body creates no second item', async () => {
    const topic = uniqueTopic('items-snapshots');
    await createTopic(kafka().bootstrap, topic, 1, { 'cleanup.policy': 'compact' });
    const harness = await start(kafka().bootstrap, crudRoutes(topic));
    for (let i = 0; i < 2; i++) {
      const created = await request(harness, 'POST', '/items', {
        headers: { ...json, 'idempotency-key': '1' },
        body: '{"greeting":"Hello, world1"}',
      });
      expect(created.status).toBe(204);
    }
    expect(JSON.parse((await request(harness, 'GET', '/items')).body)).toEqual([
      { greeting: 'Hello, world1' },
    ]);
  });

  it('refuses what it cannot route or key, with the proper status', async () => {
    const topic = uniqueTopic('items-snapshots');
    await createTopic(kafka().bootstrap, topic, 1, { 'cleanup.policy': 'compact' });
    const harness = await start(kafka().bootstrap, crudRoutes(topic));

    const noKey = await request(harness, 'POST', '/items', { headers: json, body: '{}' });
    expect(noKey.status).toBe(400);
    expect(noKey.problem?.code).toBe('TRIB_HTTP_KAFKA_IDEMPOTENCY_KEY_REQUIRED');

    const unknown = await request(harness, 'GET', '/nothing/here');
    expect(unknown.status).toBe(404);
    expect(unknown.problem?.code).toBe('TRIB_HTTP_KAFKA_NO_ROUTE');

    const wrongMethod = await request(harness, 'PATCH', '/items/1', { body: '{}' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers['allow']).toBe('DELETE, GET, HEAD, PUT');
    // Nothing of the refused requests reached Kafka.
    expect(await consume(topic, 0)).toEqual([]);
  });

  it('streams a 10 MiB body into one record and refuses a body beyond the limit with 413', async () => {
    const topic = uniqueTopic('items-large');
    await createTopic(kafka().bootstrap, topic, 1, { 'max.message.bytes': String(16 * 1024 * 1024) });
    const harness = await start(
      kafka().bootstrap,
      [
        {
          when: [{ method: 'PUT', path: '/blobs/{id}' }],
          exit: 'kafka_cache',
          with: { capability: 'produce', topic, key: '${params.id}' },
        },
      ],
      { maxBodyBytes: 11 * 1024 * 1024 },
      { client: { produce: { maxRecordBytes: 16 * 1024 * 1024 } } },
    );
    const body = Buffer.alloc(10 * 1024 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = 97 + (i % 26);
    const ok = await request(harness, 'PUT', '/blobs/big', { body, chunk: 64 * 1024, timeoutMs: 60_000 });
    expect(ok.status).toBe(204);

    const tooLarge = Buffer.alloc(12 * 1024 * 1024, 98);
    const byLength = await request(harness, 'PUT', '/blobs/huge', { body: tooLarge, chunk: 64 * 1024 });
    expect(byLength.status).toBe(413);
    // Without a content-length, the limit applies while the body streams in.
    const streamed = send(harness, 'PUT', '/blobs/streamed', {
      headers: { 'content-length': '1' },
      body: tooLarge,
      chunk: 64 * 1024,
    });
    expect((await response(streamed)).status).toBe(413);

    const result = await kcat([
      ...kcatArgs(kafka(), 'plaintext'),
      '-C',
      '-t',
      topic,
      '-e',
      '-o',
      'beginning',
      '-q',
      '-f',
      '%k %S\n',
      '-X',
      'fetch.message.max.bytes=33554432',
      '-X',
      'receive.message.max.bytes=67108864',
    ]);
    expect(result.stdout.trim().split('\n')).toEqual([`big ${body.length}`]);
  });
});

describe('http-kafka: conditional and long-poll reads', () => {
  it('answers 304 for a current etag and long-polls for a missing or unchanged item', async () => {
    const topic = uniqueTopic('items-snapshots');
    await createTopic(kafka().bootstrap, topic, 1, { 'cleanup.policy': 'compact' });
    const harness = await start(kafka().bootstrap, crudRoutes(topic));

    const list = await request(harness, 'GET', '/items');
    expect(list.body).toBe('[]');
    const etag = list.headers['etag']!;
    expect(etag).toBeDefined();
    const notModified = await request(harness, 'GET', '/items', { headers: { 'if-none-match': etag } });
    expect(notModified.status).toBe(304);
    expect(notModified.body).toBe('');

    let started = Date.now();
    const missing = await request(harness, 'GET', '/items/x', { headers: { prefer: 'wait=2' } });
    expect(missing.status).toBe(404);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);

    // Produced while the client waits: the answer comes then, long before the wait is over.
    const waiting = send(harness, 'GET', '/items/x', { headers: { prefer: 'wait=60' } });
    await sleep(300);
    expect(waiting.has('begin') || waiting.has('abort')).toBe(false);
    await request(harness, 'PUT', '/items/x', { headers: json, body: '{"v":1}' });
    const appeared = await response(waiting, 10_000);
    expect(appeared.status).toBe(200);
    expect(appeared.body).toBe('{"v":1}');

    const current = appeared.headers['etag']!;
    started = Date.now();
    const unchanged = await request(harness, 'GET', '/items/x', {
      headers: { 'if-none-match': current, prefer: 'wait=2' },
    });
    expect(unchanged.status).toBe(304);
    expect(unchanged.headers['etag']).toBe(current);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);

    const changing = send(harness, 'GET', '/items/x', {
      headers: { 'if-none-match': current, prefer: 'wait=60' },
    });
    await sleep(300);
    await request(harness, 'PUT', '/items/x', { headers: json, body: '{"v":2}' });
    const changed = await response(changing, 10_000);
    expect(changed.status).toBe(200);
    expect(changed.body).toBe('{"v":2}');
    expect(changed.headers['etag']).not.toBe(current);

    // The collection's tag moved with the topic; a long poll on the old one answers at the next write.
    const before = (await request(harness, 'GET', '/items')).headers['etag']!;
    const collection = send(harness, 'GET', '/items', {
      headers: { 'if-none-match': before, prefer: 'wait=60' },
    });
    await sleep(300);
    await request(harness, 'PUT', '/items/y', { headers: json, body: '{"v":3}' });
    const fresh = await response(collection, 10_000);
    expect(fresh.status).toBe(200);
    expect(JSON.parse(fresh.body)).toEqual(expect.arrayContaining([{ v: 2 }, { v: 3 }]));
    expect(fresh.headers['etag']).not.toBe(before);
  });

  it('streams a large collection as records arrive instead of holding it', async () => {
    const topic = uniqueTopic('items-many');
    await createTopic(kafka().bootstrap, topic, 3, { 'cleanup.policy': 'compact' });
    const harness = await start(kafka().bootstrap, crudRoutes(topic));
    const value = JSON.stringify({ pad: 'x'.repeat(1000) });
    const lines = Array.from({ length: 600 }, (_, i) => `k${i}\t${value}`).join('\n') + '\n';
    const produced = await kcat([...kcatArgs(kafka(), 'plaintext'), '-P', '-t', topic, '-K', '\t'], lines);
    expect(produced.code, produced.stderr).toBe(0);
    const list = await request(harness, 'GET', '/items');
    expect(list.status).toBe(200);
    // Streamed: no length and no tag up front, several body frames.
    expect(list.headers['etag']).toBeUndefined();
    expect(list.headers['content-length']).toBeUndefined();
    expect(list.peer.dataFrames().length).toBeGreaterThan(1);
    expect(JSON.parse(list.body)).toHaveLength(600);
  });
});

describe('http-kafka: request-reply', () => {
  function replyRoutes(requests: string, responses: string) {
    return [
      {
        when: [
          { method: 'PUT', path: '/items/{id}' },
          { method: 'GET', path: '/items/{id};cid={correlationId}' },
        ],
        exit: 'kafka_cache',
        with: {
          capability: 'produce',
          topic: requests,
          key: '${params.id}',
          replyTo: responses,
          async: { location: '/items/${params.id};cid=${correlationId}' },
        },
      },
    ];
  }

  async function topics() {
    const requests = uniqueTopic('items-requests');
    const responses = uniqueTopic('items-responses');
    await createTopic(kafka().bootstrap, requests, 1);
    await createTopic(kafka().bootstrap, responses, 1);
    return { requests, responses };
  }

  it('holds a synchronous request until the correlated reply arrives', async () => {
    const { requests, responses } = await topics();
    const harness = await start(kafka().bootstrap, replyRoutes(requests, responses));
    const pending = send(harness, 'PUT', '/items/abc', {
      headers: { ...json, 'idempotency-key': '1', authorization: 'Bearer secret' },
      body: '{"name":"abc"}',
    });
    const [record] = await consume(requests, 1);
    expect(record).toMatchObject({ key: 'abc', payload: '{"name":"abc"}' });
    const headers = headersOf(record!);
    expect(headers).toMatchObject({
      ':method': 'PUT',
      ':path': '/items/abc',
      'content-type': 'application/json',
      'idempotency-key': '1',
      'tributary:reply-to': responses,
    });
    expect(headers['authorization']).toBeUndefined();
    const cid = headers['tributary:correlation-id']!;
    expect(cid).toMatch(/^1-[A-Za-z0-9_-]{22}$/);
    expect(pending.has('begin')).toBe(false);

    await produceWithKcat(responses, 'abc', '{"done":true}', {
      'tributary:correlation-id': 'someone-else',
      ':status': '500',
    });
    await produceWithKcat(responses, 'abc', '{"done":true}', {
      'tributary:correlation-id': cid,
      ':status': '200',
      'content-type': 'application/json',
      etag: 'v7',
    });
    const answered = await response(pending);
    expect(answered.status).toBe(200);
    expect(answered.body).toBe('{"done":true}');
    expect(answered.headers).toMatchObject({ 'content-type': 'application/json', etag: 'v7' });
    expect(answered.headers['tributary:correlation-id']).toBeUndefined();

    // The same key and body again: the reply is already there; nothing is produced again.
    const replay = await request(harness, 'PUT', '/items/abc', {
      headers: { ...json, 'idempotency-key': '1' },
      body: '{"name":"abc"}',
    });
    expect(replay.status).toBe(200);
    expect(replay.body).toBe('{"done":true}');
    await sleep(500);
    expect(await consume(requests, 1)).toHaveLength(1);

    // A reply's status is the response's status.
    const conflict = send(harness, 'PUT', '/items/def', {
      headers: { ...json, 'if-match': '"v6"' },
      body: '{}',
    });
    const second = (await consume(requests, 2))[1]!;
    expect(headersOf(second)['if-match']).toBe('"v6"');
    await produceWithKcat(responses, 'def', '{"error":"stale"}', {
      'tributary:correlation-id': headersOf(second)['tributary:correlation-id']!,
      ':status': '412',
    });
    expect((await response(conflict)).status).toBe(412);
  });

  it('answers 202 with a Location for respond-async, then the reply there', async () => {
    const { requests, responses } = await topics();
    const harness = await start(kafka().bootstrap, replyRoutes(requests, responses));
    const accepted = await request(harness, 'PUT', '/items/abc', {
      headers: { ...json, prefer: 'respond-async' },
      body: '{"name":"abc"}',
    });
    expect(accepted.status).toBe(202);
    const location = accepted.headers['location']!;
    expect(location).toMatch(/^\/items\/abc;cid=[0-9a-f-]{36}-[A-Za-z0-9_-]{22}$/);
    const [record] = await consume(requests, 1);
    const cid = headersOf(record!)['tributary:correlation-id']!;
    expect(location).toBe(`/items/abc;cid=${cid}`);

    const started = Date.now();
    const early = await request(harness, 'GET', location, { headers: { prefer: 'wait=2' } });
    expect(early.status).toBe(202);
    expect(early.headers['location']).toBe(location);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);

    const polling = send(harness, 'GET', location, { headers: { prefer: 'wait=60' } });
    await sleep(300);
    await produceWithKcat(responses, 'abc', '{"done":true}', {
      'tributary:correlation-id': cid,
      ':status': '201',
    });
    const done = await response(polling, 10_000);
    expect(done.status).toBe(201);
    expect(done.body).toBe('{"done":true}');
    // Without respond-async the same route holds the request.
    const sync = send(harness, 'PUT', '/items/ghi', { headers: json, body: '{}' });
    const third = (await consume(requests, 2))[1]!;
    await produceWithKcat(responses, 'ghi', 'ok', {
      'tributary:correlation-id': headersOf(third)['tributary:correlation-id']!,
    });
    const syncAnswer = await response(sync);
    expect(syncAnswer.status).toBe(200);
    expect(syncAnswer.body).toBe('ok');
  });

  it('gives up on a reply with 504 after replyTimeoutMs', async () => {
    const { requests, responses } = await topics();
    const harness = await start(kafka().bootstrap, replyRoutes(requests, responses), {
      replyTimeoutMs: 1_000,
    });
    const timedOut = await request(harness, 'PUT', '/items/abc', { body: '{}' });
    expect(timedOut.status).toBe(504);
    expect(timedOut.problem?.code).toBe('TRIB_HTTP_KAFKA_REPLY_TIMEOUT');
  });
});

describe('http-kafka: guarded routes', () => {
  it('answers 401 without credentials and 403 without the role', async () => {
    const topic = uniqueTopic('items-guarded');
    await createTopic(kafka().bootstrap, topic, 1, { 'cleanup.policy': 'compact' });
    const harness = await start(
      kafka().bootstrap,
      [
        {
          when: [{ method: 'PUT', path: '/items/{id}' }],
          exit: 'kafka_cache',
          guarded: { g0: ['write'] },
          with: { capability: 'produce', topic, key: '${params.id}' },
        },
      ],
      {},
      {
        guards: {
          g0: {
            type: 'test',
            options: { credentials: { writer: { roles: ['write'] }, reader: { roles: ['read'] } } },
          },
        },
      },
    );
    const guard = harness.gateway.guard('g0')!;
    const session = async (token: string) => {
      const result = await guard.authorize(token);
      if (!result.ok) throw new Error(result.failure.message);
      return { g0: result.session };
    };
    const put = (authorization: Record<string, never> | Awaited<ReturnType<typeof session>>) => {
      const peer = harness.server('north').open(
        {},
        {
          begin: {
            type: 'http',
            kind: 'begin',
            headers: [
              { name: ':method', value: 'PUT' },
              { name: ':path', value: '/items/1' },
            ],
          } as never,
          authorization,
          initialWindow: 65_536,
        },
      );
      peer.send('{}');
      peer.end();
      return response(peer);
    };
    const anonymous = await put({});
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toBe('Bearer');
    const reader = await put(await session('reader'));
    expect(reader.status).toBe(403);
    const writer = await put(await session('writer'));
    expect(writer.status).toBe(204);
  });
});

describe('http-kafka: Kafka unavailable', () => {
  it('answers 503 with Retry-After when the topic cannot be reached, never 2xx', async () => {
    // A client binding pointed at a closed port: every produce is nacked as unavailable.
    const harness = await start(
      '127.0.0.1:1',
      crudRoutes('nowhere'),
      { retryAfterSeconds: 7 },
      {
        client: { connectTimeoutMs: 500, requestTimeoutMs: 1_000, retries: 1, produce: { timeoutMs: 3_000 } },
      },
    );
    const refused = await request(harness, 'PUT', '/items/1', { headers: json, body: '{}' });
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('7');
    expect(refused.problem?.code).toBe('TRIB_HTTP_KAFKA_UNAVAILABLE');
    expect(harness.events.map((e) => e.name)).toContain(EVENTS.unavailable);
  });
});
