// The README's commands, run with curl and kcat against `npm run example -- sse.kafka.fanout.jwt`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  curl,
  curlStream,
  holdTopics,
  kcat,
  startExample,
  type CurlStream,
  type RunningExample,
} from '../../../tools/it/example.ts';

let example: RunningExample;
let release: () => Promise<void>;
const streams: CurlStream[] = [];

beforeAll(async () => {
  release = await holdTopics('sse.kafka.fanout.jwt');
  example = await startExample('sse.kafka.fanout.jwt', 'sse.kafka.fanout.jwt');
});

afterAll(async () => {
  for (const stream of streams) await stream.stop();
  await example?.stop();
  await release?.();
});

const ca = () => ['--cacert', example.exported['TRIBUTARY_TLS_CA']!];
const SSE = ['-H', 'Accept: text/event-stream'];

/** `token reader:reader-secret`: a client credentials grant at the example's OAuth server. */
async function token(client: string): Promise<string> {
  const answer = await curl([
    '-u',
    client,
    '-d',
    'grant_type=client_credentials',
    example.exported['OAUTH_TOKEN_ENDPOINT']!,
  ]);
  expect(answer.status).toBe(200);
  return (JSON.parse(answer.body) as { access_token: string }).access_token;
}

function stream(args: string[]): CurlStream {
  const started = curlStream(['-N', ...ca(), ...SSE, ...args]);
  streams.push(started);
  return started;
}

async function produce(value: string): Promise<void> {
  const result = await kcat(['-P', '-t', 'events', '-K:'], `AAPL:${value}\n`);
  expect(result.code, result.stderr).toBe(0);
}

describe('sse.kafka.fanout.jwt', () => {
  it('1. refuses no token (401) and a token without the scope (403); opens with a token in header, query or cookie', async () => {
    const url = `${example.secureOrigin}/events/AAPL`;
    const anonymous = await curl([...ca(), ...SSE, url]);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toMatch(/^Bearer/);
    const guest = await curl([
      ...ca(),
      ...SSE,
      '-H',
      `Authorization: Bearer ${await token('guest:guest-secret')}`,
      url,
    ]);
    expect(guest.status).toBe(403);

    await produce('{"symbol":"AAPL","price":1}');
    const byHeader = stream(['-H', `Authorization: Bearer ${await token('reader:reader-secret')}`, url]);
    const byQuery = stream([`${url}?access_token=${await token('reader:reader-secret')}`]);
    const byCookie = stream(['-b', `access_token=${await token('reader:reader-secret')}`, url]);
    for (const opened of [byHeader, byQuery, byCookie])
      await opened.until(
        (out) => out.includes('data: {"symbol":"AAPL","price":1}'),
        20_000,
        'the AAPL event',
      );
    for (const opened of [byHeader, byQuery, byCookie]) await opened.stop();
  });

  it('2. challenges before expiry; a fresh token keeps the stream, none ends it at expiry', async () => {
    const url = `${example.secureOrigin}/events/AAPL`;
    const kept = stream(['-H', `Authorization: Bearer ${await token('reader:reader-secret')}`, url]);
    const opened = Date.now();
    await kept.until((out) => out.includes('data: '), 20_000, 'the first event');

    // Tokens live 20 s and the guard challenges 10 s before expiry.
    await kept.until((out) => out.includes('event: challenge'), 20_000, 'a challenge');
    expect(Date.now() - opened).toBeGreaterThanOrEqual(8_000);
    expect(kept.output()).toContain(
      'data: {"method":"POST","headers":{"content-type":"application/x-challenge-response"}}',
    );

    // The answer renews every open stream of the same principal (here: this one).
    const renewed = await curl([
      ...ca(),
      '-X',
      'POST',
      '-H',
      'Content-Type: application/x-challenge-response',
      '-H',
      `Authorization: Bearer ${await token('reader:reader-secret')}`,
      url,
    ]);
    expect(renewed.status).toBe(204);
    expect(Number(renewed.headers['x-tributary-renewed'])).toBeGreaterThanOrEqual(1);

    // Past the first token's expiry the stream is still open and still delivers.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, opened + 22_000 - Date.now())));
    await produce('{"symbol":"AAPL","price":2}');
    await kept.until((out) => out.includes('"price":2'), 10_000, 'the event after the first expiry');
    await kept.stop();
  });

  it('2. without an answer to the challenge, the stream ends when its token expires', async () => {
    const url = `${example.secureOrigin}/events/AAPL`;
    const opened = Date.now();
    const lonely = stream([`${url}?access_token=${await token('reader:reader-secret')}`]);
    await lonely.until((out) => out.includes('event: challenge'), 20_000, 'a challenge');
    await lonely.exited;
    const lasted = Date.now() - opened;
    expect(lasted).toBeGreaterThanOrEqual(18_000);
    expect(lasted).toBeLessThan(40_000);
  });
});
