// Long-lived responses: a flush pushes the head to the client before any body (so an event
// stream is known to be open), and a stopping server ends event streams at once — their clients
// reconnect and resume — instead of holding the stop until its deadline.
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { TestHarness } from '@tributary/kernel/testkit';
import { responseBegin } from '../../src/index.ts';
import { HTTP_EVENTS } from '../../src/events.ts';
import { gateway, startGateway, urlOf } from '../helpers.ts';

let harness: TestHarness | undefined;
afterEach(async () => {
  await harness?.stop(1_000);
  harness = undefined;
});

const config = () =>
  gateway({
    north: {
      type: 'http',
      kind: 'server',
      options: { listen: { host: '127.0.0.1', port: 0 } },
      exit: 'far',
    },
    far: { type: 'test', kind: 'client', options: { mode: 'script' } },
  });

function open(url: string): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers: { accept: 'text/event-stream' } }, resolve).on('error', reject);
  });
}

describe('http server: event streams', () => {
  it('sends the response head on a flush, before any body, over HTTP/1.1', async () => {
    harness = await startGateway(config());
    const response = open(`${urlOf(harness)}/events`);
    const far = await harness.client('far').accepted();
    far.handle.out.begin(responseBegin(200, { 'content-type': 'text/event-stream' }));
    far.handle.out.flush();
    const head = await response;
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-type']).toBe('text/event-stream');
    head.destroy();
  });

  it('ends event streams at once when stopping, and keeps waiting for other responses', async () => {
    harness = await startGateway(config());
    const url = urlOf(harness);
    const events = open(`${url}/events`);
    const stream = await harness.client('far').accepted();
    stream.handle.out.begin(responseBegin(200, { 'content-type': 'text/event-stream' }));
    stream.send('data: 1\n\n');
    const download = open(`${url}/file`);
    const file = await harness.client('far').accepted();
    file.handle.out.begin(responseBegin(200, { 'content-type': 'application/octet-stream' }));
    file.send('part 1');
    const [eventsResponse, fileResponse] = await Promise.all([events, download]);
    const eventsEnded = new Promise<string>((resolve) => {
      let body = '';
      eventsResponse.on('data', (chunk: Buffer) => (body += chunk.toString()));
      eventsResponse.on('end', () => resolve(body));
    });
    fileResponse.resume();
    const running = harness;
    const stopping = running.stop(10_000);
    // The event stream ends cleanly (not cut) while the download is still being served.
    expect(await eventsEnded).toBe('data: 1\n\n');
    expect(stream.has('reset') || stream.has('abort')).toBe(true);
    file.send(' part 2');
    file.end();
    await stopping;
    harness = undefined;
    const stopped = running.events.find((e) => e.name === HTTP_EVENTS.serverStopped);
    expect(stopped?.detail).toMatchObject({ aborted: 0 });
  });
});
