// Helpers for the client kind's tests: a gateway with a `test` server whose route `kafka` exits
// to a `kafka` client binding, streams opened from the application side, and topics created
// with the library's admin client (test code may use the library; the package's sources may not).
import { Admin, ConnectionPool, kGetApi, type Base } from '@platformatic/kafka';
import {
  createTestKernel,
  type RecordedFrame,
  type ScriptedPeer,
  type TestHarness,
} from '@tributary/kernel/testkit';
import type { Extension } from '@tributary/kernel';
import type {
  KafkaAckEx,
  KafkaBeginEx,
  KafkaCaughtUpEx,
  KafkaErrorEx,
  KafkaHeader,
  KafkaProduceDataEx,
  KafkaRecordDataEx,
} from '../../src/index.ts';
import { plugin } from '../../src/plugin.ts';
import type { KafkaClientOptions, KafkaSaslMechanism } from '../../src/config/options.ts';
import { LISTENERS, type KafkaInfo, type ListenerKey } from '../../../../tools/kafka/broker.ts';

export const enc = (text: string): Uint8Array => new TextEncoder().encode(text);
export const dec = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

/** Options that keep failing tests short. */
export const FAST: Partial<KafkaClientOptions> = {
  connectTimeoutMs: 2_000,
  requestTimeoutMs: 5_000,
  retries: 2,
  retryDelayMs: 50,
  retryDelayMaxMs: 500,
  fetch: { maxWaitMs: 200 },
};

export interface GatewayExtras {
  /** Extra top-level sections (vaults…). */
  readonly top?: Record<string, unknown>;
  /** Extra fields of the kafka binding (vault…). */
  readonly binding?: Record<string, unknown>;
  readonly env?: Record<string, string>;
}

export function gatewayConfig(options: KafkaClientOptions, extras: GatewayExtras = {}): object {
  return {
    name: 'kafka-client-test',
    bindings: {
      app: { type: 'test', kind: 'server', routes: [{ when: [{ route: 'kafka' }], exit: 'kafka_client' }] },
      kafka_client: { type: 'kafka', kind: 'client', options, ...extras.binding },
    },
    ...extras.top,
  };
}

/** Starts a gateway whose `kafka_client` binding has `options` (with {@link FAST} defaults). */
export function startGateway(options: KafkaClientOptions, extras: GatewayExtras = {}): Promise<TestHarness> {
  return createTestKernel({
    config: gatewayConfig({ ...FAST, ...options }, extras),
    plugins: [plugin],
    logLevel: 'warn',
    ...(extras.env === undefined ? {} : { env: extras.env }),
  });
}

export interface OpenOptions {
  readonly initialWindow?: number;
  readonly autoWindow?: boolean;
}

/** Opens a stream towards the kafka client with `begin` as the initial begin extension. */
/** A begin extension without its `type` (distributed over the capabilities). */
export type BeginInput = KafkaBeginEx extends infer T
  ? T extends KafkaBeginEx
    ? Omit<T, 'type'>
    : never
  : never;

export function open(
  harness: TestHarness,
  begin: BeginInput | Extension,
  options: OpenOptions = {},
): ScriptedPeer {
  const ext = 'type' in begin ? begin : { type: 'kafka', ...begin };
  return harness.server('app').open({ route: 'kafka' }, { begin: ext, ...options });
}

export interface ProduceInput {
  readonly value: Uint8Array | string | null;
  readonly key?: Uint8Array | string | null;
  readonly headers?: readonly { name: string; value: Uint8Array | string | null }[];
  readonly partition?: number;
  readonly timestamp?: number;
  readonly correlation?: string;
}

const bytesOf = (value: Uint8Array | string): Uint8Array => (typeof value === 'string' ? enc(value) : value);

export function produceExt(input: ProduceInput): KafkaProduceDataEx {
  const headers: KafkaHeader[] = (input.headers ?? []).map((h) => ({
    name: h.name,
    value: h.value === null ? null : bytesOf(h.value),
  }));
  const ext: { -readonly [K in keyof KafkaProduceDataEx]: KafkaProduceDataEx[K] } = {
    type: 'kafka',
    kind: 'produce',
    key: input.key === undefined || input.key === null ? null : bytesOf(input.key),
    headers,
  };
  if (input.value === null) ext.tombstone = true;
  if (input.partition !== undefined) ext.partition = input.partition;
  if (input.timestamp !== undefined) ext.timestamp = input.timestamp;
  if (input.correlation !== undefined) ext.correlation = input.correlation;
  return ext;
}

/** Sends one record on a produce stream (respecting nothing: the engine queues beyond credit). */
export function send(peer: ScriptedPeer, input: ProduceInput): void {
  peer.send(input.value === null ? new Uint8Array(0) : bytesOf(input.value), produceExt(input));
}

export const isAck = (f: RecordedFrame): boolean =>
  f.frame === 'flush' &&
  (f.ext as KafkaAckEx | undefined)?.type === 'kafka' &&
  ((f.ext as KafkaAckEx).kind === 'ack' || (f.ext as KafkaAckEx).kind === 'nack');

/** The acks and nacks received so far, in order. */
export function answers(peer: ScriptedPeer): KafkaAckEx[] {
  return peer.frames.filter(isAck).map((f) => (f as unknown as { ext: KafkaAckEx }).ext);
}

/** Waits until `count` answers arrived. */
export async function waitAnswers(
  peer: ScriptedPeer,
  count: number,
  timeoutMs = 20_000,
): Promise<KafkaAckEx[]> {
  if (answers(peer).length < count) await peer.until(() => answers(peer).length >= count, timeoutMs);
  return answers(peer);
}

/** Produces records through the gateway and returns their answers. The stream stays open. */
export async function produce(
  harness: TestHarness,
  topic: string,
  records: readonly ProduceInput[],
  begin: Partial<{ acks: 'none' | 'leader' | 'all'; timeoutMs: number }> = {},
): Promise<{ peer: ScriptedPeer; answers: KafkaAckEx[] }> {
  const peer = open(harness, { capability: 'produce', topic, ...begin });
  await peer.next('begin', 20_000);
  for (const record of records) send(peer, record);
  const got = await waitAnswers(peer, records.length);
  return { peer, answers: got };
}

export interface Delivered {
  readonly ext: KafkaRecordDataEx;
  readonly value: Uint8Array;
}

/** Whole records received on a fetch stream's reply so far (fragments joined). */
export function records(peer: ScriptedPeer): Delivered[] {
  const out: Delivered[] = [];
  let current: { ext: KafkaRecordDataEx; parts: Uint8Array[] } | undefined;
  for (const frame of peer.frames) {
    if (frame.frame !== 'data') continue;
    const data = frame.data;
    if (data.first) current = { ext: data.ext as KafkaRecordDataEx, parts: [] };
    current?.parts.push(data.payload);
    if (data.last && current) {
      out.push({ ext: current.ext, value: Buffer.concat(current.parts) });
      current = undefined;
    }
  }
  return out;
}

export async function waitRecords(
  peer: ScriptedPeer,
  count: number,
  timeoutMs = 20_000,
): Promise<Delivered[]> {
  if (records(peer).length < count) await peer.until(() => records(peer).length >= count, timeoutMs);
  return records(peer);
}

export function caughtUp(peer: ScriptedPeer): KafkaCaughtUpEx | undefined {
  const frame = peer.frames.find(
    (f) => f.frame === 'flush' && (f.ext as KafkaCaughtUpEx | undefined)?.kind === 'caught-up',
  );
  return frame?.frame === 'flush' ? (frame.ext as KafkaCaughtUpEx) : undefined;
}

export async function waitCaughtUp(peer: ScriptedPeer, timeoutMs = 20_000): Promise<KafkaCaughtUpEx> {
  await peer.until(
    (f) => f.frame === 'flush' && (f.ext as KafkaCaughtUpEx | undefined)?.kind === 'caught-up',
    timeoutMs,
  );
  return caughtUp(peer)!;
}

/** The error extension of the first abort or reset the peer received. */
export async function failure(
  peer: ScriptedPeer,
  timeoutMs = 20_000,
): Promise<{ code: string; ext: KafkaErrorEx | undefined }> {
  const frame = await peer.until((f) => f.frame === 'abort' || f.frame === 'reset', timeoutMs);
  if (frame.frame !== 'abort' && frame.frame !== 'reset') throw new Error('unreachable');
  return { code: frame.reason.code, ext: frame.reason.ext as KafkaErrorEx | undefined };
}

/** Ends a stream from the application side and waits for the reply to end. */
export async function close(peer: ScriptedPeer): Promise<void> {
  if (peer.handle.out.writable) peer.end();
  await peer
    .until((f) => f.frame === 'end' || f.frame === 'abort' || f.frame === 'reset', 10_000)
    .catch(() => undefined);
}

// --- Kafka administration for tests ---

export interface AdminTarget {
  readonly bootstrap: string;
}

export async function withAdmin<T>(kafka: AdminTarget, work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Admin({
    clientId: 'tributary-test-admin',
    // A cluster's bootstrap lists several servers, comma-separated.
    bootstrapBrokers: kafka.bootstrap.split(','),
    retries: 3,
  });
  try {
    return await work(admin);
  } finally {
    await admin.close();
  }
}

export async function createTopic(
  kafka: AdminTarget,
  topic: string,
  partitions = 1,
  configs: Record<string, string> = {},
  replicas = 1,
): Promise<void> {
  await withAdmin(kafka, async (admin) => {
    await admin.createTopics({
      topics: [topic],
      partitions,
      replicas,
      configs: Object.entries(configs).map(([name, value]) => ({ name, value })),
    });
    // Wait until the topic's leaders are known, so that the first request of a test finds them.
    for (let i = 0; i < 50; i++) {
      const metadata = await admin.metadata({ topics: [topic], forceUpdate: true }).catch(() => undefined);
      const info = metadata?.topics.get(topic);
      if (info && info.partitionsCount === partitions && info.partitions.every((p) => p.leader >= 0)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  stepMs = 50,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await sleep(stepMs);
  }
}

/** The record batches of partitions `0..partitions-1` as the broker stores them (attributes, producer id). */
export async function rawBatches(
  kafka: AdminTarget,
  topic: string,
  partitions: number,
): Promise<{ partition: number; attributes: number; producerId: bigint; records: number }[]> {
  return withAdmin(kafka, async (admin) => {
    const metadata = await admin.metadata({ topics: [topic], forceUpdate: true });
    const info = metadata.topics.get(topic)!;
    const api = await new Promise<{ version: number; async: (...args: unknown[]) => Promise<RawFetch> }>(
      (resolve, reject) =>
        (admin as unknown as Base)[kGetApi]('Fetch', (error, found) =>
          error ? reject(error) : resolve(found as never),
        ),
    );
    const pool = new ConnectionPool('tributary-test-raw', {});
    try {
      const out: { partition: number; attributes: number; producerId: bigint; records: number }[] = [];
      for (let partition = 0; partition < partitions; partition++) {
        const leader = metadata.brokers.get(info.partitions[partition]!.leader)!;
        const connection = await pool.get(leader);
        const response = await api.async(
          connection,
          100,
          1,
          10_000_000,
          0,
          0,
          -1,
          [
            {
              topicId: api.version <= 12 ? topic : info.id,
              partitions: [
                {
                  partition,
                  currentLeaderEpoch: -1,
                  fetchOffset: 0n,
                  lastFetchedEpoch: -1,
                  partitionMaxBytes: 10_000_000,
                },
              ],
            },
          ],
          [],
          '',
        );
        for (const t of response.responses) {
          for (const p of t.partitions) {
            for (const batch of p.records ?? []) {
              out.push({
                partition: p.partitionIndex,
                attributes: batch.attributes,
                producerId: batch.producerId,
                records: batch.records.length,
              });
            }
          }
        }
      }
      return out;
    } finally {
      await pool.close();
    }
  });
}

interface RawFetch {
  responses: {
    partitions: {
      partitionIndex: number;
      records?: { attributes: number; producerId: bigint; records: unknown[] }[] | null;
    }[];
  }[];
}

/** Client options for a listener; the password comes from the environment, as in production. */
export function securityOptions(
  k: KafkaInfo,
  listener: ListenerKey,
  mechanism: KafkaSaslMechanism | undefined,
): KafkaClientOptions {
  const spec = LISTENERS[listener];
  const tls = spec.securityProtocol === 'SSL' || spec.securityProtocol === 'SASL_SSL';
  return {
    servers: [k.listeners[listener]],
    ...(mechanism === undefined
      ? {}
      : {
          sasl: { mechanism, username: k.users.alice.username, password: '${{ env.KAFKA_TEST_PASSWORD }}' },
        }),
    ...(tls
      ? {
          tls: {
            ca: { file: k.certs.ca },
            ...(spec.clientAuth
              ? { cert: { file: k.certs.clientCert }, key: { file: k.certs.clientKey } }
              : {}),
          },
        }
      : {}),
  };
}
