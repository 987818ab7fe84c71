// The README's commands, run with curl -N, kcat and headless Chromium (playwright-core driving the
// Debian `chromium` package) against `npm run example -- sse.kafka.fanout`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import {
  curl,
  curlStream,
  holdTopics,
  kcat,
  startExample,
  type CurlStream,
  type RunningExample,
} from '../../../tools/it/example.ts';

const PAGE = fileURLToPath(new URL('../index.html', import.meta.url));
const SSE = ['-N', '-H', 'Accept: text/event-stream'];

let example: RunningExample | undefined;
let release: () => Promise<void>;
let browser: Browser | undefined;
const streams: CurlStream[] = [];

beforeAll(async () => {
  release = await holdTopics('sse.kafka.fanout');
  example = await startExample('sse.kafka.fanout', 'sse.kafka.fanout');
});

afterAll(async () => {
  for (const stream of streams) await stream.stop();
  await browser?.close();
  await example?.stop();
  await release?.();
});

/** `echo <value> | kcat -P -t events -k <key> -H tag=<tag>` (README steps 1–3). */
async function produce(key: string, tag: string, value: string, extra: string[] = []): Promise<void> {
  const result = await kcat(['-P', '-t', 'events', '-k', key, '-H', `tag=${tag}`, ...extra], `${value}\n`);
  expect(result.code, result.stderr).toBe(0);
}

function stream(origin: string, path: string, headers: string[] = []): CurlStream {
  const started = curlStream([...SSE, ...headers, `${origin}${path}`]);
  streams.push(started);
  return started;
}

interface WireEvent {
  readonly id: string | undefined;
  readonly event: string | undefined;
  readonly data: string;
}

/** The events in curl's output (blank-line separated blocks with data lines). */
function events(output: string): WireEvent[] {
  return output
    .split('\n\n')
    .map((block) => block.split('\n'))
    .filter((lines) => lines.some((line) => line.startsWith('data: ')))
    .map((lines) => {
      const field = (name: string) =>
        lines.find((line) => line.startsWith(`${name}: `))?.slice(name.length + 2);
      return {
        id: field('id'),
        event: field('event'),
        data: lines
          .filter((line) => line.startsWith('data: '))
          .map((line) => line.slice(6))
          .join('\n'),
      };
    });
}

const count = (n: number) => (output: string) => events(output).length >= n;
const price = (symbol: string, value: number) => JSON.stringify({ symbol, price: value });

async function pricesIn(page: Page): Promise<Record<string, string>> {
  const rows = page.locator('#prices tr');
  const prices: Record<string, string> = {};
  for (let i = 0, n = await rows.count(); i < n; i++) {
    const row = rows.nth(i);
    const symbol = await row.getAttribute('data-symbol', { timeout: 1_000 }).catch(() => null);
    const value = await row
      .locator('.price')
      .textContent({ timeout: 1_000 })
      .catch(() => null);
    if (symbol !== null) prices[symbol] = value ?? '';
  }
  return prices;
}

async function waitForPrices(page: Page, want: Record<string, string>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const got = await pricesIn(page);
    const sorted = (prices: Record<string, string>) => JSON.stringify(Object.entries(prices).sort());
    if (sorted(got) === sorted(want)) return;
    if (Date.now() > deadline)
      throw new Error(`page: ${what}: want ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('sse.kafka.fanout', () => {
  it('streams Kafka to curl and to a browser, and resumes after a restart with Last-Event-ID', async () => {
    const origin = example!.origin;
    const port = example!.port;

    // 0. The page lives in Kafka; the gateway serves it.
    const published = await kcat([
      '-P',
      '-t',
      'pages',
      '-k',
      'index.html',
      '-H',
      'content-type=text/html; charset=utf-8',
      PAGE,
    ]);
    expect(published.code, published.stderr).toBe(0);
    const html = await curl([`${origin}/index.html`]);
    expect(html.status).toBe(200);
    expect(html.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(html.body).toContain('new EventSource');

    // 1. Only AAPL/nasdaq reaches /events/AAPL/nasdaq, with an id.
    await produce('AAPL', 'nasdaq', price('AAPL', 1));
    await produce('IBM', 'nyse', price('IBM', 100));
    await produce('MSFT', 'nasdaq', price('MSFT', 1));
    const aapl = stream(origin, '/events/AAPL/nasdaq');
    await aapl.until(count(1), 20_000, 'the AAPL/nasdaq event');
    expect(aapl.output()).toMatch(/^:\nretry: 1000\n/);
    const [first] = events(aapl.output());
    expect(first).toMatchObject({ data: price('AAPL', 1), event: undefined });
    expect(first!.id).toMatch(/^[A-Za-z0-9_-]+$/);
    await produce('AAPL', 'nasdaq', price('AAPL', 2), ['-H', 'event-type=quote']);
    await aapl.until(count(2), 20_000, 'the live AAPL/nasdaq event');
    expect(events(aapl.output()).map((e) => [e.event, e.data])).toEqual([
      [undefined, price('AAPL', 1)],
      ['quote', price('AAPL', 2)],
    ]);
    const notSse = await curl([`${origin}/events/AAPL/nasdaq`]);
    expect(notSse.status).toBe(406);

    // 2. A late subscriber: the latest value per key, then live.
    const late = stream(origin, '/events/nasdaq');
    await late.until(count(2), 20_000, 'the latest value per key');
    expect(
      events(late.output())
        .map((e) => e.data)
        .sort(),
    ).toEqual([price('AAPL', 2), price('MSFT', 1)].sort());
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
    const page = await browser.newPage();
    await page.goto(`${origin}/index.html?tag=nasdaq`);
    await waitForPrices(page, { AAPL: '2', MSFT: '1' }, 'the snapshot');
    await produce('MSFT', 'nasdaq', price('MSFT', 2));
    await late.until(count(3), 20_000, 'the live MSFT event');
    await waitForPrices(page, { AAPL: '2', MSFT: '2' }, 'a live update');
    const lastSeen = events(late.output()).at(-1)!.id!;

    // 3. Stop the gateway, produce while it is down, start it again on the same port.
    await example!.stop();
    await Promise.all([aapl.exited, late.exited]);
    await page.waitForSelector('body[data-state="reconnecting"]');
    await produce('AAPL', 'nasdaq', price('AAPL', 3));
    // A tombstone: `-K:` splits key and value at the colon, `-Z` sends the empty value as NULL.
    const tombstone = await kcat(['-P', '-Z', '-K:', '-t', 'events', '-H', 'tag=nasdaq'], 'MSFT:\n');
    expect(tombstone.code, tombstone.stderr).toBe(0);
    await produce('IBM', 'nyse', price('IBM', 101));
    example = await startExample('sse.kafka.fanout', 'sse.kafka.fanout', {
      TRIBUTARY_HTTP_PORT: String(port),
    });

    // The browser reconnects by itself with Last-Event-ID: AAPL 3, and MSFT deleted.
    await waitForPrices(page, { AAPL: '3' }, 'the missed records after the restart');
    expect(await page.textContent('#last-id')).not.toBe(lastSeen);

    // curl with the last id it saw: exactly the missed records, then live ones.
    const resumed = stream(origin, '/events/nasdaq', ['-H', `Last-Event-ID: ${lastSeen}`]);
    await resumed.until(count(2), 20_000, 'the missed records');
    await produce('AAPL', 'nasdaq', price('AAPL', 4));
    await resumed.until(count(3), 20_000, 'a live record after the missed ones');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const missed = events(resumed.output());
    expect(missed.slice(0, 2).map((e) => [e.event, e.data])).toEqual([
      [undefined, price('AAPL', 3)],
      ['delete', 'MSFT'],
    ]);
    expect(missed.slice(2).map((e) => e.data)).toEqual([price('AAPL', 4)]);
    await waitForPrices(page, { AAPL: '4' }, 'live after the restart');

    // An id the gateway never issued: 400, not a silent restart.
    const foreign = await curl([
      '-H',
      'Accept: text/event-stream',
      '-H',
      'Last-Event-ID: nope',
      `${origin}/events/nasdaq`,
    ]);
    expect(foreign.status).toBe(400);
    expect(JSON.parse(foreign.body)).toMatchObject({ code: 'TRIB_SSE_KAFKA_INVALID_LAST_EVENT_ID' });
  });
});
