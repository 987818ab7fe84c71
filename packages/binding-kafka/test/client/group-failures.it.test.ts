// Group streams when things go wrong, against real brokers: a commit of partitions lost to a
// rebalance, a member removed from its group (a commit of its old generation is refused, the
// stream rejoins and announces a fresh assignment), and the group's coordinator going away and
// coming back (connection events from the group's own traffic, recovery, and `unavailable`
// once Kafka stays away past requestTimeoutMs).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { ScriptedPeer, TestHarness } from '@tributary/kernel/testkit';
import { startKafka, type KafkaHandle } from '../../../../tools/kafka/broker.ts';
import { kafka, uniqueTopic } from '../../../../tools/it/context.ts';
import type {
  KafkaAssignmentEx,
  KafkaCommitAckEx,
  KafkaCommitEx,
  KafkaGroupBeginEx,
} from '../../src/index.ts';
import type { KafkaClientOptions } from '../../src/config/options.ts';
import {
  close,
  createTopic,
  dec,
  eventually,
  failure,
  open,
  produce,
  records,
  send,
  startGateway,
  waitAnswers,
  waitRecords,
  withAdmin,
  type Delivered,
} from './helpers.ts';

const WIDE = { initialWindow: 1 << 20, autoWindow: true };
const PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url));

function member(harness: TestHarness, topic: string, groupId: string): ScriptedPeer {
  const begin: KafkaGroupBeginEx = {
    type: 'kafka',
    capability: 'group',
    topic,
    groupId,
    start: 'historical',
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

/** The position after the records delivered so far, per partition (optionally only `only`). */
function positions(delivered: readonly Delivered[], only?: readonly number[]): Map<number, bigint> {
  const next = new Map<number, bigint>();
  for (const { ext } of delivered) {
    if (only !== undefined && !only.includes(ext.partition)) continue;
    const at = next.get(ext.partition) ?? 0n;
    if (ext.offset + 1n > at) next.set(ext.partition, ext.offset + 1n);
  }
  return next;
}

/** Sends a commit on the opener's half (synchronously) and returns a wait for its answer. */
function commit(peer: ScriptedPeer, offsets: ReadonlyMap<number, bigint>): () => Promise<KafkaCommitAckEx> {
  const before = acks(peer).length;
  const ext: KafkaCommitEx = {
    type: 'kafka',
    kind: 'commit',
    offsets: [...offsets].map(([partition, offset]) => ({ partition, offset })),
  };
  peer.handle.out.flush(ext);
  return async () => {
    await eventually(() => acks(peer).length > before, 20_000);
    return acks(peer)[before]!;
  };
}

async function committedOffsets(
  bootstrap: string,
  groupId: string,
  topic: string,
): Promise<Map<number, bigint>> {
  return withAdmin({ bootstrap }, async (admin) => {
    const groups = await admin.listConsumerGroupOffsets({ groups: [groupId] });
    const found = new Map<number, bigint>();
    for (const group of groups)
      for (const t of group.topics)
        if (t.name === topic)
          for (const p of t.partitions)
            if (p.committedOffset >= 0n) found.set(p.partitionIndex, p.committedOffset);
    return found;
  });
}

const batch = (prefix: string, count: number, partitions: number) =>
  Array.from({ length: count }, (_, i) => ({ partition: i % partitions, value: `${prefix}${i}` }));

describe('group failures', () => {
  const harnesses: TestHarness[] = [];
  let broker: KafkaHandle | undefined;
  afterEach(async () => {
    await Promise.all(harnesses.splice(0).map((h) => h.stop()));
    await broker?.stop();
    broker = undefined;
  });
  const gateway = async (options: KafkaClientOptions) => {
    const h = await startGateway(options);
    harnesses.push(h);
    return h;
  };

  it('refuses a commit of partitions lost to a rebalance and carries on with the new assignment', async () => {
    const k = kafka();
    const topic = uniqueTopic('group-lost-commit');
    const groupId = `${topic}-g`;
    await createTopic(k, topic, 4);
    const harness = await gateway({ servers: [k.bootstrap] });
    const first = member(harness, topic, groupId);
    await eventually(() => latest(first)?.length === 4, 20_000);
    const before = await produce(harness, topic, batch('a', 8, 4));
    const delivered = await waitRecords(first, 8);

    // A second member joins: the group takes some of the first member's partitions away.
    const second = member(harness, topic, groupId);
    await eventually(() => {
      const a = latest(first) ?? [];
      const b = latest(second) ?? [];
      return a.length > 0 && b.length > 0 && a.length + b.length === 4;
    }, 30_000);
    const kept = latest(first)!;
    const lost = [0, 1, 2, 3].filter((p) => !kept.includes(p));

    // The first member commits what it read before the rebalance: all four partitions.
    const refused = await commit(first, positions(delivered))();
    expect(refused).toMatchObject({
      kind: 'commit-ack',
      ok: false,
      error: {
        type: 'kafka',
        kind: 'error',
        reason: 'rebalanced',
        code: 'TRIB_KAFKA_REBALANCED',
        retriable: false,
      },
    });
    expect(refused.error?.message).toContain(`partition(s) ${lost.join(', ')}`);
    // Nothing was committed, not even for the partitions it kept.
    expect(await committedOffsets(k.bootstrap, groupId, topic)).toEqual(new Map());

    // Committing its current partitions works, and the stream goes on reading them.
    const accepted = await commit(first, positions(delivered, kept))();
    expect(accepted).toEqual({ type: 'kafka', kind: 'commit-ack', ok: true });
    expect([...(await committedOffsets(k.bootstrap, groupId, topic)).keys()].sort()).toEqual(kept);
    const after = await produce(harness, topic, batch('b', 8, 4));
    await eventually(() => records(first).length + records(second).length >= 16, 20_000);
    const late = records(first).slice(8);
    expect(late.length).toBeGreaterThan(0);
    for (const r of late) expect(kept).toContain(r.ext.partition);
    expect(first.has('abort')).toBe(false);
    await Promise.all([close(before.peer), close(after.peer), close(first), close(second)]);
  });

  it('refuses a commit of a generation that ended, then rejoins with a fresh assignment', async () => {
    const k = kafka();
    const topic = uniqueTopic('group-removed');
    const groupId = `${topic}-g`;
    await createTopic(k, topic, 2);
    const harness = await gateway({ servers: [k.bootstrap] });
    const peer = member(harness, topic, groupId);
    await eventually(() => latest(peer)?.length === 2, 20_000);
    const first = await produce(harness, topic, batch('c', 4, 2));
    const delivered = await waitRecords(peer, 4);
    const memberId = await withAdmin(k, async (admin) => {
      const group = (await admin.describeGroups({ groups: [groupId] })).get(groupId);
      return [...(group?.members.keys() ?? [])][0]!;
    });

    // An administrator removes the member from its group (Kafka protocol: LeaveGroup v3+ by
    // member id). The removal runs in another process while this one is blocked, so that no
    // heartbeat tells the member before it commits: the commit goes out in its old generation.
    const removal = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { Admin } from '@platformatic/kafka';
         const [bootstrap, groupId, memberId] = process.argv.slice(1);
         const admin = new Admin({ clientId: 'tributary-test-removal', bootstrapBrokers: [bootstrap] });
         await admin.removeMembersFromConsumerGroup({ groupId, members: [{ memberId }] });
         await admin.close();`,
        k.bootstrap,
        groupId,
        memberId,
      ],
      { cwd: PACKAGE_DIR, encoding: 'utf8', timeout: 60_000 },
    );
    expect(removal.status, removal.stderr).toBe(0);
    const refused = await commit(peer, positions(delivered))();
    expect(refused).toMatchObject({
      ok: false,
      error: { reason: 'rebalanced', code: 'TRIB_KAFKA_REBALANCED' },
    });
    expect(await committedOffsets(k.bootstrap, groupId, topic)).toEqual(new Map());

    // The member rejoins by itself and announces its fresh assignment; the stream stays open.
    await eventually(() => assignments(peer).length >= 2 && latest(peer)?.length === 2, 30_000);
    expect(peer.has('abort')).toBe(false);
    // Nothing was committed: the partitions start over from the earliest offset (at-least-once).
    const second = await produce(harness, topic, batch('d', 4, 2));
    await eventually(() => {
      const seen = new Set(records(peer).map((r) => dec(r.value)));
      return seen.has('d2') && seen.has('d3');
    }, 20_000);
    const accepted = await commit(peer, positions(records(peer)))();
    expect(accepted).toEqual({ type: 'kafka', kind: 'commit-ack', ok: true });
    expect(await committedOffsets(k.bootstrap, groupId, topic)).toEqual(
      new Map([
        [0, 4n],
        [1, 4n],
      ]),
    );
    await Promise.all([close(first.peer), close(second.peer), close(peer)]);
  });

  it('reports the group coordinator lost and recovered, rides out a restart, and gives up past requestTimeoutMs', async () => {
    // A broker of its own: the shared one must stay up for the other tests.
    broker = await startKafka({ heap: '384m' });
    const topic = uniqueTopic('group-restart');
    const groupId = `${topic}-g`;
    await createTopic(broker, topic, 1);
    const patient = {
      servers: [broker.bootstrap],
      requestTimeoutMs: 60_000,
      retryDelayMs: 100,
      retryDelayMaxMs: 500,
    };
    const a = await gateway(patient);
    const b = await gateway(patient);
    const peerA = member(a, topic, groupId);
    await eventually(() => latest(peerA)?.length === 1, 20_000);
    const peerB = member(b, topic, groupId);
    // One partition, two members: one of them holds nothing, so heartbeats are all its traffic.
    await eventually(() => {
      const held = [latest(peerA), latest(peerB)];
      return held.every((p) => p !== undefined) && held.flat().length === 1;
    }, 30_000);
    const [idle, busy] = latest(peerA)!.length === 0 ? [a, b] : [b, a];
    const busyPeer = busy === a ? peerA : peerB;
    const idlePeer = idle === a ? peerA : peerB;
    const connectionEvents = (h: TestHarness) =>
      h.events.filter((e) => e.name.startsWith('kafka.connection.')).map((e) => e.name);
    expect(connectionEvents(idle)).toEqual([]);

    await broker.pause();
    await eventually(() => connectionEvents(idle).includes('kafka.connection.lost'), 30_000);
    expect(idle.events.find((e) => e.name === 'kafka.connection.lost')).toMatchObject({
      source: 'kafka_client',
      detail: { servers: broker.bootstrap },
    });
    await broker.resume();
    await eventually(() => connectionEvents(idle).includes('kafka.connection.recovered'), 30_000);
    expect(connectionEvents(idle)[0]).toBe('kafka.connection.lost');

    // Both streams rode the restart out, and the group still delivers.
    const producer = open(busy, { capability: 'produce', topic });
    await producer.next('begin', 20_000);
    let sent = 0;
    await eventually(
      async () => {
        send(producer, { value: 'after-restart', correlation: String(sent++) });
        const got = await waitAnswers(producer, sent, 30_000);
        return got.some((answer) => answer.kind === 'ack');
      },
      60_000,
      200,
    );
    await eventually(
      () => [...records(peerA), ...records(peerB)].some((r) => dec(r.value) === 'after-restart'),
      30_000,
    );
    expect(busyPeer.has('abort') || idlePeer.has('abort')).toBe(false);
    await close(producer);

    // A member whose gateway gives up sooner: Kafka gone for longer than requestTimeoutMs.
    const c = await gateway({
      servers: [broker.bootstrap],
      requestTimeoutMs: 4_000,
      retryDelayMs: 100,
      retryDelayMaxMs: 500,
    });
    const peerC = member(c, topic, groupId);
    await eventually(() => latest(peerC) !== undefined, 30_000);
    await broker.pause();
    const { code, ext } = await failure(peerC, 60_000);
    expect(code).toBe('TRIB_KAFKA_UNAVAILABLE');
    expect(ext).toMatchObject({ reason: 'unavailable', retriable: true });
    expect(connectionEvents(c)).toContain('kafka.connection.lost');
  });
});
