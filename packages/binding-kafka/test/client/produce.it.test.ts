// Produce streams against a real broker: every record answered in order, acks levels,
// compression, fragments, bad records.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { TestHarness } from '@tributary/kernel/testkit';
import { kcat, kcatArgs } from '../../../../tools/kafka/clients.ts';
import { kafka, uniqueTopic } from '../../../../tools/it/context.ts';
import type { KafkaAckEx } from '../../src/index.ts';
import {
  answers,
  close,
  createTopic,
  dec,
  failure,
  open,
  produce,
  rawBatches,
  send,
  startGateway,
  waitAnswers,
  waitCaughtUp,
  waitRecords,
} from './helpers.ts';

const acked = (answer: KafkaAckEx): Extract<KafkaAckEx, { kind: 'ack' }> => {
  if (answer.kind !== 'ack') throw new Error(`expected an ack, got ${JSON.stringify(answer.error)}`);
  return answer;
};

describe('produce', () => {
  let harness: TestHarness | undefined;
  afterEach(async () => {
    await harness?.stop();
    harness = undefined;
  });

  it('round-trips headers with repeated names, a null key, a tombstone, an empty value and 100 KiB', async () => {
    const k = kafka();
    const topic = uniqueTopic('produce-roundtrip');
    await createTopic(k, topic, 1);
    harness = await startGateway({ servers: [k.bootstrap] });
    const big = randomBytes(100 * 1024);
    const { peer, answers: got } = await produce(harness, topic, [
      {
        key: 'k1',
        value: 'v1',
        headers: [
          { name: 'a', value: '1' },
          { name: 'a', value: '2' },
          { name: 'b', value: null },
          { name: 'a', value: '3' },
        ],
        correlation: 'first',
      },
      { key: null, value: 'no key', correlation: 'second' },
      { key: 'gone', value: null },
      { key: 'empty', value: '' },
      { key: 'big', value: big, timestamp: 1_700_000_000_000 },
    ]);
    expect(got.map((a) => acked(a).offset)).toEqual([0n, 1n, 2n, 3n, 4n]);
    expect(got.map((a) => a.correlation)).toEqual(['first', 'second', undefined, undefined, undefined]);
    await close(peer);

    const fetch = open(
      harness,
      { capability: 'fetch', topic, start: 'historical' },
      { initialWindow: 256 * 1024, autoWindow: true },
    );
    const records = await waitRecords(fetch, 5);
    await waitCaughtUp(fetch);
    const [first, second, tombstone, empty, large] = records.map((r) => r.ext);
    expect(first!.headers.map((h) => [h.name, h.value === null ? null : dec(h.value)])).toEqual([
      ['a', '1'],
      ['a', '2'],
      ['b', null],
      ['a', '3'],
    ]);
    expect(dec(first!.key!)).toBe('k1');
    expect(second!.key).toBeNull();
    expect(dec(records[1]!.value)).toBe('no key');
    expect(tombstone!.tombstone).toBe(true);
    expect(records[2]!.value.byteLength).toBe(0);
    expect(empty!.tombstone).toBe(false);
    expect(records[3]!.value.byteLength).toBe(0);
    expect(large!.timestamp).toBe(1_700_000_000_000);
    expect(Buffer.compare(Buffer.from(records[4]!.value), big)).toBe(0);
    expect(records.map((r) => r.ext.offset)).toEqual([0n, 1n, 2n, 3n, 4n]);
    await close(fetch);

    // The Java-independent reference client reads the same headers and the tombstone.
    const read = await kcat([
      ...kcatArgs(k, 'plaintext'),
      '-C',
      '-t',
      topic,
      '-o',
      'beginning',
      '-c',
      '3',
      '-e',
      '-q',
      '-Z',
      '-f',
      '%k|%h|%S\n',
    ]);
    expect(read.code, read.stderr).toBe(0);
    // -Z: NULL for a null key, header value or record value (%S, the value size, is then -1).
    expect(read.stdout.split('\n').slice(0, 3)).toEqual(['k1|a=1,a=2,b=NULL,a=3|2', 'NULL||6', 'gone||-1']);
  });

  it('reassembles a 100 KiB record that arrives in fragments through a 16 KiB window', async () => {
    const k = kafka();
    const topic = uniqueTopic('produce-fragments');
    await createTopic(k, topic, 1);
    harness = await startGateway({ servers: [k.bootstrap], produce: { windowBytes: 16 * 1024 } });
    const peer = open(harness, { capability: 'produce', topic });
    const granted = await peer.next('window');
    expect(granted.frame === 'window' && granted.credit).toBe(16 * 1024);
    const big = randomBytes(100 * 1024);
    send(peer, { key: 'big', value: big });
    send(peer, { key: 'small', value: 'after' });
    const got = await waitAnswers(peer, 2);
    expect(got.map((a) => acked(a).offset)).toEqual([0n, 1n]);
    await close(peer);

    // Fetch it through an 8 KiB window: fragments again, joined by the reader.
    const fetch = open(
      harness,
      { capability: 'fetch', topic, start: 'historical' },
      { initialWindow: 8 * 1024, autoWindow: true },
    );
    const records = await waitRecords(fetch, 2);
    expect(fetch.dataFrames().length).toBeGreaterThan(12);
    expect(Buffer.compare(Buffer.from(records[0]!.value), big)).toBe(0);
    expect(dec(records[1]!.value)).toBe('after');
    await close(fetch);
  });

  it('answers with acks none, leader and all', async () => {
    const k = kafka();
    const topic = uniqueTopic('produce-acks');
    await createTopic(k, topic, 1);
    harness = await startGateway({ servers: [k.bootstrap] });
    const none = await produce(harness, topic, [{ value: 'n1' }, { value: 'n2' }], { acks: 'none' });
    expect(none.answers.map((a) => [a.kind, acked(a).partition, acked(a).offset])).toEqual([
      ['ack', 0, -1n],
      ['ack', 0, -1n],
    ]);
    await close(none.peer);
    const leader = await produce(harness, topic, [{ value: 'l1' }, { value: 'l2' }], { acks: 'leader' });
    expect(leader.answers.map((a) => acked(a).offset)).toEqual([2n, 3n]);
    await close(leader.peer);
    const all = await produce(harness, topic, [{ value: 'a1' }], { acks: 'all' });
    expect(all.answers.map((a) => acked(a).offset)).toEqual([4n]);
    await close(all.peer);
    const fetch = open(
      harness,
      { capability: 'fetch', topic, start: 'historical' },
      { initialWindow: 65536, autoWindow: true },
    );
    expect((await waitRecords(fetch, 5)).map((r) => dec(r.value))).toEqual(['n1', 'n2', 'l1', 'l2', 'a1']);
    await close(fetch);
  });

  it('uses the idempotent producer for acks all when configured', async () => {
    const k = kafka();
    const topic = uniqueTopic('produce-idempotent');
    await createTopic(k, topic, 2);
    harness = await startGateway({ servers: [k.bootstrap], produce: { idempotent: true } });
    const { peer, answers: got } = await produce(
      harness,
      topic,
      Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
    );
    expect(got.every((a) => a.kind === 'ack')).toBe(true);
    await close(peer);
    const batches = await rawBatches(k, topic, 2);
    expect(batches.length).toBeGreaterThan(0);
    // An idempotent producer stamps its batches with a producer id.
    expect(batches.every((b) => b.producerId >= 0n)).toBe(true);
  });

  for (const compression of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
    it(`compresses with ${compression}, readable by the gateway and by kcat`, async () => {
      const k = kafka();
      const topic = uniqueTopic(`produce-${compression}`);
      await createTopic(k, topic, 1);
      harness = await startGateway({ servers: [k.bootstrap], produce: { compression } });
      const values = Array.from({ length: 10 }, (_, i) => `${compression} record ${i} ${'x'.repeat(200)}`);
      const { peer, answers: got } = await produce(
        harness,
        topic,
        values.map((value) => ({ value })),
      );
      expect(got.every((a) => a.kind === 'ack')).toBe(true);
      await close(peer);
      const codec = { gzip: 1, snappy: 2, lz4: 3, zstd: 4 }[compression];
      const batches = await rawBatches(k, topic, 1);
      expect(batches.map((b) => b.attributes & 0x07)).toEqual(batches.map(() => codec));
      const fetch = open(
        harness,
        { capability: 'fetch', topic, start: 'historical' },
        { initialWindow: 65536, autoWindow: true },
      );
      expect((await waitRecords(fetch, 10)).map((r) => dec(r.value))).toEqual(values);
      await close(fetch);
      const read = await kcat([
        ...kcatArgs(k, 'plaintext'),
        '-C',
        '-t',
        topic,
        '-o',
        'beginning',
        '-c',
        '10',
        '-e',
        '-q',
      ]);
      expect(read.code, read.stderr).toBe(0);
      expect(read.stdout.trimEnd().split('\n')).toEqual(values);
    });
  }

  it('writes explicit partitions and nacks bad records without stopping the stream', async () => {
    const k = kafka();
    const topic = uniqueTopic('produce-partitions');
    await createTopic(k, topic, 3);
    harness = await startGateway({ servers: [k.bootstrap] });
    const peer = open(harness, { capability: 'produce', topic });
    await peer.next('begin');
    send(peer, { value: 'to two', partition: 2, correlation: 'a' });
    send(peer, { value: 'nowhere', partition: 7, correlation: 'b' });
    peer.send('no extension');
    peer.send('not empty', {
      type: 'kafka',
      kind: 'produce',
      key: null,
      headers: [],
      tombstone: true,
      correlation: 'd',
    } as never);
    send(peer, { value: 'to zero', partition: 0, correlation: 'e' });
    const got = await waitAnswers(peer, 5);
    expect(got.map((a) => [a.kind, a.correlation])).toEqual([
      ['ack', 'a'],
      ['nack', 'b'],
      ['nack', undefined],
      ['nack', 'd'],
      ['ack', 'e'],
    ]);
    expect(acked(got[0]!).partition).toBe(2);
    expect(acked(got[4]!).partition).toBe(0);
    for (const nack of got.filter((a) => a.kind === 'nack')) {
      expect(nack.kind === 'nack' && nack.error.reason).toBe('invalid-record');
      expect(nack.kind === 'nack' && nack.error.code).toBe('TRIB_KAFKA_INVALID_RECORD');
    }
    await close(peer);
    expect(peer.has('end')).toBe(true);
  });

  it('nacks a record larger than the topic accepts, and acks the rest', async () => {
    const k = kafka();
    const topic = uniqueTopic('produce-too-large');
    await createTopic(k, topic, 2, { 'max.message.bytes': '10000' });
    harness = await startGateway({ servers: [k.bootstrap] });
    const { peer, answers: got } = await produce(harness, topic, [
      { value: randomBytes(50_000), partition: 0 },
      { value: 'fits', partition: 1 },
    ]);
    const refused = got[0]!;
    expect(refused.kind === 'nack' && refused.error.reason).toBe('invalid-record');
    expect(refused.kind === 'nack' && refused.error.message).toMatch(
      /MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE/,
    );
    expect(acked(got[1]!).partition).toBe(1);
    await close(peer);
  });

  it('nacks records for a topic that does not exist', async () => {
    const k = kafka();
    harness = await startGateway({ servers: [k.bootstrap] });
    const { peer, answers: got } = await produce(harness, uniqueTopic('produce-missing'), [{ value: 'x' }]);
    const refused = got[0]!;
    expect(refused.kind === 'nack' && refused.error.reason).toBe('unknown-topic');
    expect(refused.kind === 'nack' && refused.error.code).toBe('TRIB_KAFKA_UNKNOWN_TOPIC');
    await close(peer);
  });

  it('returns credit only as records are answered, and ends after the last answer', async () => {
    const k = kafka();
    const topic = uniqueTopic('produce-credit');
    await createTopic(k, topic, 1);
    harness = await startGateway({ servers: [k.bootstrap], produce: { windowBytes: 1000 } });
    const peer = open(harness, { capability: 'produce', topic });
    await peer.next('window');
    // Ten records of 300 bytes: only three fit the window until answers return credit.
    for (let i = 0; i < 10; i++) send(peer, { value: 'y'.repeat(300) });
    peer.end();
    await waitAnswers(peer, 10);
    await peer.next('end');
    const windows = peer.frames.flatMap((f) => (f.frame === 'window' ? [f.credit] : []));
    expect(windows[0]).toBe(1000);
    expect(answers(peer).every((a) => a.kind === 'ack')).toBe(true);
    // The end came after every answer.
    const endAt = peer.frames.findIndex((f) => f.frame === 'end');
    const lastAnswer = peer.frames.findLastIndex((f) => f.frame === 'flush');
    expect(endAt).toBeGreaterThan(lastAnswer);
  });

  it('aborts with an error extension when the opener aborts', async () => {
    const k = kafka();
    const topic = uniqueTopic('produce-abort');
    await createTopic(k, topic, 1);
    harness = await startGateway({ servers: [k.bootstrap] });
    const peer = open(harness, { capability: 'produce', topic });
    await peer.next('begin');
    peer.abort('APP_GONE');
    const { code } = await failure(peer);
    expect(code).toBe('APP_GONE');
  });
});
