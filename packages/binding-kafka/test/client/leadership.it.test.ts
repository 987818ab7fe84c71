// Partition leadership moving under a gateway that produces and fetches all the while, on a real
// three-node cluster: the broker leading a partition is stopped (a controlled shutdown moves its
// leaderships to the other replicas), brought back, then the broker that took over is stopped
// too. Every acknowledged record is in Kafka exactly once (read back with kcat), the fetch stream
// sees every record of every partition in offset order with no gap and no duplicate, and records
// are acknowledged after each move.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScriptedPeer, TestHarness } from '@tributary/kernel/testkit';
import { startKafkaCluster, type KafkaClusterHandle } from '../../../../tools/kafka/cluster.ts';
import { kcat } from '../../../../tools/kafka/clients.ts';
import { uniqueTopic } from '../../../../tools/it/context.ts';
import type { KafkaAckEx } from '../../src/index.ts';
import {
  answers,
  close,
  createTopic,
  dec,
  eventually,
  open,
  records,
  send,
  sleep,
  startGateway,
  waitCaughtUp,
  withAdmin,
} from './helpers.ts';

const PARTITIONS = 3;
const WIDE = { initialWindow: 1 << 20, autoWindow: true };

interface Sent {
  readonly value: string;
  readonly partition: number;
  /** Leader moves completed before the record was sent. */
  readonly afterMoves: number;
}

/** Keeps producing small batches on `peer` until stopped; every record is remembered. */
class Producer {
  readonly sent: Sent[] = [];
  moves = 0;
  private stopped = false;
  private done: Promise<void> | undefined;
  private readonly peer: ScriptedPeer;

  constructor(peer: ScriptedPeer) {
    this.peer = peer;
  }

  start(): void {
    this.done = (async () => {
      while (!this.stopped) {
        const batch = this.sent.length;
        for (let i = 0; i < PARTITIONS * 2; i++) {
          const n = this.sent.length;
          const record: Sent = { value: `r${n}`, partition: n % PARTITIONS, afterMoves: this.moves };
          this.sent.push(record);
          send(this.peer, { value: record.value, partition: record.partition, correlation: record.value });
        }
        // One batch at a time: the next is sent once this one is answered.
        await eventually(() => answers(this.peer).length >= this.sent.length, 60_000, 10);
        if (
          answers(this.peer)
            .slice(batch)
            .some((a) => a.kind === 'nack')
        )
          await sleep(100);
        else await sleep(20);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  /** Acknowledged records sent after `moves` leader moves. */
  ackedAfter(moves: number): number {
    const all = answers(this.peer);
    return this.sent.filter((s, i) => s.afterMoves >= moves && all[i]?.kind === 'ack').length;
  }
}

describe('leadership moving', () => {
  let cluster: KafkaClusterHandle;
  let harness: TestHarness | undefined;
  beforeAll(async () => {
    cluster = await startKafkaCluster({ brokers: 3 });
  });
  afterAll(async () => {
    await harness?.stop();
    await cluster?.stop();
  });

  /** The leader of each partition, as the cluster reports it. */
  async function leaders(topic: string): Promise<number[]> {
    const running = cluster.brokers.filter((b) => b.running);
    return withAdmin({ bootstrap: running.map((b) => b.address).join(',') }, async (admin) => {
      const metadata = await admin.metadata({ topics: [topic], forceUpdate: true });
      const info = metadata.topics.get(topic)!;
      return Array.from({ length: PARTITIONS }, (_, p) => info.partitions[p]?.leader ?? -1);
    });
  }

  /** Stops the leader of partition 0 and waits until every partition has a live leader again. */
  async function moveLeaderOfPartition0(topic: string): Promise<number> {
    const before = await leaders(topic);
    const leader = cluster.broker(before[0]!);
    await leader.pause();
    await eventually(
      async () => {
        const now = await leaders(topic).catch(() => [] as number[]);
        return now.length === PARTITIONS && now.every((l) => l > 0 && l !== leader.id);
      },
      60_000,
      200,
    );
    return leader.id;
  }

  it('acks every record exactly once and fetches each partition without gap or duplicate', async () => {
    const topic = uniqueTopic('leadership');
    await createTopic(cluster, topic, PARTITIONS, {}, 3);
    harness = await startGateway({
      servers: cluster.bootstrap.split(','),
      // Leadership moves take seconds: streams must ride them out, not give up.
      requestTimeoutMs: 30_000,
      retries: 5,
      retryDelayMs: 100,
      retryDelayMaxMs: 1_000,
      // Exactly once for acknowledged records: a retry after a lost response must not duplicate.
      produce: { acks: 'all', idempotent: true, timeoutMs: 20_000 },
      fetch: { maxWaitMs: 200 },
    });
    const fetch = open(harness, { capability: 'fetch', topic, start: 'historical' }, WIDE);
    await waitCaughtUp(fetch);
    const peer = open(harness, { capability: 'produce', topic });
    await peer.next('begin', 20_000);
    const producer = new Producer(peer);
    producer.start();
    await eventually(() => producer.ackedAfter(0) >= 30, 30_000);

    // First move: the leader of partition 0 stops; its partitions move to the other replicas.
    const first = await moveLeaderOfPartition0(topic);
    producer.moves = 1;
    await eventually(() => producer.ackedAfter(1) >= 30, 60_000);
    await cluster.broker(first).resume();
    // Second move: the broker that took partition 0 over stops in turn.
    const second = await moveLeaderOfPartition0(topic);
    expect(second).not.toBe(first);
    producer.moves = 2;
    await eventually(() => producer.ackedAfter(2) >= 30, 60_000);
    await cluster.broker(second).resume();
    await producer.stop();

    const all = answers(peer);
    expect(all).toHaveLength(producer.sent.length);
    const acked = new Map<string, Extract<KafkaAckEx, { kind: 'ack' }>>();
    all.forEach((answer, i) => {
      if (answer.kind === 'ack') acked.set(producer.sent[i]!.value, answer);
    });
    expect(acked.size).toBeGreaterThanOrEqual(90);
    await close(peer);

    // An independent reader (librdkafka) finds every acknowledged record once, where it was acked.
    const read = await kcat(
      ['-b', cluster.bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%p %o %s\\n'],
      undefined,
      90_000,
    );
    expect(read.code, read.stderr).toBe(0);
    const stored = read.stdout
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => {
        const [partition = '', offset = '', value = ''] = line.split(' ');
        return { partition: Number(partition), offset: BigInt(offset), value };
      });
    const count = new Map<string, number>();
    for (const record of stored) count.set(record.value, (count.get(record.value) ?? 0) + 1);
    for (const [value, ack] of acked) {
      expect(count.get(value), value).toBe(1);
      const found = stored.find((r) => r.value === value)!;
      expect([found.partition, found.offset], value).toEqual([ack.partition, ack.offset]);
    }

    // The fetch stream opened before the moves delivered every stored record, per partition in
    // offset order, with no gap and no duplicate.
    await eventually(() => records(fetch).length >= stored.length, 60_000);
    expect(fetch.has('abort')).toBe(false);
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const fetched = records(fetch)
        .filter((r) => r.ext.partition === partition)
        .map((r) => ({ offset: r.ext.offset, value: dec(r.value) }));
      const expected = stored
        .filter((r) => r.partition === partition)
        .map((r) => ({ offset: r.offset, value: r.value }));
      expect(fetched.map((r) => r.offset)).toEqual(fetched.map((_, i) => BigInt(i)));
      expect(fetched).toEqual(expected);
    }
    await close(fetch);
  });
});
