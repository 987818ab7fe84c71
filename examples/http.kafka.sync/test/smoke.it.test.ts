// The README's commands, run with curl and kcat against `npm run example -- http.kafka.sync`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  curl,
  holdTopics,
  kcat,
  kcatHeaders,
  kcatRecords,
  startExample,
  type RunningExample,
} from '../../../tools/it/example.ts';

let example: RunningExample;
let release: () => Promise<void>;

beforeAll(async () => {
  release = await holdTopics('http.kafka.sync');
  example = await startExample('http.kafka.sync', 'http.kafka.sync');
});

afterAll(async () => {
  await example?.stop();
  await release?.();
});

async function reply(key: string, cid: string, status: string, body: string) {
  const result = await kcat(
    [
      '-P',
      '-t',
      'items-responses',
      '-K:',
      '-H',
      `tributary:correlation-id=${cid}`,
      '-H',
      `:status=${status}`,
      '-H',
      'content-type=application/json',
    ],
    `${key}:${body}\n`,
  );
  expect(result.code, result.stderr).toBe(0);
}

describe('http.kafka.sync', () => {
  it('holds the request until the correlated reply, whose status and body become the response', async () => {
    const request = [
      '-X',
      'PUT',
      '-H',
      'Idempotency-Key: 1',
      '-H',
      'Content-Type: application/json',
      '-H',
      'Authorization: Bearer secret',
      '-d',
      '{"greeting":"Hello, world"}',
      `${example.origin}/items/abc`,
    ];
    const pending = curl(request);
    let answered = false;
    void pending.then(() => (answered = true));

    const [record] = await kcatRecords('items-requests', 1);
    expect(record).toMatchObject({ key: 'abc', payload: '{"greeting":"Hello, world"}' });
    const headers = kcatHeaders(record!);
    expect(headers).toMatchObject({
      ':method': 'PUT',
      ':path': '/items/abc',
      ':scheme': 'http',
      'content-type': 'application/json',
      'idempotency-key': '1',
      'tributary:reply-to': 'items-responses',
    });
    expect(headers[':authority']).toMatch(/^localhost:\d+$/);
    expect(headers['authorization']).toBeUndefined();
    const cid = headers['tributary:correlation-id']!;
    expect(cid).toMatch(/^1-[A-Za-z0-9_-]{22}$/);
    expect(answered).toBe(false);

    await reply('abc', cid, '200', '{"greeting":"Hello, world","status":"stored"}');
    const response = await pending;
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.body).toBe('{"greeting":"Hello, world","status":"stored"}');

    // The same key and body again: answered from the reply already given, nothing produced.
    const replay = await curl(request);
    expect(replay.status).toBe(200);
    expect(replay.body).toBe('{"greeting":"Hello, world","status":"stored"}');
    expect(await kcatRecords('items-requests', 1)).toHaveLength(1);
  });

  it('turns a reply with :status 412 into 412', async () => {
    const pending = curl([
      '-X',
      'PUT',
      '-H',
      'Idempotency-Key: 2',
      '-d',
      '{"v":2}',
      `${example.origin}/items/def`,
    ]);
    const records = await kcatRecords('items-requests', 2);
    const cid = kcatHeaders(records.find((r) => r.key === 'def')!)['tributary:correlation-id']!;
    await reply('def', cid, '412', '{"error":"stale"}');
    const response = await pending;
    expect(response.status).toBe(412);
    expect(response.body).toBe('{"error":"stale"}');
  });
});
