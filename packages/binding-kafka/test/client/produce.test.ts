// The produce stream over a scripted port: credit, order, timeouts, and never an ack that Kafka
// did not give. (The same stream against a real broker is in produce.it.test.ts.)
import { afterEach, describe, expect, it } from 'vitest';
import { definePlugin } from '@tributary/kernel';
import { createTestKernel, type TestHarness } from '@tributary/kernel/testkit';
import { KafkaClientBinding } from '../../src/client/binding.ts';
import type { KafkaFetcher, KafkaPort, ProduceOutcome, ProduceRecord } from '../../src/client/port.ts';
import type { KafkaClientOptions } from '../../src/config/options.ts';
import { kafkaBinding } from '../../src/plugin.ts';
import { answers, eventually, gatewayConfig, open, send, waitAnswers } from './helpers.ts';

interface Call {
  readonly records: readonly ProduceRecord[];
  resolve(outcomes: readonly ProduceOutcome[]): void;
}

/** A port whose produce requests wait until the test answers them. */
class ScriptedPort implements KafkaPort {
  readonly calls: Call[] = [];
  produce(_topic: string, records: readonly ProduceRecord[]): Promise<readonly ProduceOutcome[]> {
    return new Promise((resolve) => this.calls.push({ records, resolve }));
  }
  metadata(topic: string) {
    return Promise.resolve({
      ok: true as const,
      value: { topic, partitions: [0, 1, 2].map((partition) => ({ partition, leader: 1, leaderEpoch: 0 })) },
    });
  }
  describeConfigs() {
    return Promise.resolve({ ok: true as const, value: {} });
  }
  listOffsets() {
    return Promise.resolve({ ok: true as const, value: new Map<number, bigint>() });
  }
  fetcher(): KafkaFetcher {
    throw new Error('not used');
  }
  probe() {
    return Promise.resolve({ ok: true as const, value: undefined });
  }
  close() {
    return Promise.resolve();
  }
  /** Acks every record of call `i` at offsets from `base`. */
  ack(i: number, base = 0n): void {
    const call = this.calls[i]!;
    call.resolve(
      call.records.map((r, n) => ({ ok: true, partition: r.partition, offset: base + BigInt(n) })),
    );
  }
}

async function start(port: ScriptedPort, options: Partial<KafkaClientOptions> = {}): Promise<TestHarness> {
  const plugin = definePlugin({
    name: '@tributary/binding-kafka',
    spi: '^1.0.0',
    bindings: {
      kafka: { ...kafkaBinding, create: (ctx) => new KafkaClientBinding(ctx as never, () => port) },
    },
  });
  return createTestKernel({
    config: gatewayConfig({ servers: ['scripted:9092'], ...options }),
    plugins: [plugin],
    logLevel: 'silent',
  });
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('produce stream (scripted Kafka)', () => {
  let harness: TestHarness | undefined;
  afterEach(async () => {
    await harness?.stop(200);
    harness = undefined;
  });

  it('batches a tick, keeps one batch in flight, and returns credit only as records are answered', async () => {
    const port = new ScriptedPort();
    harness = await start(port, { produce: { windowBytes: 100 } });
    const peer = open(harness, { capability: 'produce', topic: 't' });
    await peer.next('window');
    for (let i = 0; i < 10; i++) send(peer, { value: `${i}`.repeat(30), correlation: `${i}` });
    await eventually(() => port.calls.length === 1);
    await tick();
    // What fits the window came through; the rest waits on the application side.
    const first = port.calls[0]!.records.length;
    expect(first).toBeGreaterThanOrEqual(3);
    expect(first).toBeLessThanOrEqual(4);
    expect(peer.handle.out.queued).toBeGreaterThan(0);
    expect(port.calls).toHaveLength(1);
    expect(answers(peer)).toEqual([]);

    port.ack(0);
    await eventually(() => port.calls.length === 2);
    expect(answers(peer).map((a) => a.correlation)).toEqual(Array.from({ length: first }, (_, i) => `${i}`));
    let acked = first;
    while (acked < 10) {
      const i = port.calls.length - 1;
      port.ack(i, BigInt(acked));
      acked += port.calls[i]!.records.length;
      if (acked < 10) await eventually(() => port.calls.length === i + 2);
    }
    const got = await waitAnswers(peer, 10);
    expect(got.map((a) => a.correlation)).toEqual(Array.from({ length: 10 }, (_, i) => `${i}`));
    expect(got.every((a) => a.kind === 'ack')).toBe(true);
  });

  it('nacks a record Kafka does not answer in time, and never acks it afterwards', async () => {
    const port = new ScriptedPort();
    harness = await start(port, { produce: { timeoutMs: 50 } });
    const peer = open(harness, { capability: 'produce', topic: 't' });
    await peer.next('window');
    send(peer, { value: 'slow', correlation: 'slow' });
    const [nack] = await waitAnswers(peer, 1, 2_000);
    expect(nack).toMatchObject({
      kind: 'nack',
      correlation: 'slow',
      error: { reason: 'timeout', code: 'TRIB_KAFKA_TIMEOUT' },
    });
    port.ack(0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(answers(peer)).toHaveLength(1);
    // The stream carries on with the next record.
    send(peer, { value: 'next', correlation: 'next' });
    await eventually(() => port.calls.length === 2);
    port.ack(1, 7n);
    expect((await waitAnswers(peer, 2))[1]).toMatchObject({ kind: 'ack', correlation: 'next', offset: 7n });
  });

  it('answers in record order, chooses partitions, and ends only after the last answer', async () => {
    const port = new ScriptedPort();
    harness = await start(port);
    const peer = open(harness, { capability: 'produce', topic: 't', acks: 'leader' });
    await peer.next('window');
    send(peer, { value: 'keyed', key: 'foobar', correlation: 'a' });
    send(peer, { value: 'bad', partition: 9, correlation: 'b' });
    send(peer, { value: 'explicit', partition: 1, correlation: 'c' });
    send(peer, { value: 'keyless', correlation: 'd' });
    send(peer, { value: 'keyless too', correlation: 'e' });
    peer.end();
    await eventually(() => port.calls.length === 1);
    const partitions = port.calls[0]!.records.map((r) => r.partition);
    // foobar → toPositive(murmur2) % 3; keyless records of one batch share a partition.
    expect(partitions[0]).toBe((-790332482 & 0x7fffffff) % 3);
    expect(partitions[1]).toBe(1);
    expect(partitions[2]).toBe(partitions[3]);
    await tick();
    expect(peer.has('end')).toBe(false);
    // The refused record waits for the one before it.
    expect(answers(peer)).toEqual([]);
    port.calls[0]!.resolve([
      { ok: true, partition: partitions[0]!, offset: 10n },
      {
        ok: false,
        error: {
          reason: 'unavailable',
          message: 'gone',
          retriable: true,
          staleMetadata: false,
          unsupportedVersion: false,
        },
      },
      { ok: true, partition: partitions[2]!, offset: 3n },
      { ok: true, partition: partitions[3]!, offset: 4n },
    ]);
    await peer.next('end');
    expect(answers(peer).map((a) => [a.correlation, a.kind === 'nack' ? a.error.reason : a.kind])).toEqual([
      ['a', 'ack'],
      ['b', 'invalid-record'],
      ['c', 'unavailable'],
      ['d', 'ack'],
      ['e', 'ack'],
    ]);
  });
});
