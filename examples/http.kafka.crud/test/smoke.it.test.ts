// The README's commands, run with curl and kcat against `npm run example -- http.kafka.crud`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  curl,
  holdTopics,
  kcatHeaders,
  kcatRecords,
  startExample,
  type RunningExample,
} from '../../../tools/it/example.ts';

let example: RunningExample;
let release: () => Promise<void>;

beforeAll(async () => {
  release = await holdTopics('http.kafka.crud');
  example = await startExample('http.kafka.crud', 'http.kafka.crud');
});

afterAll(async () => {
  await example?.stop();
  await release?.();
});

describe('http.kafka.crud', () => {
  it('creates, reads, replaces, deletes and lists items as the README shows', async () => {
    const url = (path: string) => `${example.origin}${path}`;
    // 5. (first) no items yet
    const none = await curl([url('/items')]);
    expect(none.status).toBe(200);
    expect(none.body).toBe('[]');

    // 1. create; Kafka holds key 1, the value and the content-type header
    const post = [
      '-X',
      'POST',
      '-H',
      'Idempotency-Key: 1',
      '-H',
      'Content-Type: application/json',
      '-d',
      '{"greeting":"Hello, world1"}',
      url('/items'),
    ];
    expect((await curl(post)).status).toBe(204);
    const [record] = await kcatRecords('items-snapshots', 1);
    expect(record).toMatchObject({ key: '1', payload: '{"greeting":"Hello, world1"}' });
    expect(kcatHeaders(record!)).toEqual({ 'content-type': 'application/json' });

    // 2. read it back
    const first = await curl([url('/items/1')]);
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe('application/json');
    expect(first.headers['etag']).toMatch(/^".+"$/);
    expect(first.body).toBe('{"greeting":"Hello, world1"}');

    // HEAD: the same head, no body (RFC 9110 §9.3.2)
    const head = await curl(['-I', url('/items/1')]);
    expect(head.status).toBe(200);
    expect(head.headers['etag']).toBe(first.headers['etag']);
    expect(head.headers['content-length']).toBe(String('{"greeting":"Hello, world1"}'.length));
    expect(head.body).toBe('');
    expect((await kcatRecords('items-snapshots', 1)).length).toBe(1);

    // 3. replace it
    const put = [
      '-X',
      'PUT',
      '-H',
      'Content-Type: application/json',
      '-d',
      '{"greeting":"Hello, world2"}',
      url('/items/1'),
    ];
    expect((await curl(put)).status).toBe(204);
    const second = await curl([url('/items/1')]);
    expect(second.body).toBe('{"greeting":"Hello, world2"}');
    expect(second.headers['etag']).not.toBe(first.headers['etag']);

    // 5. the list holds the current values
    expect(
      (await curl(['-X', 'PUT', '-H', 'Content-Type: application/json', '-d', '{"n":2}', url('/items/2')]))
        .status,
    ).toBe(204);
    const listed = await curl([url('/items')]);
    expect(listed.status).toBe(200);
    expect(JSON.parse(listed.body)).toEqual([{ greeting: 'Hello, world2' }, { n: 2 }]);

    // 4. delete: a tombstone in Kafka, then 404
    expect((await curl(['-X', 'DELETE', url('/items/1')])).status).toBe(204);
    const records = await kcatRecords('items-snapshots', 4);
    expect(records.at(-1)).toMatchObject({ key: '1', payload: null });
    const gone = await curl([url('/items/1')]);
    expect(gone.status).toBe(404);
    expect(gone.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(gone.body)).toMatchObject({ status: 404, code: 'TRIB_HTTP_KAFKA_NOT_FOUND' });
    expect(JSON.parse((await curl([url('/items')])).body)).toEqual([{ n: 2 }]);

    // 6. repeating step 1 creates no second item
    expect((await curl(post)).status).toBe(204);
    expect((await curl(post)).status).toBe(204);
    const items = JSON.parse((await curl([url('/items')])).body) as unknown[];
    expect(items.filter((item) => JSON.stringify(item) === '{"greeting":"Hello, world1"}')).toHaveLength(1);
  });

  it('answers what it cannot do with the proper status and a problem document', async () => {
    const url = (path: string) => `${example.origin}${path}`;
    const patch = await curl(['-X', 'PATCH', '-d', '{}', url('/items/1')]);
    expect(patch.status).toBe(405);
    expect(patch.headers['allow']).toBe('DELETE, GET, HEAD, PUT');
    const noKey = await curl([
      '-X',
      'POST',
      '-H',
      'Content-Type: application/json',
      '-d',
      '{}',
      url('/items'),
    ]);
    expect(noKey.status).toBe(400);
    expect(JSON.parse(noKey.body)).toMatchObject({
      type: 'urn:tributary:error:TRIB_HTTP_KAFKA_IDEMPOTENCY_KEY_REQUIRED',
      status: 400,
    });
    const unknown = await curl([url('/elsewhere')]);
    expect(unknown.status).toBe(404);
  });

  it('speaks HTTP/2 with prior knowledge on the same port', async () => {
    const h2 = await curl(['--http2-prior-knowledge', `${example.origin}/items`]);
    expect(h2.status).toBe(200);
    expect(JSON.parse(h2.body)).toEqual(expect.any(Array));
  });
});
