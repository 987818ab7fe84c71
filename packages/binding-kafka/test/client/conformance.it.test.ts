// The kernel's binding conformance suite drives a binding from a server on one side to a `test`
// client on the other; the far side of the kafka client is Kafka itself, so the same checks are
// written here against a real broker: zero credit stalls and resumes exactly, orderly close from
// either side, reset and abort tear the stream down, malformed begins are refused cleanly.
// (Bad configurations, which need no broker, are in options.test.ts.)
import { afterEach, describe, expect, it } from 'vitest';
import type { TestHarness } from '@tributary/kernel/testkit';
import { kafka, uniqueTopic } from '../../../../tools/it/context.ts';
import {
  close,
  createTopic,
  failure,
  open,
  produce,
  records,
  send,
  sleep,
  startGateway,
  waitCaughtUp,
  waitRecords,
} from './helpers.ts';

describe('kafka client: stream contract', () => {
  let harness: TestHarness | undefined;
  afterEach(async () => {
    await harness?.stop();
    harness = undefined;
  });

  const withTopic = async (partitions = 1) => {
    const k = kafka();
    const topic = uniqueTopic('contract');
    await createTopic(k, topic, partitions);
    harness = await startGateway({ servers: [k.bootstrap] });
    return { topic, harness };
  };

  it('zero credit stalls a fetch, which resumes exactly when credit is granted', async () => {
    const { topic, harness } = await withTopic();
    const fetch = open(harness, { capability: 'fetch', topic, start: 'live' }, { initialWindow: 0 });
    await fetch.next('begin');
    await waitCaughtUp(fetch);
    await close(
      (
        await produce(
          harness,
          topic,
          Array.from({ length: 8 }, (_, i) => ({ value: `${i}`.repeat(512) })),
        )
      ).peer,
    );
    await sleep(400);
    expect(fetch.received().byteLength).toBe(0);
    fetch.window(1000);
    await fetch.until(() => fetch.received().byteLength >= 1000);
    await sleep(200);
    expect(fetch.received().byteLength).toBe(1000);
    fetch.window(4096 - 1000);
    await fetch.until(() => fetch.received().byteLength >= 4096);
    expect(records(fetch)).toHaveLength(8);
    expect(fetch.received().byteLength).toBe(4096);
    await close(fetch);
  });

  it('orderly close initiated by the application: the reply ends, after all answers', async () => {
    const { topic, harness } = await withTopic();
    const producer = open(harness, { capability: 'produce', topic });
    await producer.next('begin');
    send(producer, { value: 'a' });
    send(producer, { value: 'b' });
    producer.end();
    await producer.next('end');
    expect(producer.frames.filter((f) => f.frame === 'flush')).toHaveLength(2);
    expect(producer.handle.in.state).toBe('closed');
    expect(producer.handle.out.state).toBe('closed');

    const fetch = open(
      harness,
      { capability: 'fetch', topic, start: 'historical' },
      { initialWindow: 65536, autoWindow: true },
    );
    await waitRecords(fetch, 2);
    fetch.end();
    await fetch.next('end');
    expect(fetch.handle.in.state).toBe('closed');
  });

  it('orderly close initiated by the binding: describe answers and ends, the application ends after', async () => {
    const { topic, harness } = await withTopic();
    const peer = open(harness, { capability: 'describe', topic, configs: ['cleanup.policy'] });
    await peer.next('end');
    expect(peer.handle.out.writable).toBe(true);
    peer.end();
    expect(peer.handle.out.state).toBe('closed');
  });

  it('an application reset of the reply tears the fetch stream down', async () => {
    const { topic, harness } = await withTopic();
    await close((await produce(harness, topic, [{ value: 'x' }])).peer);
    const fetch = open(
      harness,
      { capability: 'fetch', topic, start: 'historical' },
      { initialWindow: 65536, autoWindow: true },
    );
    await waitRecords(fetch, 1);
    fetch.reset('APP_RESET');
    // The binding resets the initial half in turn: the application may not write any more.
    await fetch.until((f) => f.frame === 'reset');
    expect(fetch.handle.out.writable).toBe(false);
    await close((await produce(harness, topic, [{ value: 'after' }])).peer);
    await sleep(300);
    expect(records(fetch)).toHaveLength(1);
  });

  it('an application abort tears the produce stream down', async () => {
    const { topic, harness } = await withTopic();
    const peer = open(harness, { capability: 'produce', topic });
    await peer.next('begin');
    send(peer, { value: 'maybe' });
    peer.abort('APP_ABORT');
    const { code } = await failure(peer);
    expect(code).toBe('APP_ABORT');
    expect(peer.handle.in.state).toBe('closed');
  });

  const MALFORMED: [string, object][] = [
    ['no kafka extension', { type: 'http', method: 'GET' }],
    ['no topic', { type: 'kafka', capability: 'fetch' }],
    ['an illegal topic name', { type: 'kafka', capability: 'fetch', topic: 'a/b' }],
    ['an unknown capability', { type: 'kafka', capability: 'subscribe', topic: 't' }],
    ['bad acks', { type: 'kafka', capability: 'produce', topic: 't', acks: 2 }],
    [
      'a numeric offset',
      { type: 'kafka', capability: 'fetch', topic: 't', partitions: [{ partition: 0, offset: 1 }] },
    ],
    ['malformed filters', { type: 'kafka', capability: 'fetch', topic: 't', filters: [{ conditions: 7 }] }],
  ];
  for (const [label, begin] of MALFORMED) {
    it(`refuses a begin with ${label} with TRIB_KAFKA_INVALID_BEGIN`, async () => {
      const k = kafka();
      harness = await startGateway({ servers: [k.bootstrap] });
      const peer = open(harness, begin as never);
      const { code, ext } = await failure(peer, 5_000);
      expect(code).toBe('TRIB_KAFKA_INVALID_BEGIN');
      expect(ext).toMatchObject({ type: 'kafka', kind: 'error', reason: 'internal', retriable: false });
      expect(peer.has('begin')).toBe(false);
      expect(harness.gateway.state).toBe('running');
    });
  }
});
