// The README's commands, run with curl and kcat against `npm run example -- http.kafka.async`.
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
  release = await holdTopics('http.kafka.async');
  example = await startExample('http.kafka.async', 'http.kafka.async');
});

afterAll(async () => {
  await example?.stop();
  await release?.();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('http.kafka.async', () => {
  it('answers 202 with a Location, 202 again while there is no reply, then the reply', async () => {
    const accepted = await curl([
      '-X',
      'PUT',
      '-H',
      'Prefer: respond-async',
      '-H',
      'Content-Type: application/json',
      '-d',
      '{"greeting":"Hello, world"}',
      `${example.origin}/items/abc`,
    ]);
    expect(accepted.status).toBe(202);
    const location = accepted.headers['location']!;
    const [record] = await kcatRecords('items-requests', 1);
    const cid = kcatHeaders(record!)['tributary:correlation-id']!;
    expect(location).toBe(`/items/abc;cid=${cid}`);

    const early = await curl(['-H', 'Prefer: wait=10', `${example.origin}${location}`]);
    expect(early.status).toBe(202);
    expect(early.headers['location']).toBe(location);
    expect(early.ms).toBeGreaterThanOrEqual(9_500);

    const waiting = curl(['-H', 'Prefer: wait=10', `${example.origin}${location}`]);
    await sleep(1_000);
    const produced = await kcat(
      [
        '-P',
        '-t',
        'items-responses',
        '-K:',
        '-H',
        `tributary:correlation-id=${cid}`,
        '-H',
        ':status=201',
        '-H',
        'content-type=application/json',
      ],
      'abc:{"status":"stored"}\n',
    );
    expect(produced.code, produced.stderr).toBe(0);
    const done = await waiting;
    expect(done.status).toBe(201);
    expect(done.ms).toBeLessThan(9_000);
    expect(done.body).toBe('{"status":"stored"}');
  });

  it('without Prefer: respond-async, behaves synchronously', async () => {
    const pending = curl(['-X', 'PUT', '-d', '{"v":1}', `${example.origin}/items/sync`]);
    const records = await kcatRecords('items-requests', 2);
    const cid = kcatHeaders(records.find((r) => r.key === 'sync')!)['tributary:correlation-id']!;
    const produced = await kcat(
      ['-P', '-t', 'items-responses', '-K:', '-H', `tributary:correlation-id=${cid}`, '-H', ':status=200'],
      'sync:done\n',
    );
    expect(produced.code).toBe(0);
    const response = await pending;
    expect(response.status).toBe(200);
    expect(response.body).toBe('done');
  });
});
