/**
 * The {@link KafkaPort} over `@platformatic/kafka`: the only module of the package that imports
 * the library (docs/adr/0002-kafka-client.md).
 *
 * - **Produce** goes through the library's `Producer` (one plain, one idempotent when
 *   configured), always with an explicit partition (the binding partitions, see
 *   `partitioner.ts`). Per-record offsets are the batch's base offset plus the record's index in
 *   its partition (Kafka protocol: Produce v3+, one record batch per partition).
 * - **Metadata, ListOffsets, DescribeConfigs** go through one `Admin`.
 * - **Consumer groups** use one library `Consumer` per member, for the membership only (join,
 *   heartbeats, rejoins after rebalances, leave) and the group's offsets; its records are read
 *   with a fetcher like any other.
 * - **Fetch** uses the library's Fetch API directly, on a connection pool of its own per fetcher,
 *   without fetch sessions (`session_id` 0, `session_epoch` -1: KIP-227 full fetches), so that
 *   any number of streams can fetch the same partitions from different offsets.
 *
 * Library errors are classified into {@link PortError}s by {@link classifyError}.
 *
 * @module
 */
import {
  Admin,
  ConnectionPool,
  Consumer,
  FetchIsolationLevels,
  kGetApi,
  kGetConnection,
  ProduceAcks,
  Producer,
  protocolErrorsCodesById,
  type Base,
  type ConnectionOptions,
  type fetchV17,
  type MessageToProduce,
  type SASLOptions,
  type TopicWithPartitionAndOffset,
} from '@platformatic/kafka';
import { isIP } from 'node:net';
import type { KafkaAcks, KafkaHeader, KafkaIsolation } from '../index.ts';
import { backoff, type ResolvedClientOptions } from '../config/options.ts';
import type { TlsMaterial } from '../config/tls.ts';
import type { TokenSource } from './oauth.ts';
import type {
  FetchedPartition,
  FetchedRecord,
  FetchRequest,
  GroupMemberEvents,
  KafkaFetcher,
  KafkaGroupMember,
  KafkaPort,
  OffsetSpec,
  PortError,
  PortErrorReason,
  PortResult,
  ProduceOutcome,
  ProduceRecord,
  TopicMetadata,
} from './port.ts';
import { AbortedTransactions } from './transactions.ts';

type FetchResponse = fetchV17.FetchResponse;
type FetchResponsePartition = fetchV17.FetchResponsePartition;

const ACKS: Record<KafkaAcks, number> = {
  none: ProduceAcks.NO_RESPONSE,
  leader: ProduceAcks.LEADER,
  all: ProduceAcks.ALL,
};
const ISOLATION: Record<KafkaIsolation, number> = {
  read_uncommitted: FetchIsolationLevels.READ_UNCOMMITTED,
  read_committed: FetchIsolationLevels.READ_COMMITTED,
};
const SASL_MECHANISMS = {
  plain: 'PLAIN',
  'scram-sha-256': 'SCRAM-SHA-256',
  'scram-sha-512': 'SCRAM-SHA-512',
  oauthbearer: 'OAUTHBEARER',
} as const;

/** Record batch attributes (Kafka protocol: RecordBatch `attributes`). */
const LOG_APPEND_TIME = 0x08;
const TRANSACTIONAL = 0x10;
const CONTROL = 0x20;
/** DescribeConfigs resource type TOPIC. */
const RESOURCE_TOPIC = 2;

const ok = <T>(value: T): PortResult<T> => ({ ok: true, value });
const failed = <T>(error: PortError): PortResult<T> => ({ ok: false, error });

/**
 * Creates the port. Nothing connects until the first request. `tokens` supplies OAUTHBEARER
 * tokens per connection (`sasl.oauth`, `sasl.guard`); the port closes it when it closes.
 */
export function createPlatformaticPort(
  options: ResolvedClientOptions,
  tls: TlsMaterial | undefined,
  tokens?: TokenSource,
): KafkaPort {
  return new PlatformaticPort(options, tls, tokens);
}

class PlatformaticPort implements KafkaPort {
  private readonly options: ResolvedClientOptions;
  private readonly connection: ConnectionOptions;
  private readonly base: ConstructorParameters<typeof Admin>[0];
  private readonly admin: Admin;
  private readonly producer: Producer;
  private idempotentProducer: Producer | undefined;
  private readonly fetchers = new Set<PlatformaticFetcher>();
  private readonly members = new Set<PlatformaticGroupMember>();
  private readonly tokens: TokenSource | undefined;
  private closed = false;

  constructor(options: ResolvedClientOptions, tls: TlsMaterial | undefined, tokens: TokenSource | undefined) {
    this.options = options;
    this.tokens = tokens;
    this.connection = connectionOptions(options, tls, tokens);
    this.base = {
      ...this.connection,
      clientId: options.clientId,
      bootstrapBrokers: [...options.servers],
      // Broker-side wait for acknowledgements of a produce request (Produce `timeout_ms`).
      timeout: options.produce.timeoutMs,
      retries: options.retries,
      retryDelay: (_client: unknown, _operation: string, attempt: number) => backoff(options, attempt),
      metadataMaxAge: options.metadataMaxAgeMs,
      autocreateTopics: false,
    };
    this.admin = guard(new Admin(this.base));
    this.producer = guard(
      new Producer({ ...this.base, idempotent: false, compression: options.produce.compression }),
    );
  }

  private producerFor(acks: KafkaAcks): Producer {
    if (acks !== 'all' || !this.options.produce.idempotent) return this.producer;
    this.idempotentProducer ??= guard(
      new Producer({ ...this.base, idempotent: true, compression: this.options.produce.compression }),
    );
    return this.idempotentProducer;
  }

  async produce(
    topic: string,
    records: readonly ProduceRecord[],
    acks: KafkaAcks,
  ): Promise<readonly ProduceOutcome[]> {
    if (records.length === 0) return [];
    if (this.closed) return records.map(() => ({ ok: false, error: closedError() }));
    const now = Date.now();
    const stamped = records.map((record) =>
      record.timestamp === undefined ? { ...record, timestamp: now } : record,
    );
    const rounds = timestampRounds(stamped);
    if (rounds.length === 1) return this.produceRound(topic, stamped, acks);
    // Sent one round after the other, so that each partition's records stay in order.
    const outcomes = new Array<ProduceOutcome>(records.length);
    for (const round of rounds) {
      const answered = await this.produceRound(
        topic,
        round.map((i) => stamped[i]!),
        acks,
      );
      round.forEach((index, i) => (outcomes[index] = answered[i]!));
    }
    return outcomes;
  }

  private async produceRound(
    topic: string,
    records: readonly ProduceRecord[],
    acks: KafkaAcks,
  ): Promise<readonly ProduceOutcome[]> {
    const messages = records.map((record) => toMessage(topic, record));
    try {
      const result = await this.producerFor(acks).send({ messages, acks: ACKS[acks] });
      if (acks === 'none')
        return records.map((record) => ({ ok: true, partition: record.partition, offset: -1n }));
      return answer(records, baseOffsets(topic, result.offsets ?? [], []), undefined);
    } catch (error) {
      const produced = (error as { produced?: { offsets?: TopicWithPartitionAndOffset[] } }).produced;
      const found = baseOffsets(topic, produced?.offsets ?? [], responseErrors(error));
      return answer(records, found, classifyError(error));
    }
  }

  async metadata(topic: string, refresh = false): Promise<PortResult<TopicMetadata>> {
    if (this.closed) return failed(closedError());
    try {
      const metadata = await this.admin.metadata({ topics: [topic], forceUpdate: refresh });
      const found = metadata.topics.get(topic);
      if (!found) return failed(unknownTopic(topic));
      const partitions = [];
      for (let partition = 0; partition < found.partitionsCount; partition++) {
        const info = found.partitions[partition];
        partitions.push({ partition, leader: info?.leader ?? -1, leaderEpoch: info?.leaderEpoch ?? -1 });
      }
      return ok({ topic, partitions });
    } catch (error) {
      return failed(classifyError(error));
    }
  }

  async describeConfigs(
    topic: string,
    names?: readonly string[],
  ): Promise<PortResult<Readonly<Record<string, string | null>>>> {
    if (this.closed) return failed(closedError());
    try {
      const described = await this.admin.describeConfigs({
        resources: [
          {
            resourceType: RESOURCE_TOPIC,
            resourceName: topic,
            configurationKeys: names === undefined ? null : [...names],
          },
        ],
      });
      const configs: Record<string, string | null> = {};
      for (const resource of described) {
        if (resource.resourceName !== topic) continue;
        for (const entry of resource.configs) configs[entry.name] = entry.value ?? null;
      }
      return ok(configs);
    } catch (error) {
      return failed(classifyError(error, topic));
    }
  }

  async listOffsets(
    topic: string,
    partitions: readonly number[],
    spec: OffsetSpec,
    isolation: KafkaIsolation,
  ): Promise<PortResult<ReadonlyMap<number, bigint>>> {
    if (this.closed) return failed(closedError());
    if (partitions.length === 0) return ok(new Map());
    try {
      const listed = await this.admin.listOffsets({
        topics: [
          {
            name: topic,
            partitions: partitions.map((partitionIndex) => ({
              partitionIndex,
              // Kafka protocol: ListOffsets timestamps -2 (earliest) and -1 (latest).
              timestamp: spec === 'earliest' ? -2n : -1n,
            })),
          },
        ],
        isolationLevel: ISOLATION[isolation] as 0 | 1,
      });
      const offsets = new Map<number, bigint>();
      for (const entry of listed) {
        if (entry.name !== topic) continue;
        for (const partition of entry.partitions) offsets.set(partition.partitionIndex, partition.offset);
      }
      return ok(offsets);
    } catch (error) {
      return failed(classifyError(error, topic));
    }
  }

  fetcher(): KafkaFetcher {
    const fetcher = new PlatformaticFetcher(this, this.connectionFor('fetch'), () =>
      this.fetchers.delete(fetcher),
    );
    if (this.closed) void fetcher.close();
    else this.fetchers.add(fetcher);
    return fetcher;
  }

  groupMember(topic: string, groupId: string, events: GroupMemberEvents): KafkaGroupMember {
    const member = new PlatformaticGroupMember(this.base, this.options.group, topic, groupId, events, () =>
      this.members.delete(member),
    );
    if (this.closed) void member.leave();
    else this.members.add(member);
    return member;
  }

  /** Connection options of a fetcher's pool: long polls must not count against the request timeout. */
  private connectionFor(_use: 'fetch'): ConnectionOptions {
    return {
      ...this.connection,
      requestTimeout: this.options.requestTimeoutMs + this.options.fetch.maxWaitMs,
    };
  }

  async probe(): Promise<PortResult<void>> {
    if (this.closed) return failed(closedError());
    try {
      await this.admin.metadata({ topics: [], forceUpdate: true, retries: 0 });
      return ok(undefined);
    } catch (error) {
      return failed(classifyError(error));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const clients: Promise<unknown>[] = [...this.fetchers].map((fetcher) => fetcher.close());
    for (const member of this.members) clients.push(member.leave());
    clients.push(this.producer.close(true), this.admin.close());
    if (this.idempotentProducer) clients.push(this.idempotentProducer.close(true));
    await Promise.allSettled(clients);
    this.tokens?.close();
  }

  // --- for fetchers ---

  /** Cluster metadata for a fetch: the topic's id and the address of `node`. */
  async fetchTarget(
    topic: string,
    node: number,
  ): Promise<PortResult<{ topicId: string; host: string; port: number }>> {
    try {
      let metadata = await this.admin.metadata({ topics: [topic] });
      if (!metadata.brokers.has(node))
        metadata = await this.admin.metadata({ topics: [topic], forceUpdate: true });
      const found = metadata.topics.get(topic);
      if (!found) return failed(unknownTopic(topic));
      const broker = metadata.brokers.get(node);
      if (!broker) {
        return failed({
          reason: 'unavailable',
          message: `broker ${node} is not in the cluster metadata`,
          retriable: true,
          staleMetadata: true,
          unsupportedVersion: false,
        });
      }
      return ok({ topicId: found.id, host: broker.host, port: broker.port });
    } catch (error) {
      return failed(classifyError(error, topic));
    }
  }

  /** The Fetch API version the cluster and the library share. */
  fetchApi(): Promise<PortResult<FetchApi>> {
    return new Promise((resolve) => {
      (this.admin as unknown as Base)[kGetApi]<FetchArgs, FetchResponse>('Fetch', (error, api) => {
        if (error || !api) resolve(failed(classifyError(error ?? new Error('no Fetch API'))));
        else resolve(ok(api as FetchApi));
      });
    });
  }
}

class PlatformaticGroupMember implements KafkaGroupMember {
  private readonly consumer: Consumer;
  private readonly topic: string;
  private readonly events: GroupMemberEvents;
  private readonly onLeave: () => void;
  private left = false;
  /**
   * The generation whose assignment was last reported. Commits go out as this one, not as the
   * consumer's `generationId`, which moves on as soon as a rejoin's JoinGroup is answered, before
   * the new assignment is known.
   */
  private joined: { readonly generationId: number; readonly memberId: string } | undefined;

  constructor(
    base: ConstructorParameters<typeof Admin>[0],
    timings: ResolvedClientOptions['group'],
    topic: string,
    groupId: string,
    events: GroupMemberEvents,
    onLeave: () => void,
  ) {
    this.topic = topic;
    this.events = events;
    this.onLeave = onLeave;
    this.consumer = guard(
      new Consumer({
        ...base,
        groupId,
        autocommit: false,
        sessionTimeout: timings.sessionTimeoutMs,
        rebalanceTimeout: timings.rebalanceTimeoutMs,
        heartbeatInterval: timings.heartbeatIntervalMs,
      }),
    );
    this.consumer.topics.track(topic);
    // Emitted on every completed join: the first one and each rejoin after a rebalance.
    this.consumer.on('consumer:group:join', (payload) => {
      if (this.left) return;
      const mine = (payload.assignments ?? []).filter((assignment) => assignment.topic === topic);
      const partitions = [...new Set(mine.flatMap((assignment) => assignment.partitions))].sort(
        (a, b) => a - b,
      );
      if (typeof payload.generationId === 'number' && typeof payload.memberId === 'string')
        this.joined = { generationId: payload.generationId, memberId: payload.memberId };
      this.events.assigned(partitions);
    });
    // A rejoin after a rebalance that failed for good.
    this.consumer.on('error', (error: unknown) => {
      if (!this.left) this.events.failed(classifyError(error, topic));
    });
    // Heartbeats run in the background; their outcomes tell whether the coordinator is reachable.
    // (A heartbeat refused because the generation ended is not reported: the consumer rejoins.)
    this.consumer.on('consumer:heartbeat:end', () => {
      if (!this.left) this.events.background(ok(undefined));
    });
    this.consumer.on('consumer:heartbeat:error', (payload: { error?: unknown } | undefined) => {
      if (!this.left) this.events.background(failed(classifyError(payload?.error, topic)));
    });
  }

  async join(): Promise<PortResult<void>> {
    if (this.left) return failed(closedError());
    try {
      await this.consumer.joinGroup({});
      return ok(undefined);
    } catch (error) {
      return failed(classifyError(error, this.topic));
    }
  }

  async committed(partitions: readonly number[]): Promise<PortResult<ReadonlyMap<number, bigint>>> {
    if (this.left) return failed(closedError());
    if (partitions.length === 0) return ok(new Map());
    try {
      const listed = await this.consumer.listCommittedOffsets({
        topics: [{ topic: this.topic, partitions: [...partitions] }],
      });
      const offsets = listed.get(this.topic) ?? [];
      const found = new Map<number, bigint>();
      for (const partition of partitions) {
        const offset = offsets[partition];
        // -1: the group has committed nothing for the partition.
        if (offset !== undefined && offset >= 0n) found.set(partition, offset);
      }
      return ok(found);
    } catch (error) {
      return failed(classifyError(error, this.topic));
    }
  }

  async commit(
    offsets: readonly { readonly partition: number; readonly offset: bigint }[],
  ): Promise<PortResult<void>> {
    if (this.left) return failed(closedError());
    if (offsets.length === 0) return ok(undefined);
    // Not Consumer.commit(): on ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID it rejoins and commits
    // again under the new generation, which would overwrite the progress of the member the
    // partitions moved to. OffsetCommit is sent once, as this member in its current generation.
    const joined = this.joined;
    if (joined === undefined || this.consumer.memberId !== joined.memberId) {
      return failed(make('rebalanced', 'the member is rejoining its group', { cause: 'UNKNOWN_MEMBER_ID' }));
    }
    try {
      const coordinator = await this.consumer.findGroupCoordinator();
      const metadata = await this.consumer.metadata({ topics: [this.topic] });
      const broker = metadata.brokers.get(coordinator);
      if (broker === undefined) {
        return failed(
          make('unavailable', `the group coordinator ${coordinator} is not in the metadata`, {
            cause: 'COORDINATOR_NOT_AVAILABLE',
          }),
        );
      }
      const internals = this.consumer as unknown as GroupInternals;
      const connection = await new Promise<unknown>((resolve, reject) =>
        internals[kGetConnection](broker, (error, found) =>
          error ? reject(asError(error)) : resolve(found),
        ),
      );
      const api = await new Promise<OffsetCommitApi>((resolve, reject) =>
        internals[kGetApi]('OffsetCommit', (error, found) =>
          error || !found ? reject(asError(error ?? 'no OffsetCommit API')) : resolve(found),
        ),
      );
      await api.async(connection, this.consumer.groupId, joined.generationId, joined.memberId, null, [
        {
          name: this.topic,
          partitions: offsets.map(({ partition, offset }) => ({
            partitionIndex: partition,
            committedOffset: offset,
            committedLeaderEpoch: -1,
            committedMetadata: null,
          })),
        },
      ]);
      return ok(undefined);
    } catch (error) {
      return failed(classifyError(error, this.topic));
    }
  }

  async leave(): Promise<void> {
    if (this.left) return;
    this.left = true;
    this.onLeave();
    // Closing leaves the group (LeaveGroup), so that the others rebalance at once.
    await this.consumer.close().catch(() => this.consumer.close(true).catch(() => undefined));
  }
}

/** The library's errors are Errors (their trees are what classifyError reads); anything else is wrapped. */
function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** The library internals a raw OffsetCommit needs (exported symbols, untyped on Consumer). */
interface GroupInternals {
  [kGetConnection](broker: unknown, callback: (error: unknown, connection: unknown) => void): void;
  [kGetApi](name: 'OffsetCommit', callback: (error: unknown, api: OffsetCommitApi | undefined) => void): void;
}

/** Kafka protocol: OffsetCommit v2+ (`generation_id_or_member_epoch`, `member_id`, `group_instance_id`). */
interface OffsetCommitApi {
  async(
    connection: unknown,
    groupId: string,
    generationIdOrMemberEpoch: number,
    memberId: string,
    groupInstanceId: string | null,
    topics: {
      name: string;
      partitions: {
        partitionIndex: number;
        committedOffset: bigint;
        committedLeaderEpoch: number;
        committedMetadata: string | null;
      }[];
    }[],
  ): Promise<unknown>;
}

type FetchArgs = [
  maxWaitMs: number,
  minBytes: number,
  maxBytes: number,
  isolationLevel: number,
  sessionId: number,
  sessionEpoch: number,
  topics: {
    topicId: string;
    partitions: {
      partition: number;
      currentLeaderEpoch: number;
      fetchOffset: bigint;
      lastFetchedEpoch: number;
      partitionMaxBytes: number;
    }[];
  }[],
  forgottenTopicsData: never[],
  rackId: string,
];

interface FetchApi {
  readonly version: number;
  async(connection: unknown, ...args: FetchArgs): Promise<FetchResponse>;
}

class PlatformaticFetcher implements KafkaFetcher {
  private readonly port: PlatformaticPort;
  private readonly pool: ConnectionPool;
  private readonly onClose: () => void;
  private closed = false;

  constructor(port: PlatformaticPort, connection: ConnectionOptions, onClose: () => void) {
    this.port = port;
    this.onClose = onClose;
    this.pool = guardPool(new ConnectionPool(`${connection.sasl ? 'sasl' : 'plain'}-fetch`, connection));
  }

  async fetch(request: FetchRequest): Promise<PortResult<readonly FetchedPartition[]>> {
    if (this.closed) return failed(closedError());
    const target = await this.port.fetchTarget(request.topic, request.node);
    if (!target.ok) return target;
    const api = await this.port.fetchApi();
    if (!api.ok) return api;
    if (this.closed) return failed(closedError());
    let response: FetchResponse;
    try {
      const connection = await this.pool.get({ host: target.value.host, port: target.value.port });
      // Fetch v12 and earlier name topics; v13+ identify them by id.
      const topicRef = api.value.version <= 12 ? request.topic : target.value.topicId;
      response = await api.value.async(
        connection,
        request.maxWaitMs,
        1,
        request.maxBytes,
        ISOLATION[request.isolation],
        0,
        -1,
        [
          {
            topicId: topicRef,
            partitions: request.partitions.map((p) => ({
              partition: p.partition,
              currentLeaderEpoch: p.leaderEpoch,
              fetchOffset: p.offset,
              lastFetchedEpoch: -1,
              partitionMaxBytes: request.partitionMaxBytes,
            })),
          },
        ],
        [],
        '',
      );
    } catch (error) {
      // A response with partition errors still carries the healthy partitions' records.
      const partial = (error as { response?: FetchResponse }).response;
      if (partial?.responses === undefined) return failed(classifyError(error, request.topic));
      response = partial;
    }
    const requested = new Map(request.partitions.map((p) => [p.partition, p.offset]));
    const results: FetchedPartition[] = [];
    for (const topic of response.responses) {
      for (const partition of topic.partitions) {
        const offset = requested.get(partition.partitionIndex);
        if (offset === undefined) continue;
        results.push(fetchedPartition(partition, offset, request.isolation, request.topic));
      }
    }
    return ok(results);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    await this.pool.close().catch(() => undefined);
  }
}

// --- records ---

function bytes(value: Uint8Array): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

function toMessage(topic: string, record: ProduceRecord): MessageToProduce {
  // Buffer keys are compared by identity in a Map, so repeated header names stay separate.
  const headers = new Map<Buffer, Buffer>();
  for (const header of record.headers) {
    headers.set(
      Buffer.from(header.name, 'utf8'),
      (header.value === null ? null : bytes(header.value)) as Buffer,
    );
  }
  const message: MessageToProduce = { topic, partition: record.partition, headers };
  if (record.key !== null) message.key = bytes(record.key);
  // Without a value the library writes a null one: a tombstone.
  if (record.value !== null) message.value = bytes(record.value);
  if (record.timestamp !== undefined) message.timestamp = BigInt(record.timestamp);
  return message;
}

/**
 * Splits records (indexes into `records`, every one with a timestamp) into rounds such that, in
 * each round, the records of a partition are within 2³¹ ms of that partition's first record.
 *
 * A record's timestamp travels as a varint delta from its batch's first timestamp, and
 * `@platformatic/dynamic-buffer` 0.3.1 encodes 64-bit varints wrongly beyond 32 bits (its
 * zigzag shifts by 31 instead of 63): a record 25 days older or newer than the first of its
 * batch would be stored with a wrong timestamp. Keeping deltas small avoids that. Nearly always
 * there is a single round.
 */
function timestampRounds(records: readonly ProduceRecord[]): number[][] {
  const LIMIT = 2 ** 31 - 1;
  const rounds: number[][] = [];
  const current = new Map<number, { round: number; first: number }>();
  records.forEach((record, index) => {
    const timestamp = record.timestamp!;
    let slot = current.get(record.partition);
    if (slot === undefined) slot = { round: 0, first: timestamp };
    else if (Math.abs(timestamp - slot.first) > LIMIT) slot = { round: slot.round + 1, first: timestamp };
    current.set(record.partition, slot);
    (rounds[slot.round] ??= []).push(index);
  });
  return rounds;
}

/** Base offset per partition, from the successful part of a (possibly failed) produce. */
function baseOffsets(
  topic: string,
  offsets: readonly TopicWithPartitionAndOffset[],
  responses: readonly ProduceResponseView[],
): Map<number, bigint | PortError> {
  const found = new Map<number, bigint | PortError>();
  for (const entry of offsets) if (entry.topic === topic) found.set(entry.partition, entry.offset);
  for (const response of responses) {
    for (const topicResponse of response.responses ?? []) {
      if (topicResponse.name !== topic) continue;
      for (const partition of topicResponse.partitionResponses ?? []) {
        const known = found.get(partition.index);
        if (typeof known === 'bigint') continue;
        if (partition.errorCode === 0) found.set(partition.index, partition.baseOffset);
        else if (known === undefined) found.set(partition.index, protocolError(partition.errorCode, topic));
      }
    }
  }
  return found;
}

function answer(
  records: readonly ProduceRecord[],
  partitions: ReadonlyMap<number, bigint | PortError>,
  overall: PortError | undefined,
): ProduceOutcome[] {
  const index = new Map<number, number>();
  return records.map((record) => {
    const state = partitions.get(record.partition);
    if (typeof state === 'bigint') {
      const position = index.get(record.partition) ?? 0;
      index.set(record.partition, position + 1);
      return { ok: true, partition: record.partition, offset: state + BigInt(position) };
    }
    return { ok: false, error: state ?? overall ?? internal('no acknowledgement for the partition') };
  });
}

interface ProduceResponseView {
  responses?: {
    name: string;
    partitionResponses?: { index: number; errorCode: number; baseOffset: bigint }[];
  }[];
}

/** The responses carried by the ResponseErrors anywhere in an error tree. */
function responseErrors(error: unknown): ProduceResponseView[] {
  const found: ProduceResponseView[] = [];
  for (const node of errorNodes(error)) {
    const response = (node as { response?: ProduceResponseView }).response;
    if (node.code === 'PLT_KFK_RESPONSE' && response?.responses) found.push(response);
  }
  return found;
}

function fetchedPartition(
  partition: FetchResponsePartition,
  fetchOffset: bigint,
  isolation: KafkaIsolation,
  topic: string,
): FetchedPartition {
  const base = {
    partition: partition.partitionIndex,
    highWatermark: partition.highWatermark,
    lastStableOffset: partition.lastStableOffset,
    logStartOffset: partition.logStartOffset,
  };
  if (partition.errorCode !== 0) {
    return {
      ...base,
      error: protocolError(partition.errorCode, topic),
      records: [],
      nextOffset: fetchOffset,
    };
  }
  const aborted =
    isolation === 'read_committed' ? new AbortedTransactions(partition.abortedTransactions) : undefined;
  const records: FetchedRecord[] = [];
  let nextOffset = fetchOffset;
  for (const batch of partition.records ?? []) {
    const lastOffset = batch.firstOffset + BigInt(batch.lastOffsetDelta);
    const control = (batch.attributes & CONTROL) !== 0;
    const view = {
      lastOffset,
      producerId: batch.producerId,
      transactional: (batch.attributes & TRANSACTIONAL) !== 0,
      control,
      // Control record key: version (int16), type (int16); type 0 is ABORT.
      abortMarker: control && (batch.records[0]?.key?.readInt16BE(2) ?? -1) === 0,
    };
    const skip = (aborted?.skip(view) ?? false) || control;
    if (lastOffset + 1n > nextOffset) nextOffset = lastOffset + 1n;
    if (skip) continue;
    const appendTime = (batch.attributes & LOG_APPEND_TIME) !== 0;
    for (const record of batch.records) {
      const offset = batch.firstOffset + BigInt(record.offsetDelta);
      // A batch starts before the requested offset when the offset falls inside it.
      if (offset < fetchOffset) continue;
      const headers: KafkaHeader[] = record.headers.map(([name, value]: [Buffer | null, Buffer | null]) => ({
        name: name === null ? '' : name.toString('utf8'),
        value,
      }));
      records.push({
        offset,
        timestamp: Number(appendTime ? batch.maxTimestamp : batch.firstTimestamp + record.timestampDelta),
        key: record.key,
        value: record.value,
        headers,
      });
    }
  }
  return { ...base, records, nextOffset };
}

// --- connection options ---

function connectionOptions(
  options: ResolvedClientOptions,
  tls: TlsMaterial | undefined,
  tokens: TokenSource | undefined,
): ConnectionOptions {
  const connection: ConnectionOptions = {
    connectTimeout: options.connectTimeoutMs,
    requestTimeout: options.requestTimeoutMs,
  };
  if (options.sasl !== undefined) {
    const sasl: SASLOptions = { mechanism: SASL_MECHANISMS[options.sasl.mechanism] };
    if (options.sasl.username !== undefined) sasl.username = options.sasl.username;
    if (options.sasl.password !== undefined) sasl.password = options.sasl.password;
    if (options.sasl.token !== undefined) sasl.token = options.sasl.token;
    // The library calls a token function on every connection and on every re-authentication
    // (KIP-368, at 80 % of the session lifetime the broker grants), so a fresh token reaches
    // connections that live longer than one token.
    if (tokens !== undefined) sasl.token = () => tokens.token();
    connection.sasl = sasl;
  }
  if (tls !== undefined) {
    // Verification stays on: there is deliberately no option to turn it off.
    connection.tls = {
      rejectUnauthorized: true,
      ...(tls.ca === undefined ? {} : { ca: tls.ca }),
      ...(tls.cert === undefined ? {} : { cert: tls.cert }),
      ...(tls.key === undefined ? {} : { key: tls.key }),
    };
    if (tls.servername !== undefined) connection.tlsServerName = tls.servername;
    // SNI with the broker's host name, unless the brokers are addressed by IP (RFC 6066 §3).
    else if (options.servers.every((server) => isIP(hostOf(server)) === 0)) connection.tlsServerName = true;
  }
  return connection;
}

function hostOf(server: string): string {
  const at = server.lastIndexOf(':');
  const host = at < 0 ? server : server.slice(0, at);
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

/**
 * Connections emit `error` events that the library listens to only once per connection; a
 * second one (a socket error after a failed handshake) would be an unhandled `error` event and
 * end the process. Every connection of the pool gets a listener of its own.
 */
function guardPool(pool: ConnectionPool): ConnectionPool {
  pool.on('connecting', ({ connection }) => {
    connection.on('error', () => undefined);
  });
  return pool;
}

function guard<T extends Base>(client: T): T {
  guardPool(client.connections);
  return client;
}

// --- errors ---

interface ErrorNode {
  readonly code?: unknown;
  readonly message?: unknown;
  readonly apiId?: unknown;
  readonly name?: unknown;
  readonly canRetry?: unknown;
  readonly errors?: unknown;
  readonly cause?: unknown;
}

/** Every error in a library error tree (`errors` of aggregates, `cause` chains), depth first. */
function errorNodes(error: unknown): ErrorNode[] {
  const nodes: ErrorNode[] = [];
  const seen = new Set<unknown>();
  const visit = (value: unknown, depth: number) => {
    if (typeof value !== 'object' || value === null || seen.has(value) || depth > 20) return;
    seen.add(value);
    const node = value as ErrorNode;
    nodes.push(node);
    if (Array.isArray(node.errors)) for (const child of node.errors as unknown[]) visit(child, depth + 1);
    visit(node.cause, depth + 1);
  };
  visit(error, 0);
  return nodes;
}

const AUTHENTICATION_APIS = new Set([
  'SASL_AUTHENTICATION_FAILED',
  'ILLEGAL_SASL_STATE',
  'UNSUPPORTED_SASL_MECHANISM',
  'DELEGATION_TOKEN_AUTH_DISABLED',
]);
const AUTHORIZATION_APIS = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'DELEGATION_TOKEN_AUTHORIZATION_FAILED',
]);
const UNKNOWN_TOPIC_APIS = new Set([
  'UNKNOWN_TOPIC_OR_PARTITION',
  'UNKNOWN_TOPIC_ID',
  'INCONSISTENT_TOPIC_ID',
]);
const INVALID_RECORD_APIS = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
  'INVALID_TIMESTAMP',
  'UNSUPPORTED_COMPRESSION_TYPE',
  'UNSUPPORTED_FOR_MESSAGE_FORMAT',
]);
/** The member's generation ended: its commits no longer count (Kafka protocol: OffsetCommit). */
const REBALANCE_APIS = new Set([
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'REBALANCE_IN_PROGRESS',
  'FENCED_INSTANCE_ID',
  'STALE_MEMBER_EPOCH',
  'FENCED_MEMBER_EPOCH',
]);
const LEADERSHIP_APIS = new Set([
  'NOT_LEADER_OR_FOLLOWER',
  'LEADER_NOT_AVAILABLE',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
  'REPLICA_NOT_AVAILABLE',
  'KAFKA_STORAGE_ERROR',
  'NOT_CONTROLLER',
  'OFFSET_NOT_AVAILABLE',
]);
const UNAVAILABLE_APIS = new Set([
  'NOT_ENOUGH_REPLICAS',
  'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
  'COORDINATOR_NOT_AVAILABLE',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'NETWORK_EXCEPTION',
  'THROTTLING_QUOTA_EXCEEDED',
]);
/** Node's TLS errors when the broker's certificate cannot be verified. */
const TLS_CODES =
  /^(SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|CERT_UNTRUSTED|CERT_REVOKED|ERR_TLS_CERT_ALTNAME_INVALID|ERR_SSL_.*|ERR_OSSL_.*)$/;
const NETWORK_CODES =
  /^(ECONNREFUSED|ECONNRESET|ECONNABORTED|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|EHOSTDOWN|ENETDOWN)$/;

function make(
  reason: PortErrorReason,
  message: string,
  extra: Partial<Pick<PortError, 'cause' | 'retriable' | 'staleMetadata' | 'unsupportedVersion'>> = {},
): PortError {
  const error: {
    reason: PortErrorReason;
    message: string;
    retriable: boolean;
    staleMetadata: boolean;
    unsupportedVersion: boolean;
    cause?: string;
  } = {
    reason,
    message,
    retriable: extra.retriable ?? (reason === 'unavailable' || reason === 'timeout'),
    staleMetadata: extra.staleMetadata ?? false,
    unsupportedVersion: extra.unsupportedVersion ?? false,
  };
  if (extra.cause !== undefined) error.cause = extra.cause;
  return error;
}

function closedError(): PortError {
  return make('unavailable', 'the Kafka client is closed', { retriable: false, cause: 'CLIENT_CLOSED' });
}

function unknownTopic(topic: string): PortError {
  return make('unknown-topic', `topic "${topic}" does not exist`, { cause: 'UNKNOWN_TOPIC_OR_PARTITION' });
}

function internal(message: string): PortError {
  return make('internal', message);
}

function protocolError(errorCode: number, topic: string): PortError {
  return classifyApi(protocolErrorsCodesById[errorCode] ?? `KAFKA_ERROR_${errorCode}`, topic, undefined);
}

function classifyApi(apiId: string, topic: string | undefined, serverMessage: string | undefined): PortError {
  const detail = serverMessage ? `${apiId}: ${serverMessage}` : apiId;
  if (AUTHENTICATION_APIS.has(apiId)) return make('authentication', detail, { cause: apiId });
  if (AUTHORIZATION_APIS.has(apiId)) return make('authorization', detail, { cause: apiId });
  if (UNKNOWN_TOPIC_APIS.has(apiId)) {
    const what =
      topic === undefined
        ? 'the topic or partition does not exist'
        : `topic "${topic}" or its partition does not exist`;
    return make('unknown-topic', `${what} (${apiId})`, {
      cause: apiId,
      retriable: true,
      staleMetadata: true,
    });
  }
  if (INVALID_RECORD_APIS.has(apiId)) return make('invalid-record', detail, { cause: apiId });
  if (REBALANCE_APIS.has(apiId)) return make('rebalanced', detail, { cause: apiId });
  if (LEADERSHIP_APIS.has(apiId)) return make('unavailable', detail, { cause: apiId, staleMetadata: true });
  if (UNAVAILABLE_APIS.has(apiId)) return make('unavailable', detail, { cause: apiId });
  if (apiId === 'REQUEST_TIMED_OUT') return make('timeout', detail, { cause: apiId });
  if (apiId === 'UNSUPPORTED_VERSION')
    return make('internal', detail, { cause: apiId, unsupportedVersion: true });
  if (apiId === 'OFFSET_OUT_OF_RANGE') return make('internal', detail, { cause: apiId, retriable: true });
  return make('internal', detail, { cause: apiId });
}

/**
 * Classifies any error the library reports. The most telling error in the tree wins:
 * authentication and TLS verification, then authorization, unknown topics, unsupported
 * versions, invalid records, Kafka protocol errors, timeouts, and finally network failures.
 */
export function classifyError(error: unknown, topic?: string): PortError {
  const nodes = errorNodes(error);
  const codeOf = (node: ErrorNode) => (typeof node.code === 'string' ? node.code : undefined);
  const messageOf = (node: ErrorNode) => (typeof node.message === 'string' ? node.message : 'unknown error');
  const apis = nodes.filter((node) => typeof node.apiId === 'string');
  const apiOf = (node: ErrorNode) => node.apiId as string;

  // No OAUTHBEARER token could be obtained (client/oauth.ts): say why, not only that SASL failed.
  const tokenError = nodes.find((node) => codeOf(node) === 'TRIB_KAFKA_OAUTH_TOKEN');
  if (tokenError !== undefined)
    return make('authentication', messageOf(tokenError), { cause: 'OAUTH_TOKEN' });
  const authApi = apis.find((node) => AUTHENTICATION_APIS.has(apiOf(node)));
  const authError = nodes.find((node) => codeOf(node) === 'PLT_KFK_AUTHENTICATION');
  if (authApi !== undefined || authError !== undefined) {
    const cause = authApi === undefined ? 'SASL_AUTHENTICATION_FAILED' : apiOf(authApi);
    const server = (authApi as { serverErrorMessage?: unknown } | undefined)?.serverErrorMessage;
    return make(
      'authentication',
      typeof server === 'string' && server !== '' ? server : 'SASL authentication failed',
      {
        cause,
      },
    );
  }
  const tlsNode = nodes.find((node) => TLS_CODES.test(codeOf(node) ?? ''));
  if (tlsNode !== undefined) {
    return make('authentication', `TLS: ${messageOf(tlsNode)}`, { cause: codeOf(tlsNode) ?? 'TLS' });
  }
  if (nodes.some((node) => codeOf(node) === 'PLT_KFK_USER' && /requires TLS/i.test(messageOf(node)))) {
    return make('authentication', 'the broker requires TLS, but the binding has no `tls` options', {
      cause: 'TLS_REQUIRED',
    });
  }
  for (const node of apis) {
    const apiId = apiOf(node);
    if (AUTHORIZATION_APIS.has(apiId)) {
      const server = (node as { serverErrorMessage?: unknown }).serverErrorMessage;
      return classifyApi(apiId, topic, typeof server === 'string' ? server : undefined);
    }
  }
  const unknown = nodes.find(
    (node) => codeOf(node) === 'PLT_KFK_USER' && /^Unknown topic /.test(messageOf(node)),
  );
  if (unknown !== undefined) {
    const name = /^Unknown topic (.*)\.$/.exec(messageOf(unknown))?.[1] ?? topic ?? 'unknown';
    return unknownTopic(name);
  }
  const unsupported = nodes.find((node) => codeOf(node) === 'PLT_KFK_UNSUPPORTED_API');
  if (unsupported !== undefined) {
    return make(
      'internal',
      `the broker does not support a request the client needs: ${messageOf(unsupported)}`,
      {
        cause: 'UNSUPPORTED_VERSION',
        unsupportedVersion: true,
      },
    );
  }
  // The last protocol error is the one of the last attempt.
  const lastApi = apis.at(-1);
  if (lastApi !== undefined) {
    const server = (lastApi as { serverErrorMessage?: unknown }).serverErrorMessage;
    return classifyApi(
      apiOf(lastApi),
      topic,
      typeof server === 'string' && server !== '' ? server : undefined,
    );
  }
  const timeout = nodes.find((node) => node.name === 'TimeoutError' || /timed out/i.test(messageOf(node)));
  if (timeout !== undefined) {
    // A connection attempt that timed out means Kafka could not be reached; a request that
    // timed out on an open connection means it did not answer in time.
    return /^Request timed out/.test(messageOf(timeout))
      ? make('timeout', 'Kafka did not answer in time', { cause: 'REQUEST_TIMED_OUT' })
      : make('unavailable', messageOf(timeout), { cause: 'CONNECT_TIMEOUT' });
  }
  const network = nodes.find((node) => NETWORK_CODES.test(codeOf(node) ?? ''));
  if (network !== undefined) {
    const deepest = [...nodes].reverse().find((node) => typeof node.message === 'string');
    return make('unavailable', deepest === undefined ? 'cannot reach Kafka' : messageOf(deepest), {
      cause: codeOf(network) ?? 'NETWORK',
    });
  }
  if (nodes.some((node) => codeOf(node) === 'PLT_KFK_NETWORK')) {
    const closed = nodes.some((node) => (node as { closed?: unknown }).closed === true);
    const deepest = [...nodes].reverse().find((node) => codeOf(node) === 'PLT_KFK_NETWORK');
    return make('unavailable', deepest === undefined ? 'cannot reach Kafka' : messageOf(deepest), {
      cause: closed ? 'CLIENT_CLOSED' : 'NETWORK',
      retriable: !closed,
    });
  }
  const first = nodes[0];
  return internal(first === undefined ? String(error) : messageOf(first));
}
