// The README's commands, run with curl and kcat against `npm run example -- http.kafka.cache`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { curl, holdTopics, kcat, startExample, type RunningExample } from '../../../tools/it/example.ts';

let example: RunningExample;
let release: () => Promise<void>;

beforeAll(async () => {
  release = await holdTopics('http.kafka.cache');
  example = await startExample('http.kafka.cache', 'http.kafka.cache');
});

afterAll(async () => {
  await example?.stop();
  await release?.();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('http.kafka.cache', () => {
  it('1. answers 304 for the collection etag of an empty topic', async () => {
    const list = await curl([`${example.origin}/items`]);
    expect(list.status).toBe(200);
    expect(list.body).toBe('[]');
    const etag = list.headers['etag']!;
    expect(etag).toMatch(/^".+"$/);
    const again = await curl(['-H', `If-None-Match: ${etag}`, `${example.origin}/items`]);
    expect(again.status).toBe(304);
    expect(again.body).toBe('');
  });

  it('2. long-polls a missing item: 404 after the wait, 200 at once when produced meanwhile', async () => {
    const missing = await curl(['-H', 'Prefer: wait=5', `${example.origin}/items/x`]);
    expect(missing.status).toBe(404);
    expect(missing.ms).toBeGreaterThanOrEqual(4_500);

    const waiting = curl(['-H', 'Prefer: wait=30', `${example.origin}/items/x`]);
    await sleep(1_000);
    const produced = await kcat(
      ['-P', '-t', 'items-snapshots', '-K:', '-H', 'content-type=application/json'],
      'x:{"v":1}\n',
    );
    expect(produced.code, produced.stderr).toBe(0);
    const found = await waiting;
    expect(found.status).toBe(200);
    expect(found.ms).toBeLessThan(20_000);
    expect(found.headers['content-type']).toBe('application/json');
    expect(found.body).toBe('{"v":1}');
  });

  it('3. long-polls an unchanged item: 304 after the wait, 200 with a new etag when it changes', async () => {
    const current = await curl([`${example.origin}/items/x`]);
    expect(current.status).toBe(200);
    const etag = current.headers['etag']!;

    const unchanged = await curl([
      '-H',
      `If-None-Match: ${etag}`,
      '-H',
      'Prefer: wait=5',
      `${example.origin}/items/x`,
    ]);
    expect(unchanged.status).toBe(304);
    expect(unchanged.headers['etag']).toBe(etag);
    expect(unchanged.ms).toBeGreaterThanOrEqual(4_500);

    const waiting = curl([
      '-H',
      `If-None-Match: ${etag}`,
      '-H',
      'Prefer: wait=30',
      `${example.origin}/items/x`,
    ]);
    await sleep(1_000);
    const put = await curl([
      '-X',
      'PUT',
      '-H',
      'Content-Type: application/json',
      '-d',
      '{"v":2}',
      `${example.origin}/items/x`,
    ]);
    expect(put.status).toBe(204);
    const changed = await waiting;
    expect(changed.status).toBe(200);
    expect(changed.ms).toBeLessThan(20_000);
    expect(changed.body).toBe('{"v":2}');
    expect(changed.headers['etag']).not.toBe(etag);

    // The collection's etag moved with the topic.
    const list = await curl([`${example.origin}/items`]);
    expect(JSON.parse(list.body)).toEqual([{ v: 2 }]);
  });
});
