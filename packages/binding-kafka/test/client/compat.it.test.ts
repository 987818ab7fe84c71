// What must hold on every supported broker (Kafka 4.x, and 3.9 unless TRIBUTARY_IT_SKIP_COMPAT=1):
// a round trip, partitions compatible with the Java client, resuming from a token, SCRAM.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { TestHarness } from '@tributary/kernel/testkit';
import { kafkaBrokers, uniqueTopic } from '../../../../tools/it/context.ts';
import { partitionForKey } from '../../src/client/partitioner.ts';
import type { KafkaAckEx } from '../../src/index.ts';
import { javaPartitions } from './java.ts';
import {
  close,
  createTopic,
  dec,
  enc,
  open,
  produce,
  records,
  securityOptions,
  startGateway,
  waitCaughtUp,
  waitRecords,
} from './helpers.ts';

const WIDE = { initialWindow: 1 << 20, autoWindow: true };

/** 64 keys: short and long, ASCII and not, an empty one, random bytes. */
const KEYS: Uint8Array[] = [
  enc(''),
  enc('a'),
  enc('ab'),
  enc('abc'),
  enc('abcd'),
  enc('21'),
  enc('foobar'),
  enc('ключ'),
  enc('键-🔑'),
  enc('a-little-bit-long-string'),
  enc('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'),
  ...Array.from({ length: 33 }, (_, i) => enc(`user-${i * 7919}`)),
  ...Array.from({ length: 20 }, (_, i) => randomBytes(1 + ((i * 5) % 40))),
];

describe.each(kafkaBrokers())('$name', ({ kafka: k }) => {
  let harness: TestHarness | undefined;
  afterEach(async () => {
    await harness?.stop();
    harness = undefined;
  });

  it('round-trips records', async () => {
    const topic = uniqueTopic('compat-roundtrip');
    await createTopic(k, topic, 2);
    harness = await startGateway({ servers: [k.bootstrap] });
    const { peer, answers } = await produce(harness, topic, [
      {
        key: 'a',
        value: 'one',
        headers: [
          { name: 'h', value: '1' },
          { name: 'h', value: '2' },
        ],
      },
      { key: null, value: null },
    ]);
    expect(answers.map((a) => a.kind)).toEqual(['ack', 'ack']);
    await close(peer);
    const fetch = open(harness, { capability: 'fetch', topic, start: 'historical' }, WIDE);
    await waitCaughtUp(fetch);
    const got = records(fetch);
    expect(got.map((r) => [r.ext.tombstone, dec(r.value)]).sort()).toEqual([
      [false, 'one'],
      [true, ''],
    ]);
    expect(got.find((r) => !r.ext.tombstone)!.ext.headers.map((h) => h.name)).toEqual(['h', 'h']);
    await close(fetch);
  });

  it('puts every key on the partition the Java client chooses (murmur2, 7 partitions)', async () => {
    const ours = uniqueTopic('compat-murmur2-gateway');
    const theirs = uniqueTopic('compat-murmur2-java');
    await createTopic(k, ours, 7);
    await createTopic(k, theirs, 7);
    harness = await startGateway({ servers: [k.bootstrap] });
    const { peer, answers } = await produce(
      harness,
      ours,
      KEYS.map((key) => ({ key, value: 'v' })),
    );
    await close(peer);
    const java = await javaPartitions(k.bootstrap, theirs, 7, KEYS);
    expect(java).toHaveLength(KEYS.length);
    const gateway = answers.map((a: KafkaAckEx) => (a.kind === 'ack' ? a.partition : -1));
    expect(gateway).toEqual(java.map((j) => j.produced));
    expect(java.map((j) => j.formula)).toEqual(java.map((j) => j.produced));
    expect(KEYS.map((key) => partitionForKey(key, 7))).toEqual(gateway);
    // The keys spread over every partition, so the comparison means something.
    expect(new Set(gateway).size).toBe(7);
  });

  it('resumes from a token with no gap and no duplicate', async () => {
    const topic = uniqueTopic('compat-token');
    await createTopic(k, topic, 3);
    harness = await startGateway({ servers: [k.bootstrap] });
    await close(
      (
        await produce(
          harness,
          topic,
          Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
        )
      ).peer,
    );
    const first = open(harness, { capability: 'fetch', topic, start: 'historical' }, WIDE);
    const head = (await waitRecords(first, 7)).slice(0, 7);
    await close(first);
    const second = open(harness, { capability: 'fetch', topic, token: head.at(-1)!.ext.token }, WIDE);
    await waitCaughtUp(second);
    const seen = [...head, ...records(second)].map((r) => `${r.ext.partition}:${r.ext.offset}`);
    expect(seen).toHaveLength(20);
    expect(new Set(seen).size).toBe(20);
    await close(second);
  });

  it('authenticates with SCRAM-SHA-512', async () => {
    const topic = uniqueTopic('compat-scram');
    await createTopic(k, topic, 1);
    harness = await startGateway(securityOptions(k, 'scram512', 'scram-sha-512'), {
      env: { KAFKA_TEST_PASSWORD: k.users.alice.password },
    });
    const { peer, answers } = await produce(harness, topic, [{ value: 'scram' }]);
    expect(answers[0]!.kind).toBe('ack');
    await close(peer);
    const fetch = open(harness, { capability: 'fetch', topic, start: 'historical' }, WIDE);
    expect(dec((await waitRecords(fetch, 1))[0]!.value)).toBe('scram');
    await close(fetch);
  });
});
