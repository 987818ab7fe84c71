// Meta and describe streams against a real broker.
import { afterEach, describe, expect, it } from 'vitest';
import type { TestHarness } from '@tributary/kernel/testkit';
import { kafka, uniqueTopic } from '../../../../tools/it/context.ts';
import type { KafkaDescribeEx, KafkaMetaEx } from '../../src/index.ts';
import { close, createTopic, failure, open, startGateway, withAdmin } from './helpers.ts';

describe('meta', () => {
  let harness: TestHarness | undefined;
  afterEach(async () => {
    await harness?.stop();
    harness = undefined;
  });

  it('reports partitions and leaders, then their changes', async () => {
    const k = kafka();
    const topic = uniqueTopic('meta');
    await createTopic(k, topic, 3);
    harness = await startGateway({ servers: [k.bootstrap], metadataMaxAgeMs: 200 });
    const peer = open(harness, { capability: 'meta', topic });
    const begin = await peer.next('begin');
    const meta = (begin.frame === 'begin' ? begin.ext : undefined) as KafkaMetaEx;
    expect(meta).toEqual({
      type: 'kafka',
      kind: 'meta',
      topic,
      partitions: [0, 1, 2].map((partition) => ({ partition, leader: 1 })),
    });
    await withAdmin(k, (admin) => admin.createPartitions({ topics: [{ name: topic, count: 5 }] }));
    const flush = await peer.next('flush', 10_000);
    const changed = (flush.frame === 'flush' ? flush.ext : undefined) as KafkaMetaEx;
    expect(changed.partitions.map((p) => p.partition)).toEqual([0, 1, 2, 3, 4]);
    await close(peer);
    expect(peer.has('end')).toBe(true);
  });

  it('fails with unknown-topic for a topic that does not exist', async () => {
    const k = kafka();
    harness = await startGateway({ servers: [k.bootstrap] });
    const peer = open(harness, { capability: 'meta', topic: uniqueTopic('meta-missing') });
    expect((await failure(peer)).ext?.reason).toBe('unknown-topic');
  });
});

describe('describe', () => {
  let harness: TestHarness | undefined;
  afterEach(async () => {
    await harness?.stop();
    harness = undefined;
  });

  it("returns a compacted topic's cleanup.policy, then ends", async () => {
    const k = kafka();
    const topic = uniqueTopic('describe');
    await createTopic(k, topic, 1, { 'cleanup.policy': 'compact', 'retention.ms': '3600000' });
    harness = await startGateway({ servers: [k.bootstrap] });
    const some = open(harness, {
      capability: 'describe',
      topic,
      configs: ['cleanup.policy', 'retention.ms'],
    });
    const begin = await some.next('begin');
    expect(begin.frame === 'begin' && begin.ext).toEqual({
      type: 'kafka',
      kind: 'describe',
      topic,
      configs: { 'cleanup.policy': 'compact', 'retention.ms': '3600000' },
    } satisfies KafkaDescribeEx);
    await some.next('end');
    some.end();

    const all = open(harness, { capability: 'describe', topic });
    const everything = await all.next('begin');
    const configs = (everything.frame === 'begin' ? (everything.ext as KafkaDescribeEx) : undefined)!.configs;
    expect(configs['cleanup.policy']).toBe('compact');
    expect(Object.keys(configs).length).toBeGreaterThan(10);
    await all.next('end');
    all.end();
  });

  it('fails with unknown-topic for a topic that does not exist', async () => {
    const k = kafka();
    harness = await startGateway({ servers: [k.bootstrap] });
    const peer = open(harness, { capability: 'describe', topic: uniqueTopic('describe-missing') });
    const { code, ext } = await failure(peer);
    expect(code).toBe('TRIB_KAFKA_UNKNOWN_TOPIC');
    expect(ext?.reason).toBe('unknown-topic');
  });
});
