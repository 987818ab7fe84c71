// Fetch streams against a real broker: where they start, resume tokens, read_committed,
// filters, credit, new partitions.
import { Producer, ProduceAcks } from '@platformatic/kafka';
import { afterEach, describe, expect, it } from 'vitest';
import type { TestHarness } from '@tributary/kernel/testkit';
import { kafka, uniqueTopic } from '../../../../tools/it/context.ts';
import { encodeToken } from '../../src/stream/token.ts';
import {
  caughtUp,
  close,
  createTopic,
  dec,
  enc,
  failure,
  open,
  produce,
  records,
  sleep,
  startGateway,
  waitCaughtUp,
  waitRecords,
  withAdmin,
  type Delivered,
} from './helpers.ts';

const WIDE = { initialWindow: 1 << 20, autoWindow: true };
const at = (r: Delivered) => `${r.ext.partition}:${r.ext.offset}`;

describe('fetch', () => {
  let harness: TestHarness | undefined;
  afterEach(async () => {
    await harness?.stop();
    harness = undefined;
  });

  it('starts historical or live, and says when it has caught up', async () => {
    const k = kafka();
    const topic = uniqueTopic('fetch-start');
    await createTopic(k, topic, 2);
    harness = await startGateway({ servers: [k.bootstrap] });
    const first = await produce(
      harness,
      topic,
      ['a', 'b', 'c'].map((value) => ({ key: value, value })),
    );
    const historical = open(harness, { capability: 'fetch', topic, start: 'historical' }, WIDE);
    const live = open(harness, { capability: 'fetch', topic, start: 'live' }, WIDE);
    await waitCaughtUp(historical);
    await waitCaughtUp(live);
    // Everything present at the start came before the caught-up flush; live had nothing to catch up.
    expect(
      records(historical)
        .map((r) => dec(r.value))
        .sort(),
    ).toEqual(['a', 'b', 'c']);
    expect(records(live)).toEqual([]);
    const flushAt = historical.frames.findIndex((f) => f.frame === 'flush');
    expect(historical.frames.slice(0, flushAt).filter((f) => f.frame === 'data')).toHaveLength(3);

    send2(first.peer);
    const fresh = await waitRecords(live, 2);
    expect(fresh.map((r) => dec(r.value)).sort()).toEqual(['d', 'e']);
    expect((await waitRecords(historical, 5)).map((r) => dec(r.value)).sort()).toEqual([
      'a',
      'b',
      'c',
      'd',
      'e',
    ]);
    await close(first.peer);
    await close(live);
    await close(historical);

    function send2(peer: typeof first.peer) {
      for (const value of ['d', 'e']) {
        peer.send(value, { type: 'kafka', kind: 'produce', key: enc(value), headers: [] } as never);
      }
    }
  });

  it('defaults to historical on a compacted topic and to live otherwise', async () => {
    const k = kafka();
    const compacted = uniqueTopic('fetch-default-compact');
    const deleting = uniqueTopic('fetch-default-delete');
    await createTopic(k, compacted, 1, { 'cleanup.policy': 'compact' });
    await createTopic(k, deleting, 1);
    harness = await startGateway({ servers: [k.bootstrap] });
    await close((await produce(harness, compacted, [{ key: 'k', value: 'kept' }])).peer);
    await close((await produce(harness, deleting, [{ key: 'k', value: 'old' }])).peer);
    const a = open(harness, { capability: 'fetch', topic: compacted }, WIDE);
    const b = open(harness, { capability: 'fetch', topic: deleting }, WIDE);
    await waitCaughtUp(a);
    await waitCaughtUp(b);
    expect(records(a).map((r) => dec(r.value))).toEqual(['kept']);
    expect(records(b)).toEqual([]);
    await close(a);
    await close(b);
  });

  it('starts from explicit offsets and fetches only the partitions asked for', async () => {
    const k = kafka();
    const topic = uniqueTopic('fetch-explicit');
    await createTopic(k, topic, 3);
    harness = await startGateway({ servers: [k.bootstrap] });
    const inputs = [0, 1, 2].flatMap((partition) =>
      [0, 1, 2, 3].map((i) => ({ partition, value: `p${partition}-${i}` })),
    );
    await close((await produce(harness, topic, inputs)).peer);
    const peer = open(
      harness,
      {
        capability: 'fetch',
        topic,
        partitions: [
          { partition: 1, offset: 2n },
          { partition: 2, offset: 3n },
        ],
      },
      WIDE,
    );
    await waitCaughtUp(peer);
    expect(
      records(peer)
        .map((r) => dec(r.value))
        .sort(),
    ).toEqual(['p1-2', 'p1-3', 'p2-3']);
    await close(peer);
  });

  it('resumes from a token exactly after the last record: no gap, no duplicate', async () => {
    const k = kafka();
    const topic = uniqueTopic('fetch-token');
    await createTopic(k, topic, 3);
    harness = await startGateway({ servers: [k.bootstrap] });
    const inputs = Array.from({ length: 30 }, (_, i) => ({ key: `key-${i}`, value: `value-${i}` }));
    await close((await produce(harness, topic, inputs)).peer);

    // The first reader takes 12 records, then leaves.
    const first = open(harness, { capability: 'fetch', topic, start: 'historical' }, WIDE);
    const seen = (await waitRecords(first, 12)).slice(0, 12);
    await close(first);
    const token = seen.at(-1)!.ext.token;

    const second = open(harness, { capability: 'fetch', topic, token }, WIDE);
    await waitCaughtUp(second);
    const rest = records(second);
    const all = [...seen, ...rest].map(at);
    expect(new Set(all).size).toBe(all.length);
    expect(all).toHaveLength(30);
    // The caught-up token resumes at the end: nothing more.
    const third = open(harness, { capability: 'fetch', topic, token: caughtUp(second)!.token }, WIDE);
    await waitCaughtUp(third);
    expect(records(third)).toEqual([]);
    await close(second);
    await close(third);
  });

  it('refuses a garbage token with invalid-token, and keeps serving other streams', async () => {
    const k = kafka();
    const topic = uniqueTopic('fetch-bad-token');
    await createTopic(k, topic, 1);
    harness = await startGateway({ servers: [k.bootstrap] });
    const bad = open(harness, { capability: 'fetch', topic, token: 'not!a~token' }, WIDE);
    const { code, ext } = await failure(bad);
    expect(code).toBe('TRIB_KAFKA_INVALID_TOKEN');
    expect(ext).toMatchObject({ type: 'kafka', kind: 'error', reason: 'invalid-token', retriable: false });
    expect(bad.has('begin')).toBe(false);
    const good = open(harness, { capability: 'fetch', topic, start: 'historical' }, WIDE);
    await waitCaughtUp(good);
    await close(good);
  });

  it('signs tokens when a key is configured, and refuses unsigned or foreign ones', async () => {
    const k = kafka();
    const topic = uniqueTopic('fetch-signed');
    await createTopic(k, topic, 2);
    harness = await startGateway({ servers: [k.bootstrap], token: { key: 'a-secret-of-sixteen+' } });
    await close(
      (
        await produce(harness, topic, [
          { key: 'a', value: '1' },
          { key: 'b', value: '2' },
        ])
      ).peer,
    );
    const first = open(harness, { capability: 'fetch', topic, start: 'historical' }, WIDE);
    const signed = (await waitRecords(first, 1))[0]!.ext.token;
    await close(first);
    const resumed = open(harness, { capability: 'fetch', topic, token: signed }, WIDE);
    await waitCaughtUp(resumed);
    expect(records(resumed)).toHaveLength(1);
    await close(resumed);

    const unsigned = encodeToken({ offsets: new Map([[0, 0n]]) });
    const refused = open(harness, { capability: 'fetch', topic, token: unsigned }, WIDE);
    expect((await failure(refused)).ext?.reason).toBe('invalid-token');
    const tampered = open(
      harness,
      { capability: 'fetch', topic, token: signed.slice(0, -2) + (signed.endsWith('AA') ? 'AB' : 'AA') },
      WIDE,
    );
    expect((await failure(tampered)).ext?.reason).toBe('invalid-token');
    const beyond = open(
      harness,
      {
        capability: 'fetch',
        topic,
        token: encodeToken({ offsets: new Map([[9, 0n]]) }, enc('a-secret-of-sixteen+')),
      },
      WIDE,
    );
    const { ext } = await failure(beyond);
    expect(ext?.reason).toBe('invalid-token');
    expect(ext?.message).toMatch(/partition 9/);
  });

  it('hides aborted transactions under read_committed', async () => {
    const k = kafka();
    const topic = uniqueTopic('fetch-committed');
    await createTopic(k, topic, 1);
    const producer = new Producer({
      clientId: 'tributary-test-txn',
      bootstrapBrokers: [k.bootstrap],
      idempotent: true,
      transactionalId: uniqueTopic('txn'),
    });
    try {
      const value = (text: string) => ({ topic, partition: 0, value: Buffer.from(text) });
      const committed = await producer.beginTransaction();
      await committed.send({ messages: [value('committed-1'), value('committed-2')] });
      await committed.commit();
      const aborted = await producer.beginTransaction();
      await aborted.send({ messages: [value('aborted-1'), value('aborted-2')] });
      await aborted.abort();
      const plain = new Producer({ clientId: 'tributary-test-plain', bootstrapBrokers: [k.bootstrap] });
      await plain.send({ messages: [value('plain')], acks: ProduceAcks.ALL });
      await plain.close();
    } finally {
      await producer.close();
    }
    harness = await startGateway({ servers: [k.bootstrap] });
    const committed = open(
      harness,
      { capability: 'fetch', topic, start: 'historical', isolation: 'read_committed' },
      WIDE,
    );
    const uncommitted = open(
      harness,
      { capability: 'fetch', topic, start: 'historical', isolation: 'read_uncommitted' },
      WIDE,
    );
    await waitCaughtUp(committed);
    await waitCaughtUp(uncommitted);
    expect(records(committed).map((r) => dec(r.value))).toEqual(['committed-1', 'committed-2', 'plain']);
    expect(records(uncommitted).map((r) => dec(r.value))).toEqual([
      'committed-1',
      'committed-2',
      'aborted-1',
      'aborted-2',
      'plain',
    ]);
    // Transaction markers take offsets too: the token skips past them.
    const resumed = open(
      harness,
      { capability: 'fetch', topic, token: records(committed)[1]!.ext.token, isolation: 'read_committed' },
      WIDE,
    );
    await waitCaughtUp(resumed);
    expect(records(resumed).map((r) => dec(r.value))).toEqual(['plain']);
    await close(committed);
    await close(uncommitted);
    await close(resumed);
  });

  it('applies filters, and moves the token past what they reject', async () => {
    const k = kafka();
    const topic = uniqueTopic('fetch-filters');
    await createTopic(k, topic, 1);
    harness = await startGateway({ servers: [k.bootstrap] });
    await close(
      (
        await produce(harness, topic, [
          { key: 'a', value: '1', headers: [{ name: 'kind', value: 'x' }] },
          { key: 'b', value: '2' },
          { key: 'a', value: '3' },
          { key: 'b', value: '4', headers: [{ name: 'kind', value: 'x' }] },
        ])
      ).peer,
    );
    const peer = open(
      harness,
      {
        capability: 'fetch',
        topic,
        start: 'historical',
        filters: [
          { conditions: [{ key: enc('a') }] },
          { conditions: [{ header: { name: 'kind', value: enc('x') } }] },
        ],
      },
      WIDE,
    );
    const done = await waitCaughtUp(peer);
    expect(records(peer).map((r) => dec(r.value))).toEqual(['1', '3', '4']);
    const after = open(harness, { capability: 'fetch', topic, token: done.token }, WIDE);
    await waitCaughtUp(after);
    expect(records(after)).toEqual([]);
    await close(peer);
    await close(after);
  });

  it('delivers nothing without credit and exactly what the credit allows', async () => {
    const k = kafka();
    const topic = uniqueTopic('fetch-credit');
    await createTopic(k, topic, 1);
    harness = await startGateway({ servers: [k.bootstrap] });
    await close(
      (
        await produce(
          harness,
          topic,
          Array.from({ length: 10 }, (_, i) => ({ value: `${i}`.padStart(100, '.') })),
        )
      ).peer,
    );
    const peer = open(harness, { capability: 'fetch', topic, start: 'historical' }, { initialWindow: 0 });
    await peer.next('begin');
    await sleep(500);
    expect(peer.received().byteLength).toBe(0);
    peer.window(250);
    await peer.until(() => peer.received().byteLength >= 250);
    await sleep(300);
    // Two whole records and half of the third: never more than the credit.
    expect(peer.received().byteLength).toBe(250);
    peer.window(750);
    await peer.until(() => peer.received().byteLength >= 1000);
    await waitCaughtUp(peer);
    expect(records(peer)).toHaveLength(10);
    expect(peer.received().byteLength).toBe(1000);
    await close(peer);
  });

  it('picks up partitions added while it runs', async () => {
    const k = kafka();
    const topic = uniqueTopic('fetch-new-partitions');
    await createTopic(k, topic, 1);
    harness = await startGateway({ servers: [k.bootstrap], metadataMaxAgeMs: 300 });
    const peer = open(harness, { capability: 'fetch', topic, start: 'live' }, WIDE);
    await waitCaughtUp(peer);
    await withAdmin(k, (admin) => admin.createPartitions({ topics: [{ name: topic, count: 2 }] }));
    await sleep(1_000);
    const { peer: producer, answers } = await produce(harness, topic, [
      { value: 'in the new one', partition: 1 },
    ]);
    expect(answers[0]!.kind).toBe('ack');
    const got = await waitRecords(peer, 1);
    expect(got[0]!.ext.partition).toBe(1);
    expect(dec(got[0]!.value)).toBe('in the new one');
    await close(producer);
    await close(peer);
  });

  it('fails with unknown-topic for a topic that does not exist', async () => {
    const k = kafka();
    harness = await startGateway({ servers: [k.bootstrap] });
    const peer = open(
      harness,
      { capability: 'fetch', topic: uniqueTopic('fetch-missing'), start: 'historical' },
      WIDE,
    );
    const { code, ext } = await failure(peer);
    expect(code).toBe('TRIB_KAFKA_UNKNOWN_TOPIC');
    expect(ext?.reason).toBe('unknown-topic');
  });
});
