// The cache kind against a real broker: app (test server) → kafka cache → kafka client → Kafka.
import { afterEach, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createTestKernel, type ScriptedPeer, type TestHarness } from '@tributary/kernel/testkit';
import { hasKafkaCompat, kafka, kafkaCompat, uniqueTopic } from '../../../../tools/it/context.ts';
import type { KafkaFetchBeginEx, KafkaFilter } from '../../src/index.ts';
import { plugin } from '../../src/plugin.ts';
import { startKafka, type KafkaHandle } from '../../../../tools/kafka/broker.ts';
import type { KafkaCacheBinding } from '../../src/cache/binding.ts';
import type { KafkaCacheOptions } from '../../src/cache/schema.ts';
import {
  caughtUp,
  createTopic,
  dec,
  enc,
  eventually,
  FAST,
  open,
  produce,
  records,
  waitCaughtUp,
  waitRecords,
  type ProduceInput,
} from '../client/helpers.ts';

function cacheGateway(
  bootstrap: string,
  options: KafkaCacheOptions = {},
  client: Record<string, unknown> = {},
): Promise<TestHarness> {
  return createTestKernel({
    config: {
      name: 'kafka-cache-test',
      bindings: {
        app: { type: 'test', kind: 'server', routes: [{ when: [{ route: 'kafka' }], exit: 'kafka_cache' }] },
        kafka_cache: { type: 'kafka', kind: 'cache', exit: 'kafka_client', options },
        kafka_client: {
          type: 'kafka',
          kind: 'client',
          options: { ...FAST, ...client, servers: [bootstrap] },
        },
      },
    },
    plugins: [plugin],
    logLevel: 'warn',
  });
}

const fetch = (
  harness: TestHarness,
  topic: string,
  begin: Partial<KafkaFetchBeginEx> = {},
  window = 1 << 20,
) =>
  open(
    harness,
    { capability: 'fetch', topic, ...begin },
    window > 0 ? { initialWindow: window, autoWindow: true } : {},
  );

const values = (peer: ScriptedPeer) => records(peer).map((r) => (r.ext.tombstone ? null : dec(r.value)));
const keys = (peer: ScriptedPeer) => records(peer).map((r) => (r.ext.key === null ? null : dec(r.ext.key)));

let harnesses: TestHarness[] = [];
afterEach(async () => {
  await Promise.all(harnesses.map((h) => h.stop(500)));
  harnesses = [];
});
async function gateway(
  bootstrap: string,
  options: KafkaCacheOptions = {},
  client: Record<string, unknown> = {},
) {
  const harness = await cacheGateway(bootstrap, options, client);
  harnesses.push(harness);
  return harness;
}

describe('kafka cache against Kafka', () => {
  it('gives a late subscriber of a compacted topic the latest value per key, then live records', async () => {
    const topic = uniqueTopic('cache-compact');
    await createTopic(kafka(), topic, 3, { 'cleanup.policy': 'compact' });
    const harness = await gateway(kafka().bootstrap);
    const writes: ProduceInput[] = [
      { key: 'a', value: 'a1' },
      { key: 'b', value: 'b1' },
      { key: 'a', value: 'a2' },
      { key: 'c', value: 'c1' },
      { key: 'b', value: null },
    ];
    const { answers } = await produce(harness, topic, writes);
    expect(answers.every((a) => a.kind === 'ack')).toBe(true);
    const late = fetch(harness, topic);
    await waitCaughtUp(late);
    expect(Object.fromEntries(records(late).map((r) => [dec(r.ext.key!), dec(r.value)]))).toEqual({
      a: 'a2',
      c: 'c1',
    });
    expect(records(late)).toHaveLength(2);
    await produce(harness, topic, [
      { key: 'c', value: null },
      { key: 'd', value: 'd1' },
    ]);
    await waitRecords(late, 4);
    expect(keys(late).slice(2).sort()).toEqual(['c', 'd']);
    expect(values(late).slice(2).sort()).toEqual(['d1', null].sort());
  });

  it('starts historical or live on a delete-policy topic as asked', async () => {
    const topic = uniqueTopic('cache-delete');
    await createTopic(kafka(), topic, 2);
    const harness = await gateway(kafka().bootstrap);
    await produce(harness, topic, [{ key: 'x', value: 'before' }]);
    const historical = fetch(harness, topic, { start: 'historical' });
    await waitCaughtUp(historical);
    const live = fetch(harness, topic, { start: 'live' });
    await waitCaughtUp(live);
    await produce(harness, topic, [{ key: 'x', value: 'after' }]);
    await waitRecords(historical, 2);
    await waitRecords(live, 1);
    expect(values(historical)).toEqual(['before', 'after']);
    expect(values(live)).toEqual(['after']);
  });

  it('applies every filter form: key, header, header sequence, NOT, AND within, OR across', async () => {
    const topic = uniqueTopic('cache-filters');
    await createTopic(kafka(), topic, 3);
    const harness = await gateway(kafka().bootstrap);
    const filters: Record<string, KafkaFilter[]> = {
      key: [{ conditions: [{ key: enc('AAPL') }] }],
      header: [{ conditions: [{ header: { name: 'tag', value: enc('nasdaq') } }] }],
      and: [{ conditions: [{ key: enc('AAPL') }, { header: { name: 'tag', value: enc('nyse') } }] }],
      not: [{ conditions: [{ not: { header: { name: 'tag', value: enc('nasdaq') } } }] }],
      or: [{ conditions: [{ key: enc('MSFT') }] }, { conditions: [{ key: enc('IBM') }] }],
      sequence: [
        {
          conditions: [
            {
              headers: {
                name: 'level',
                sequence: [{ value: enc('sensors') }, { skip: 'one' }, { value: enc('temp') }],
              },
            },
          ],
        },
      ],
      many: [
        {
          conditions: [
            { headers: { name: 'level', sequence: [{ value: enc('sensors') }, { skip: 'many' }] } },
          ],
        },
      ],
    };
    const peers = Object.fromEntries(
      Object.entries(filters).map(([name, f]) => [
        name,
        fetch(harness, topic, { start: 'live', filters: f }),
      ]),
    );
    for (const peer of Object.values(peers)) await waitCaughtUp(peer);
    const level = (...parts: string[]) => parts.map((value) => ({ name: 'level', value }));
    await produce(harness, topic, [
      { key: 'AAPL', value: '1', headers: [{ name: 'tag', value: 'nasdaq' }] },
      { key: 'AAPL', value: '2', headers: [{ name: 'tag', value: 'nyse' }] },
      { key: 'MSFT', value: '3', headers: [{ name: 'tag', value: 'nasdaq' }] },
      { key: 'IBM', value: '4', headers: [{ name: 'tag', value: 'nyse' }] },
      { key: 's1', value: '5', headers: level('sensors', 'one', 'temp') },
      { key: 's2', value: '6', headers: level('sensors', 'one', 'humidity') },
      { key: 's3', value: '7', headers: level('sensors') },
      { key: 's4', value: '8', headers: level('sensors', 'a', 'b', 'temp') },
    ]);
    const expected: Record<string, string[]> = {
      key: ['1', '2'],
      header: ['1', '3'],
      and: ['2'],
      not: ['2', '4', '5', '6', '7', '8'],
      or: ['3', '4'],
      sequence: ['5'],
      many: ['5', '6', '7', '8'],
    };
    for (const [name, want] of Object.entries(expected)) {
      await waitRecords(peers[name]!, want.length);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect([...values(peers[name]!)].sort(), name).toEqual(want);
    }
  });

  it('resumes from a token on a second gateway instance: no gap, no duplicate', async () => {
    const topic = uniqueTopic('cache-resume');
    await createTopic(kafka(), topic, 3);
    const first = await gateway(kafka().bootstrap);
    await produce(
      first,
      topic,
      Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
    );
    const reader = fetch(first, topic, { start: 'historical' });
    const seen = await waitRecords(reader, 30);
    const token = seen[11]!.ext.token;
    const rest = new Set(seen.slice(12).map((r) => dec(r.value)));

    const second = await gateway(kafka().bootstrap);
    const resumed = fetch(second, topic, { token });
    await waitCaughtUp(resumed);
    await produce(second, topic, [{ key: 'k-new', value: 'v-new' }]);
    await waitRecords(resumed, rest.size + 1);
    const got = values(resumed);
    expect(new Set(got).size).toBe(got.length);
    expect(new Set(got)).toEqual(new Set([...rest, 'v-new']));
  });

  it('fans one upstream fetch per topic out to 1 000 streams, each receiving exactly its own records', async () => {
    const topic = uniqueTopic('cache-fanout');
    await createTopic(kafka(), topic, 4);
    const harness = await gateway(kafka().bootstrap);
    const before = brokerConnections(kafka().bootstrap);
    const peers = Array.from({ length: 1000 }, (_, i) =>
      fetch(
        harness,
        topic,
        { start: 'live', filters: [{ conditions: [{ key: enc(`key-${i}`) }] }] },
        64 * 1024,
      ),
    );
    await eventually(() => peers.every((p) => caughtUp(p) !== undefined), 30_000);
    // The cache opened a single fetch stream towards the Kafka client for this topic.
    const cache = harness.gateway.binding('kafka_cache') as KafkaCacheBinding;
    expect(cache.stats()).toMatchObject([{ topic, subscribers: 1000, live: 1000, partitions: 4 }]);
    expect(harness.gateway.engine.openStreams('kafka_client')).toBe(1);
    await produce(
      harness,
      topic,
      Array.from({ length: 2000 }, (_, i) => ({ key: `key-${i % 1000}`, value: `${i}` })),
    );
    await eventually(() => peers.every((p) => records(p).length >= 2), 30_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    peers.forEach((peer, i) => expect(values(peer).sort()).toEqual([`${i}`, `${i + 1000}`].sort()));
    // …and the broker saw no more connections from the gateway than before the 1 000 streams.
    expect(brokerConnections(kafka().bootstrap)).toBeLessThanOrEqual(Math.max(before, 0) + 3);
  });

  it('a subscriber that grants no credit stops nobody, and memory stays within budget while 100 MiB pass', async () => {
    const topic = uniqueTopic('cache-slow');
    await createTopic(kafka(), topic, 2);
    const budget = 16 * 1024 * 1024;
    const harness = await gateway(kafka().bootstrap, {
      memory: { budgetBytes: budget, subscriberBacklogBytes: 256 * 1024 },
    });
    const stalled = fetch(harness, topic, { start: 'live' }, 0);
    const fast = fetch(harness, topic, { start: 'live' });
    await waitCaughtUp(fast);
    const cache = harness.gateway.binding('kafka_cache') as KafkaCacheBinding;
    global.gc?.();
    const baseline = process.memoryUsage();
    let peak = 0;
    const value = 'v'.repeat(100 * 1024);
    const total = 1024; // 1 024 × 100 KiB = 100 MiB
    let received = 0;
    // The fast reader forgets what it received, as a real client would: whole records only.
    const drain = () => {
      const lastWhole = fast.frames.findLastIndex((f) => f.frame === 'data' && f.data.last);
      if (lastWhole < 0) return received;
      received += records({ frames: fast.frames.slice(0, lastWhole + 1) } as ScriptedPeer).length;
      fast.frames.splice(0, lastWhole + 1);
      return received;
    };
    for (let batch = 0; batch < total / 64; batch++) {
      const { peer } = await produce(
        harness,
        topic,
        Array.from({ length: 64 }, (_, i) => ({ key: `k${batch}-${i}`, value })),
      );
      peer.end();
      await eventually(() => drain() >= (batch + 1) * 64, 20_000);
      expect(cache.memoryUsed).toBeLessThanOrEqual(budget);
      global.gc?.();
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - baseline.arrayBuffers);
    }
    expect(received).toBe(total);
    expect(records(stalled)).toHaveLength(0);
    const [stats] = cache.stats();
    expect(stats!.held).toBeLessThanOrEqual(256 * 1024);
    // Record bytes live in array buffers: their growth stays around the budget, not 100 MiB.
    expect(peak).toBeLessThan(budget + 48 * 1024 * 1024);
  });

  it('passes consumer-group streams through to the client', async () => {
    const topic = uniqueTopic('cache-group');
    await createTopic(kafka(), topic, 2);
    const harness = await gateway(kafka().bootstrap);
    const member = open(
      harness,
      { capability: 'group', topic, groupId: uniqueTopic('group'), start: 'historical' },
      { initialWindow: 1 << 20, autoWindow: true },
    );
    const assignment = await member.until(
      (f) => f.frame === 'flush' && (f.ext as { kind?: string } | undefined)?.kind === 'assignment',
      30_000,
    );
    expect(assignment).toMatchObject({ ext: { partitions: [0, 1] } });
    await produce(harness, topic, [
      { key: 'a', value: 'one' },
      { key: 'b', value: 'two' },
    ]);
    await waitRecords(member, 2);
    expect(values(member).sort()).toEqual(['one', 'two']);
  });

  it('a read that starts after a write was acknowledged through the cache includes that write', async () => {
    const topic = uniqueTopic('cache-ryw');
    await createTopic(kafka(), topic, 2, { 'cleanup.policy': 'compact' });
    const harness = await gateway(kafka().bootstrap);
    await waitCaughtUp(fetch(harness, topic));
    for (let i = 0; i < 10; i++) {
      const { answers } = await produce(harness, topic, [{ key: `k${i % 3}`, value: `v${i}` }]);
      expect(answers[0]?.kind).toBe('ack');
      // Started the moment the acknowledgement arrived: the cache's upstream may not have the record yet.
      const reader = fetch(harness, topic);
      await waitCaughtUp(reader);
      expect(values(reader)).toContain(`v${i}`);
      reader.handle.close({ code: 'TEST_DONE' });
    }
  });

  it('serves many historical subscribers of a delete-policy topic from one history, each record once', async () => {
    const topic = uniqueTopic('cache-history');
    await createTopic(kafka(), topic, 2);
    const harness = await gateway(kafka().bootstrap);
    await produce(
      harness,
      topic,
      Array.from({ length: 6 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
    );
    const subscribers = Array.from({ length: 200 }, () => fetch(harness, topic, { start: 'historical' }));
    await Promise.all(subscribers.map((s) => waitCaughtUp(s, 60_000)));
    await produce(harness, topic, [{ key: 'late', value: 'late' }]);
    await eventually(() => subscribers.every((s) => records(s).length >= 7));
    for (const subscriber of subscribers) {
      const seen = records(subscriber).map((r) => `${r.ext.partition}:${r.ext.offset}`);
      expect(seen).toHaveLength(7);
      expect(new Set(seen).size).toBe(7);
    }
  });

  it('holds readiness until bootstrap topics are hydrated', async () => {
    const topic = uniqueTopic('cache-bootstrap');
    await createTopic(kafka(), topic, 2, { 'cleanup.policy': 'compact' });
    const seed = await gateway(kafka().bootstrap);
    await produce(
      seed,
      topic,
      Array.from({ length: 500 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
    );
    const harness = await gateway(kafka().bootstrap, { bootstrap: [topic] });
    expect(harness.gateway.ready).toBe(true);
    const cache = harness.gateway.binding('kafka_cache') as KafkaCacheBinding;
    expect(cache.stats()).toMatchObject([{ topic, hydrated: true }]);
    expect(cache.memoryUsed).toBeGreaterThan(500 * 10);
  });
});

describe('kafka cache across a broker restart', () => {
  let broker: KafkaHandle | undefined;
  afterEach(async () => {
    await broker?.stop();
    broker = undefined;
  });

  it('keeps its subscribers and continues exactly where the upstream stopped', async () => {
    // A broker of its own: the shared one must stay up for the other tests.
    broker = await startKafka({ heap: '384m' });
    const topic = uniqueTopic('cache-restart');
    await createTopic(broker, topic, 2);
    const harness = await gateway(
      broker.bootstrap,
      { reconnectMs: 200 },
      { requestTimeoutMs: 2_000, retryDelayMs: 100, retryDelayMaxMs: 400 },
    );
    const subscriber = fetch(harness, topic, { start: 'historical' });
    await waitCaughtUp(subscriber);
    await produce(harness, topic, [
      { key: 'a', value: 'before-1' },
      { key: 'b', value: 'before-2' },
    ]);
    await waitRecords(subscriber, 2);

    await broker.pause();
    // Long enough for the client to give the upstream fetch up: the cache must fetch again.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    await broker.resume();

    const deadline = Date.now() + 60_000;
    let acked = false;
    while (!acked && Date.now() < deadline) {
      const { answers } = await produce(harness, topic, [{ key: 'c', value: 'after-1' }]);
      acked = answers[0]!.kind === 'ack';
      if (!acked) await new Promise((resolve) => setTimeout(resolve, 300));
    }
    expect(acked).toBe(true);
    // What Kafka holds (a read_committed fetch bypasses the cache), which may include a record
    // whose acknowledgement was lost with the broker: the subscriber must have exactly that.
    const truth = fetch(harness, topic, { start: 'historical', isolation: 'read_committed' });
    await waitCaughtUp(truth, 20_000);
    const expected = values(truth).sort();
    expect(expected).toEqual(expect.arrayContaining(['before-1', 'before-2', 'after-1']));
    await waitRecords(subscriber, expected.length, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(values(subscriber).sort()).toEqual(expected);
    expect(subscriber.has('abort') || subscriber.has('reset')).toBe(false);
  });
});

describe.runIf(hasKafkaCompat())('kafka cache against Kafka 3.9', () => {
  it('serves a compacted snapshot and resumes from a token', async () => {
    const compat = kafkaCompat();
    const topic = uniqueTopic('cache-compat');
    await createTopic(compat, topic, 2, { 'cleanup.policy': 'compact' });
    const harness = await gateway(compat.bootstrap);
    await produce(harness, topic, [
      { key: 'a', value: '1' },
      { key: 'a', value: '2' },
      { key: 'b', value: '3' },
    ]);
    const reader = fetch(harness, topic);
    await waitCaughtUp(reader);
    expect(values(reader).sort()).toEqual(['2', '3']);
    const token = records(reader).at(-1)!.ext.token;
    await produce(harness, topic, [{ key: 'c', value: '4' }]);
    const resumed = fetch(harness, topic, { token });
    await waitRecords(resumed, 1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(values(resumed)).toEqual(['4']);
  });
});

/** TCP connections this process holds to the broker's plaintext port. */
function brokerConnections(bootstrap: string): number {
  const port = Number(bootstrap.split(':').at(-1));
  const inodes = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const link = readlinkSync(`/proc/self/fd/${fd}`);
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m) inodes.add(m[1]!);
    } catch {
      // fd closed meanwhile
    }
  }
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let count = 0;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 10) continue;
    const remote = cols[2]!;
    const state = cols[3];
    if (remote.endsWith(`:${hexPort}`) && state === '01' && inodes.has(cols[9]!)) count++;
  }
  return count;
}
