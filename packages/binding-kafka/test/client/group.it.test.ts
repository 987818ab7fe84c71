// Group streams against a real broker: assignments, records of the assigned partitions,
// commits, rebalancing between members, and resuming from the committed offsets.
import { afterEach, describe, expect, it } from 'vitest';
import type { ScriptedPeer, TestHarness } from '@tributary/kernel/testkit';
import { kafka, uniqueTopic } from '../../../../tools/it/context.ts';
import type {
  KafkaAssignmentEx,
  KafkaCommitAckEx,
  KafkaCommitEx,
  KafkaGroupBeginEx,
} from '../../src/index.ts';
import {
  close,
  createTopic,
  dec,
  eventually,
  open,
  produce,
  records,
  sleep,
  startGateway,
  waitRecords,
  type Delivered,
} from './helpers.ts';

const WIDE = { initialWindow: 1 << 20, autoWindow: true };

function member(
  harness: TestHarness,
  topic: string,
  groupId: string,
  start?: KafkaGroupBeginEx['start'],
): ScriptedPeer {
  const begin: KafkaGroupBeginEx = {
    type: 'kafka',
    capability: 'group',
    topic,
    groupId,
    ...(start === undefined ? {} : { start }),
  };
  return open(harness, begin, WIDE);
}

function assignments(peer: ScriptedPeer): number[][] {
  return peer.frames.flatMap((f) =>
    f.frame === 'flush' && (f.ext as KafkaAssignmentEx | undefined)?.kind === 'assignment'
      ? [[...(f.ext as KafkaAssignmentEx).partitions]]
      : [],
  );
}

const latest = (peer: ScriptedPeer): number[] | undefined => assignments(peer).at(-1);

function acks(peer: ScriptedPeer): KafkaCommitAckEx[] {
  return peer.frames.flatMap((f) =>
    f.frame === 'flush' && (f.ext as KafkaCommitAckEx | undefined)?.kind === 'commit-ack'
      ? [f.ext as KafkaCommitAckEx]
      : [],
  );
}

/** Commits the position after every record delivered so far and waits for the answer. */
async function commitDelivered(
  peer: ScriptedPeer,
  delivered: readonly Delivered[],
): Promise<KafkaCommitAckEx> {
  const next = new Map<number, bigint>();
  for (const { ext } of delivered) {
    const at = next.get(ext.partition) ?? 0n;
    if (ext.offset + 1n > at) next.set(ext.partition, ext.offset + 1n);
  }
  const before = acks(peer).length;
  const commit: KafkaCommitEx = {
    type: 'kafka',
    kind: 'commit',
    offsets: [...next].map(([partition, offset]) => ({ partition, offset })),
  };
  peer.handle.out.flush(commit);
  await eventually(() => acks(peer).length > before, 15_000);
  return acks(peer)[before]!;
}

const values = (delivered: readonly Delivered[]) => delivered.map((r) => dec(r.value)).sort();
const batch = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => ({
    partition: i % 4,
    key: `${prefix}${i}`,
    value: `${prefix}${i}`,
  }));

describe('group', () => {
  let harness: TestHarness | undefined;
  afterEach(async () => {
    await harness?.stop();
    harness = undefined;
  });

  it('assigns every partition to a lone member, delivers every record, and commits', async () => {
    const k = kafka();
    const topic = uniqueTopic('group-one');
    await createTopic(k, topic, 4);
    harness = await startGateway({ servers: [k.bootstrap] });
    const peer = member(harness, topic, `${topic}-g`, 'historical');
    await eventually(() => latest(peer)?.length === 4, 20_000);
    expect(latest(peer)).toEqual([0, 1, 2, 3]);
    const produced = await produce(harness, topic, batch('a', 8));
    const delivered = await waitRecords(peer, 8);
    expect(values(delivered)).toEqual(
      batch('a', 8)
        .map((r) => r.value)
        .sort(),
    );
    expect(new Set(delivered.map((r) => r.ext.partition))).toEqual(new Set([0, 1, 2, 3]));
    const ack = await commitDelivered(peer, delivered);
    expect(ack).toEqual({ type: 'kafka', kind: 'commit-ack', ok: true });
    await close(produced.peer);
    await close(peer);
  });

  it('splits the partitions between two members, each record reaching exactly one', async () => {
    const k = kafka();
    const topic = uniqueTopic('group-two');
    await createTopic(k, topic, 4);
    harness = await startGateway({ servers: [k.bootstrap] });
    const groupId = `${topic}-g`;
    const first = member(harness, topic, groupId, 'historical');
    await eventually(() => latest(first)?.length === 4, 20_000);
    const second = member(harness, topic, groupId, 'historical');
    await eventually(() => {
      const a = latest(first) ?? [];
      const b = latest(second) ?? [];
      return a.length > 0 && b.length > 0 && new Set([...a, ...b]).size === 4 && a.length + b.length === 4;
    }, 30_000);
    expect([...latest(first)!, ...latest(second)!].sort()).toEqual([0, 1, 2, 3]);
    // Let both start reading their partitions.
    await sleep(500);
    const produced = await produce(harness, topic, batch('b', 16));
    await eventually(() => records(first).length + records(second).length >= 16, 20_000);
    await sleep(500);
    const all = [...records(first), ...records(second)];
    expect(values(all)).toEqual(
      batch('b', 16)
        .map((r) => r.value)
        .sort(),
    );
    for (const r of records(first)) expect(latest(first)).toContain(r.ext.partition);
    for (const r of records(second)) expect(latest(second)).toContain(r.ext.partition);
    await close(produced.peer);
    await close(first);
    await close(second);
  });

  it('resumes a new member from the committed offsets after the first one leaves', async () => {
    const k = kafka();
    const topic = uniqueTopic('group-resume');
    await createTopic(k, topic, 4);
    harness = await startGateway({ servers: [k.bootstrap] });
    const groupId = `${topic}-g`;
    const first = member(harness, topic, groupId, 'historical');
    await eventually(() => latest(first)?.length === 4, 20_000);
    const before = await produce(harness, topic, batch('c', 8));
    const delivered = await waitRecords(first, 8);
    expect((await commitDelivered(first, delivered)).ok).toBe(true);
    await close(before.peer);
    const after = await produce(harness, topic, batch('d', 8));
    await waitRecords(first, 16);
    await close(first);
    await close(after.peer);

    const next = member(harness, topic, groupId, 'historical');
    await eventually(() => latest(next)?.length === 4, 20_000);
    await waitRecords(next, 8);
    await sleep(1_000);
    expect(values(records(next))).toEqual(
      batch('d', 8)
        .map((r) => r.value)
        .sort(),
    );
    await close(next);
  });
});
