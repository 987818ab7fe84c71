// startKafkaCluster forms a real three-node KRaft cluster: metadata lists every broker, a topic
// replicated three times carries records end to end (kcat), and a paused node leaves the cluster
// serving while its partitions are led elsewhere, then comes back into the replica set.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafkaCluster, type KafkaClusterHandle } from '../kafka/cluster.ts';
import { kcat } from '../kafka/clients.ts';
import { poll } from '../kafka/util.ts';
import { uniqueTopic } from '../it/context.ts';

interface KcatMetadata {
  brokers: { id: number; name: string }[];
  topics: {
    topic: string;
    partitions: { partition: number; leader: number; replicas: { id: number }[]; isrs: { id: number }[] }[];
  }[];
}

async function metadata(bootstrap: string, topic?: string): Promise<KcatMetadata> {
  const res = await kcat(['-b', bootstrap, '-L', '-J', ...(topic === undefined ? [] : ['-t', topic])]);
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout) as KcatMetadata;
}

async function consumeAll(bootstrap: string, topic: string, count: number): Promise<string[]> {
  const res = await kcat([
    '-b',
    bootstrap,
    '-C',
    '-t',
    topic,
    '-o',
    'beginning',
    '-c',
    String(count),
    '-e',
    '-q',
  ]);
  expect(res.code, res.stderr).toBe(0);
  return res.stdout.split('\n').filter((line) => line !== '');
}

describe('startKafkaCluster', () => {
  let cluster: KafkaClusterHandle;
  beforeAll(async () => {
    cluster = await startKafkaCluster({ brokers: 3 });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('forms a cluster of three brokers, each on its own ports and run folder', async () => {
    expect(cluster.brokers.map((b) => b.id)).toEqual([1, 2, 3]);
    expect(new Set(cluster.brokers.map((b) => b.address)).size).toBe(3);
    expect(new Set(cluster.brokers.map((b) => b.runDir)).size).toBe(3);
    expect(cluster.bootstrap.split(',')).toEqual(cluster.brokers.map((b) => b.address));
    // Every node answers with the whole cluster.
    for (const node of cluster.brokers) {
      const found = await metadata(node.address);
      expect(found.brokers.map((b) => b.id).sort()).toEqual([1, 2, 3]);
    }
  });

  it('replicates a topic three times and carries its records end to end', async () => {
    const topic = uniqueTopic('cluster-rf3');
    const values = Array.from({ length: 5 }, (_, i) => `v${i}-${randomBytes(4).toString('hex')}`);
    // Auto-created with the cluster's default replication factor (3); acks=all needs two in sync.
    const produced = await kcat(
      ['-b', cluster.bootstrap, '-P', '-t', topic, '-X', 'topic.request.required.acks=-1'],
      `${values.join('\n')}\n`,
    );
    expect(produced.code, produced.stderr).toBe(0);
    const found = await metadata(cluster.bootstrap, topic);
    const partition = found.topics.find((t) => t.topic === topic)?.partitions[0];
    expect(partition?.replicas.map((r) => r.id).sort()).toEqual([1, 2, 3]);
    expect(await consumeAll(cluster.bootstrap, topic, values.length)).toEqual(values);
  });

  it('keeps serving while the leader of a partition is paused, and takes it back on resume', async () => {
    const topic = uniqueTopic('cluster-pause');
    const first = await kcat(
      ['-b', cluster.bootstrap, '-P', '-t', topic, '-X', 'topic.request.required.acks=-1'],
      'a\n',
    );
    expect(first.code, first.stderr).toBe(0);
    const leaderOf = async () =>
      (await metadata(cluster.bootstrap, topic)).topics.find((t) => t.topic === topic)?.partitions[0];
    const before = await leaderOf();
    const leader = cluster.broker(before!.leader);
    await leader.pause();
    expect(leader.running).toBe(false);
    const others = cluster.brokers
      .filter((b) => b.id !== leader.id)
      .map((b) => b.address)
      .join(',');
    const moved = await poll(async () => {
      const p = (await metadata(others, topic)).topics.find((t) => t.topic === topic)?.partitions[0];
      return p !== undefined && p.leader >= 0 && p.leader !== leader.id ? p : undefined;
    }, 30_000);
    expect(moved).toBeDefined();
    const second = await kcat(
      ['-b', others, '-P', '-t', topic, '-X', 'topic.request.required.acks=-1'],
      'b\n',
    );
    expect(second.code, second.stderr).toBe(0);
    expect(await consumeAll(others, topic, 2)).toEqual(['a', 'b']);

    await leader.resume();
    expect(leader.running).toBe(true);
    // Back in sync: the resumed node is in the ISR again.
    const rejoined = await poll(async () => {
      const p = await leaderOf();
      return p?.isrs.some((r) => r.id === leader.id) ? p : undefined;
    }, 60_000);
    expect(rejoined?.isrs.map((r) => r.id).sort()).toEqual([1, 2, 3]);
  });
});
