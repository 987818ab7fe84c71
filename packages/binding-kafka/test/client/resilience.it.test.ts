// Kafka unreachable, and Kafka restarting under the gateway: records are acked only when Kafka
// has them, everything else is nacked, streams fail cleanly or carry on, events mark the
// transitions, and the gateway keeps running.
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { TestHarness } from '@tributary/kernel/testkit';
import { startKafka, type KafkaHandle } from '../../../../tools/kafka/broker.ts';
import { uniqueTopic } from '../../../../tools/it/context.ts';
import type { KafkaAckEx } from '../../src/index.ts';
import {
  answers,
  close,
  createTopic,
  dec,
  eventually,
  failure,
  open,
  records,
  send,
  sleep,
  startGateway,
  waitAnswers,
  waitCaughtUp,
} from './helpers.ts';

const WIDE = { initialWindow: 1 << 20, autoWindow: true };

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('Kafka unreachable', () => {
  let harness: TestHarness | undefined;
  afterEach(async () => {
    await harness?.stop();
    harness = undefined;
  });

  it('nacks produce with unavailable, aborts fetch after requestTimeoutMs, and keeps running', async () => {
    const port = await closedPort();
    const started = Date.now();
    harness = await startGateway({
      servers: [`127.0.0.1:${port}`],
      requestTimeoutMs: 1_500,
      produce: { timeoutMs: 3_000 },
    });
    // The gateway starts without Kafka.
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(harness.gateway.state).toBe('running');

    const producer = open(harness, { capability: 'produce', topic: 'anything' });
    await producer.next('begin');
    const sentAt = Date.now();
    send(producer, { value: 'x', correlation: 'x' });
    send(producer, { value: 'y', correlation: 'y' });
    const got = await waitAnswers(producer, 2, 5_000);
    expect(Date.now() - sentAt).toBeLessThan(3_500);
    expect(got.map((a) => (a.kind === 'nack' ? [a.error.reason, a.error.code] : a.kind))).toEqual([
      ['unavailable', 'TRIB_KAFKA_UNAVAILABLE'],
      ['unavailable', 'TRIB_KAFKA_UNAVAILABLE'],
    ]);
    await close(producer);

    const fetchAt = Date.now();
    const fetch = open(harness, { capability: 'fetch', topic: 'anything', start: 'historical' }, WIDE);
    const { code, ext } = await failure(fetch, 10_000);
    const after = Date.now() - fetchAt;
    expect(code).toBe('TRIB_KAFKA_UNAVAILABLE');
    expect(ext).toMatchObject({ reason: 'unavailable', retriable: true });
    // requestTimeoutMs after the first failure, which is immediate (connection refused).
    expect(after).toBeGreaterThanOrEqual(1_400);
    expect(after).toBeLessThan(4_000);
    expect(fetch.has('begin')).toBe(false);

    const meta = open(harness, { capability: 'meta', topic: 'anything' });
    expect((await failure(meta, 10_000)).ext?.reason).toBe('unavailable');

    // One event for the transition, however many requests failed.
    expect(harness.events.filter((e) => e.name === 'kafka.connection.lost')).toHaveLength(1);
    expect(harness.events.find((e) => e.name === 'kafka.connection.lost')).toMatchObject({
      source: 'kafka_client',
      level: 'warn',
      detail: { servers: `127.0.0.1:${port}` },
    });
    expect(harness.gateway.state).toBe('running');
    // And it still serves streams.
    const again = open(harness, { capability: 'produce', topic: 'anything' });
    send(again, { value: 'z' });
    expect((await waitAnswers(again, 1, 5_000))[0]!.kind).toBe('nack');
    await close(again);
  });
});

describe('Kafka restarting', () => {
  let broker: KafkaHandle | undefined;
  let harness: TestHarness | undefined;
  afterEach(async () => {
    await harness?.stop();
    harness = undefined;
    await broker?.stop();
    broker = undefined;
  });

  it('acks only what Kafka has, nacks the rest, reports lost then recovered, and fetch carries on', async () => {
    // A broker of its own: the shared one must stay up for the other tests.
    broker = await startKafka({ heap: '384m' });
    const topic = uniqueTopic('restart');
    await createTopic(broker, topic, 1);
    harness = await startGateway({
      servers: [broker.bootstrap],
      requestTimeoutMs: 60_000,
      retryDelayMs: 100,
      retryDelayMaxMs: 500,
      produce: { timeoutMs: 2_000 },
    });
    const fetch = open(harness, { capability: 'fetch', topic, start: 'historical' }, WIDE);
    await waitCaughtUp(fetch);
    const producer = open(harness, { capability: 'produce', topic });
    await producer.next('begin');
    let next = 0;
    const sendOne = () => {
      const value = `r${next++}`;
      send(producer, { value, correlation: value });
      return next;
    };

    for (let i = 0; i < 5; i++) sendOne();
    expect((await waitAnswers(producer, 5)).every((a) => a.kind === 'ack')).toBe(true);

    await broker.pause();
    for (let i = 0; i < 6; i++) {
      sendOne();
      await sleep(150);
    }
    await waitAnswers(producer, next, 15_000);
    await eventually(() => harness!.events.some((e) => e.name === 'kafka.connection.lost'), 10_000);

    await broker.resume();
    // Keep producing until Kafka acknowledges again.
    let ackedAfterRestart = 0;
    const deadline = Date.now() + 60_000;
    while (ackedAfterRestart < 3 && Date.now() < deadline) {
      const count = sendOne();
      const answer = (await waitAnswers(producer, count, 15_000))[count - 1]!;
      if (answer.kind === 'ack') ackedAfterRestart++;
      else await sleep(200);
    }
    expect(ackedAfterRestart).toBe(3);
    await eventually(() => harness!.events.some((e) => e.name === 'kafka.connection.recovered'), 15_000);

    const all = answers(producer);
    expect(all).toHaveLength(next);
    const acked = all
      .filter((a): a is Extract<KafkaAckEx, { kind: 'ack' }> => a.kind === 'ack')
      .map((a) => a.correlation!);
    const nacked = all.filter((a) => a.kind === 'nack');
    expect(nacked.length).toBeGreaterThan(0);
    for (const nack of nacked)
      expect(['unavailable', 'timeout']).toContain(nack.kind === 'nack' ? nack.error.reason : '');
    await close(producer);

    // The fetch stream opened before the restart still delivers: everything acked is there.
    await eventually(() => {
      const seen = new Set(records(fetch).map((r) => dec(r.value)));
      return acked.every((value) => seen.has(value));
    }, 20_000);
    expect(fetch.has('abort')).toBe(false);
    // And a fresh reader finds every acked record in Kafka.
    const check = open(harness, { capability: 'fetch', topic, start: 'historical' }, WIDE);
    await waitCaughtUp(check, 20_000);
    const stored = new Set(records(check).map((r) => dec(r.value)));
    expect(acked.filter((value) => !stored.has(value))).toEqual([]);
    await close(check);
    await close(fetch);

    const transitions = harness.events
      .filter((e) => e.name.startsWith('kafka.connection.'))
      .map((e) => e.name);
    expect(transitions[0]).toBe('kafka.connection.lost');
    expect(transitions).toContain('kafka.connection.recovered');
    expect(transitions.indexOf('kafka.connection.recovered')).toBeGreaterThan(0);
  });
});
