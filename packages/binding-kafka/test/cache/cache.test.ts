// The cache against a scripted upstream: the `test` client at the cache's exit plays the Kafka
// client binding (describe, then one fetch per topic), so these tests pin down the cache's own
// behaviour — fan-out, compaction, credit, backlog, tokens, eviction — frame by frame. The same
// behaviours run against a real broker in cache.it.test.ts.
import { afterEach, describe, expect, it } from 'vitest';
import { definePlugin, MessageAssembler, type DataFrame } from '@tributary/kernel';
import { createTestKernel, type ScriptedPeer, type TestHarness } from '@tributary/kernel/testkit';
import type { KafkaCaughtUpEx, KafkaFetchBeginEx, KafkaFilter, KafkaRecordDataEx } from '../../src/index.ts';
import { KafkaCacheBinding } from '../../src/cache/binding.ts';
import { cacheOptionsSchema, type KafkaCacheOptions } from '../../src/cache/schema.ts';
import { decodeToken, encodeToken } from '../../src/stream/token.ts';

const plugin = definePlugin({
  name: '@tributary/binding-kafka',
  spi: '^1.0.0',
  bindings: {
    kafka: {
      kinds: ['cache'],
      schema: { options: cacheOptionsSchema },
      create: (ctx) => new KafkaCacheBinding(ctx as never),
    },
  },
});

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString();
const bytes = (value: string) => new TextEncoder().encode(value);
const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

function config(options: KafkaCacheOptions = {}) {
  return {
    name: 'cache',
    bindings: {
      app: { type: 'test', kind: 'server', exit: 'cache' },
      cache: { type: 'kafka', kind: 'cache', exit: 'upstream', options },
      upstream: { type: 'test', kind: 'client', options: { mode: 'script' } },
    },
  };
}

/** Plays the Kafka client for one topic. */
class Upstream {
  fetch!: ScriptedPeer;
  private offsets = new Map<number, bigint>();
  private readonly harness: TestHarness;
  constructor(harness: TestHarness) {
    this.harness = harness;
  }

  async describe(policy: 'compact' | 'delete'): Promise<void> {
    const describe = await this.harness.client('upstream').accepted();
    describe.handle.out.begin({
      type: 'kafka',
      kind: 'describe',
      topic: 't',
      configs: { 'cleanup.policy': policy },
    } as never);
    this.fetch = await this.harness.client('upstream').accepted();
  }

  record(
    partition: number,
    key: string | null,
    value: string | null,
    headers: Record<string, string> = {},
  ): void {
    const offset = this.offsets.get(partition) ?? 0n;
    this.offsets.set(partition, offset + 1n);
    const ext: KafkaRecordDataEx = {
      type: 'kafka',
      kind: 'record',
      topic: 't',
      partition,
      offset,
      timestamp: Date.now(),
      key: key === null ? null : bytes(key),
      headers: Object.entries(headers).map(([name, v]) => ({ name, value: bytes(v) })),
      tombstone: value === null,
      token: encodeToken({ offsets: new Map(this.offsets) }),
    };
    this.fetch.send(value === null ? new Uint8Array(0) : bytes(value), ext);
  }

  caughtUp(partitions = [0]): void {
    for (const p of partitions) if (!this.offsets.has(p)) this.offsets.set(p, 0n);
    const ext: KafkaCaughtUpEx = {
      type: 'kafka',
      kind: 'caught-up',
      token: encodeToken({ offsets: this.offsets }),
    };
    this.fetch.handle.out.flush(ext);
  }
}

function subscribe(
  harness: TestHarness,
  begin: Partial<KafkaFetchBeginEx> = {},
  window = 1 << 20,
): ScriptedPeer {
  return harness.server('app').open(
    {},
    {
      begin: { type: 'kafka', capability: 'fetch', topic: 't', ...begin },
      ...(window > 0 ? { initialWindow: window } : {}),
      autoWindow: window > 0,
    },
  );
}

/** The whole records a peer received (credit may have split them into fragments). */
const records = (peer: ScriptedPeer) => {
  const assembler = new MessageAssembler<KafkaRecordDataEx>();
  return peer.dataFrames().flatMap((f) => {
    const message = assembler.push(f as DataFrame<KafkaRecordDataEx>);
    if (!message?.ext) return [];
    const ext = message.ext;
    return [
      {
        key: ext.key === null ? null : text(ext.key),
        value: ext.tombstone ? null : text(message.payload),
        offset: ext.offset,
        partition: ext.partition,
        token: ext.token,
      },
    ];
  });
};

const caughtUp = (peer: ScriptedPeer) =>
  peer.frames.some(
    (f) => f.frame === 'flush' && (f.ext as KafkaCaughtUpEx | undefined)?.kind === 'caught-up',
  );

let harness: TestHarness | undefined;
afterEach(async () => {
  await harness?.stop(200);
  harness = undefined;
});

describe('kafka cache', () => {
  it('opens one describe and one fetch upstream per topic, however many subscribers', async () => {
    harness = await createTestKernel({ config: config(), plugins: [plugin] });
    const subscribers = Array.from({ length: 50 }, () => subscribe(harness!));
    const upstream = new Upstream(harness);
    await upstream.describe('delete');
    upstream.caughtUp();
    await tick();
    expect(
      harness.client('upstream').begins.map((b) => (b as KafkaFetchBeginEx | undefined)?.capability),
    ).toEqual(['describe', 'fetch']);
    upstream.record(0, 'a', 'one');
    await tick();
    for (const s of subscribers) expect(records(s).map((r) => r.value)).toEqual(['one']);
  });

  it('serves key-filtered snapshots of a compacted topic through the key index, same records as a walk', async () => {
    harness = await createTestKernel({ config: config(), plugins: [plugin] });
    const upstream = new Upstream(harness);
    subscribe(harness);
    await upstream.describe('compact');
    for (let round = 0; round < 3; round++)
      for (let k = 0; k < 200; k++)
        upstream.record(k % 2, `k${k}`, `v${k}.${round}`, { tag: k % 3 === 0 ? 'x' : 'y' });
    upstream.record(1, 'k7', null);
    upstream.caughtUp([0, 1]);
    await tick();
    const key = (k: string): KafkaFilter => ({ conditions: [{ key: bytes(k) }] });
    const one = subscribe(harness, { filters: [key('k42')] });
    const two = subscribe(harness, { filters: [key('k3'), key('k8')] });
    const deleted = subscribe(harness, { filters: [key('k7')] });
    const deletedAsked = subscribe(harness, { filters: [key('k7')], tombstones: true });
    const and = subscribe(harness, {
      filters: [{ conditions: [{ key: bytes('k9') }, { header: { name: 'tag', value: bytes('y') } }] }],
    });
    // A filter without a key condition: the subscriber walks the log as before.
    const walk = subscribe(harness, {
      filters: [
        key('k3'),
        { conditions: [{ key: bytes('k8') }] },
        { conditions: [{ not: { key: bytes('k0') } }] },
      ],
    });
    await tick();
    expect(records(one).map((r) => [r.key, r.value])).toEqual([['k42', 'v42.2']]);
    // Partitions interleave in no fixed order; within one, offsets ascend.
    expect(
      records(two)
        .map((r) => [r.key, r.value])
        .sort(),
    ).toEqual([
      ['k3', 'v3.2'],
      ['k8', 'v8.2'],
    ]);
    expect(records(deleted)).toEqual([]);
    expect(records(deletedAsked).map((r) => [r.key, r.value])).toEqual([['k7', null]]);
    expect(records(and)).toEqual([]);
    // Every key but k0 (no filter matches it) and k7 (deleted).
    expect(records(walk)).toHaveLength(198);
    for (const peer of [one, two, deleted, deletedAsked, and, walk]) expect(caughtUp(peer)).toBe(true);
    // Resuming from the snapshot's token: nothing again; then live records of the key only.
    const resumed = subscribe(harness, { filters: [key('k42')], token: records(one)[0]!.token });
    await tick();
    expect(records(resumed)).toEqual([]);
    upstream.record(0, 'k42', 'v42.3');
    upstream.record(0, 'k40', 'v40.3');
    await tick();
    expect(records(resumed).map((r) => r.value)).toEqual(['v42.3']);
    expect(records(one).map((r) => r.value)).toEqual(['v42.2', 'v42.3']);
  });

  it('gives a late subscriber of a compacted topic the latest value per key, then live records', async () => {
    harness = await createTestKernel({ config: config(), plugins: [plugin] });
    const early = subscribe(harness);
    const upstream = new Upstream(harness);
    await upstream.describe('compact');
    upstream.record(0, 'k1', 'v1');
    upstream.record(0, 'k2', 'v2');
    upstream.record(0, 'k1', 'v3');
    upstream.record(0, 'k2', null);
    upstream.record(0, 'k4', 'v4');
    upstream.caughtUp();
    await tick();
    // The early subscriber was waiting for hydration: it sees the snapshot too.
    expect(records(early).map((r) => [r.key, r.value])).toEqual([
      ['k1', 'v3'],
      ['k4', 'v4'],
    ]);
    const late = subscribe(harness);
    await tick();
    expect(records(late).map((r) => [r.key, r.value])).toEqual([
      ['k1', 'v3'],
      ['k4', 'v4'],
    ]);
    expect(caughtUp(late)).toBe(true);
    upstream.record(0, 'k4', null);
    upstream.record(0, 'k5', 'v5');
    await tick();
    // Live tombstones are delivered.
    expect(
      records(late)
        .slice(2)
        .map((r) => [r.key, r.value]),
    ).toEqual([
      ['k4', null],
      ['k5', 'v5'],
    ]);
    const withTombstones = subscribe(harness, { tombstones: true });
    await tick();
    // Asked for, the snapshot's tombstones come too (superseded records never do).
    expect(records(withTombstones).map((r) => [r.key, r.value])).toEqual([
      ['k1', 'v3'],
      ['k2', null],
      ['k4', null],
      ['k5', 'v5'],
    ]);
  });

  it('starts live or historical on a delete-policy topic', async () => {
    harness = await createTestKernel({ config: config(), plugins: [plugin] });
    subscribe(harness);
    const upstream = new Upstream(harness);
    await upstream.describe('delete');
    expect((harness.client('upstream').begins[1] as KafkaFetchBeginEx).start).toBe('live');
    upstream.record(0, 'a', 'before');
    upstream.caughtUp();
    await tick();
    const live = subscribe(harness, { start: 'live' });
    const historical = subscribe(harness, { start: 'historical' });
    await tick();
    upstream.record(0, 'a', 'after');
    await tick();
    expect(records(live).map((r) => r.value)).toEqual(['after']);
    expect(records(historical).map((r) => r.value)).toEqual(['before', 'after']);
  });

  it('fans out by key and header filters: each subscriber gets exactly its records', async () => {
    harness = await createTestKernel({ config: config(), plugins: [plugin] });
    const upstream = new Upstream(harness);
    const byKey = Array.from({ length: 200 }, (_, i) =>
      subscribe(harness!, { start: 'live', filters: [{ conditions: [{ key: bytes(`k${i}`) }] }] }),
    );
    const byHeader = subscribe(harness, {
      start: 'live',
      filters: [{ conditions: [{ header: { name: 'tag', value: bytes('nasdaq') } }] }],
    });
    const keyAndNotHeader = subscribe(harness, {
      start: 'live',
      filters: [
        { conditions: [{ key: bytes('k7') }, { not: { header: { name: 'tag', value: bytes('nasdaq') } } }] },
        { conditions: [{ key: bytes('k8') }] },
      ] satisfies KafkaFilter[],
    });
    await upstream.describe('delete');
    upstream.caughtUp([0, 1]);
    await tick();
    for (let i = 0; i < 200; i++)
      upstream.record(i % 2, `k${i}`, `v${i}`, i % 3 === 0 ? { tag: 'nasdaq' } : {});
    await tick();
    byKey.forEach((s, i) => expect(records(s).map((r) => r.value)).toEqual([`v${i}`]));
    expect(records(byHeader)).toHaveLength(67);
    expect(records(keyAndNotHeader).map((r) => r.value)).toEqual(['v7', 'v8']);
  });

  it('a subscriber without credit holds back only itself, with bounded memory, and loses nothing', async () => {
    harness = await createTestKernel({
      config: config({ memory: { subscriberBacklogBytes: 4096 } }),
      plugins: [plugin],
    });
    const upstream = new Upstream(harness);
    const stalled = subscribe(harness, { start: 'live' }, 0);
    const fast = subscribe(harness, { start: 'live' });
    await upstream.describe('delete');
    upstream.caughtUp();
    await tick();
    for (let i = 0; i < 500; i++) upstream.record(0, `k${i}`, `value-${i}-${'x'.repeat(100)}`);
    await tick();
    expect(records(fast)).toHaveLength(500);
    expect(records(stalled)).toHaveLength(0);
    // It holds back no more than its backlog bound: beyond it, it replays from the log later.
    const [stats] = (harness.gateway.binding('cache') as KafkaCacheBinding).stats();
    expect(stats!.held).toBeLessThanOrEqual(4096);
    expect(stats!.live).toBe(1);
    // Now the stalled client reads, a little at a time: everything arrives, in order, once.
    for (let i = 0; i < 2000 && records(stalled).length < 500; i++) {
      stalled.window(512);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const got = records(stalled);
    expect(got.map((r) => r.offset)).toEqual(Array.from({ length: 500 }, (_, i) => BigInt(i)));
  });

  it('resumes from a token exactly after the record it came with', async () => {
    harness = await createTestKernel({ config: config(), plugins: [plugin] });
    const upstream = new Upstream(harness);
    const first = subscribe(harness, { start: 'historical' });
    await upstream.describe('delete');
    for (let i = 0; i < 10; i++) upstream.record(i % 3, `k${i}`, `v${i}`);
    upstream.caughtUp([0, 1, 2]);
    await tick();
    const seen = first.dataFrames().map((f) => f.ext as KafkaRecordDataEx);
    expect(seen).toHaveLength(10);
    const token = seen[4]!.token;
    const resumed = subscribe(harness, { token });
    await tick();
    const expected = new Set(seen.slice(5).map((r) => `${r.partition}:${r.offset}`));
    const got = resumed.dataFrames().map((f) => f.ext as KafkaRecordDataEx);
    // Merged partitions may interleave differently; the set is exactly the rest: no gap, no duplicate.
    expect(got.map((r) => `${r.partition}:${r.offset}`).sort()).toEqual([...expected].sort());
  });

  it('rejects a garbage token with invalid-token and keeps serving others', async () => {
    harness = await createTestKernel({ config: config(), plugins: [plugin] });
    const upstream = new Upstream(harness);
    const bad = subscribe(harness, { token: 'not-a-token!!' });
    const good = subscribe(harness, { start: 'live' });
    await upstream.describe('delete');
    upstream.caughtUp();
    await tick();
    const reset = await bad.until((f) => f.frame === 'abort' || f.frame === 'reset');
    expect(reset).toMatchObject({ reason: { code: 'TRIB_KAFKA_INVALID_TOKEN' } });
    upstream.record(0, 'a', 'still here');
    await tick();
    expect(records(good).map((r) => r.value)).toEqual(['still here']);
  });

  it('signs tokens when a key is configured and refuses forged ones', async () => {
    harness = await createTestKernel({
      config: config({ token: { key: 'a-test-signing-key-of-at-least-32-chars' } }),
      plugins: [plugin],
    });
    const upstream = new Upstream(harness);
    const first = subscribe(harness, { start: 'historical' });
    await upstream.describe('delete');
    upstream.record(0, 'a', 'one');
    upstream.record(0, 'a', 'two');
    upstream.caughtUp();
    await tick();
    const token = (first.dataFrames()[0]!.ext as KafkaRecordDataEx).token;
    expect(decodeToken(token).ok).toBe(false);
    const forged = subscribe(harness, { token: encodeToken({ offsets: new Map([[0, 0n]]) }) });
    expect(await forged.until((f) => f.frame === 'abort' || f.frame === 'reset')).toMatchObject({
      reason: { code: 'TRIB_KAFKA_INVALID_TOKEN' },
    });
    const resumed = subscribe(harness, { token });
    await tick();
    expect(records(resumed).map((r) => r.value)).toEqual(['two']);
  });

  it('stays within its memory budget by evicting, and refetches what a subscriber still needs', async () => {
    harness = await createTestKernel({
      config: config({ memory: { budgetBytes: 1 << 20 } }),
      plugins: [plugin],
    });
    const upstream = new Upstream(harness);
    const watcher = subscribe(harness, { start: 'live' });
    await upstream.describe('delete');
    upstream.caughtUp();
    await tick();
    const value = 'x'.repeat(10_000);
    for (let i = 0; i < 300; i++) upstream.record(0, `k${i}`, `${i}:${value}`);
    await tick();
    const cache = harness.gateway.binding('cache') as KafkaCacheBinding;
    expect(cache.memoryUsed).toBeLessThanOrEqual(1 << 20);
    expect(records(watcher)).toHaveLength(300);
    // A subscriber resuming from offset 0 needs records the cache evicted: it gets them from Kafka.
    const behind = subscribe(harness, { token: encodeToken({ offsets: new Map([[0, 0n]]) }) });
    const refetch = await harness.client('upstream').accepted();
    const begin = harness.client('upstream').begins.at(-1) as KafkaFetchBeginEx;
    expect(begin.partitions).toEqual([{ partition: 0, offset: 0n }]);
    const low = Number(begin.partitions![0]!.offset);
    for (let i = low; i < 300; i++) {
      refetch.send(bytes(`${i}:${value}`), {
        type: 'kafka',
        kind: 'record',
        topic: 't',
        partition: 0,
        offset: BigInt(i),
        timestamp: Date.now(),
        key: bytes(`k${i}`),
        headers: [],
        tombstone: false,
        token: '',
      } satisfies KafkaRecordDataEx as never);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await tick();
    const got = records(behind);
    expect(got.map((r) => r.offset)).toEqual(Array.from({ length: 300 }, (_, i) => BigInt(i)));
  });

  it('fails waiting subscribers with the upstream error when the topic cannot be hydrated', async () => {
    harness = await createTestKernel({ config: config({ reconnectMs: 10_000 }), plugins: [plugin] });
    const waiting = subscribe(harness);
    const describe = await harness.client('upstream').accepted();
    describe.handle.close({ code: 'TRIB_KAFKA_UNAVAILABLE', message: 'broker down' });
    expect(await waiting.until((f) => f.frame === 'abort' || f.frame === 'reset')).toMatchObject({
      reason: { code: 'TRIB_KAFKA_UNAVAILABLE' },
    });
  });
});

describe('kafka cache pass-through', () => {
  it('relays read_committed fetches to the client, passing on exactly the credit the reader grants', async () => {
    harness = await createTestKernel({ config: config(), plugins: [plugin] });
    const reader = subscribe(harness, { isolation: 'read_committed' }, 0);
    const upstream = await harness.client('upstream').accepted();
    expect(harness.client('upstream').begins[0]).toMatchObject({
      capability: 'fetch',
      isolation: 'read_committed',
    });
    upstream.handle.out.begin({ type: 'kafka' });
    const ext: KafkaRecordDataEx = {
      type: 'kafka',
      kind: 'record',
      topic: 't',
      partition: 0,
      offset: 0n,
      timestamp: 0,
      key: null,
      headers: [],
      tombstone: false,
      token: 'x',
    };
    reader.window(300);
    upstream.send(new Uint8Array(1000).fill(7), ext);
    await tick();
    expect(reader.received().byteLength).toBe(300);
    expect(upstream.handle.out.queued).toBe(700);
    reader.window(700);
    await tick();
    // The record arrives whole, in fragments that kept their place in it.
    expect(records(reader)).toMatchObject([{ offset: 0n }]);
    expect(reader.received().byteLength).toBe(1000);
  });
});
