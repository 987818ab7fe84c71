/**
 * The Kafka client port: the only view of Kafka the `kafka` binding has.
 *
 * It is deliberately narrow — exactly the requests the client kind makes — and free of any
 * client-library type, so that the streams can be read (and tested) without knowing the
 * library, and replacing the library means reimplementing this interface only
 * (docs/adr/0002-kafka-client.md). `platformatic.ts` implements it over `@platformatic/kafka`.
 *
 * **Failure is a value.** No method rejects or throws: every outcome is a {@link PortResult}
 * whose error is already classified into the reasons mappings switch on ({@link PortError}).
 * Messages never contain credentials, option values or record payloads.
 *
 * @module
 */
import type { KafkaAcks, KafkaErrorEx, KafkaHeader, KafkaIsolation } from '../index.ts';

/** Why a request failed: the {@link KafkaErrorEx} reasons the port can produce. */
export type PortErrorReason = Exclude<KafkaErrorEx['reason'], 'invalid-token'>;

export interface PortError {
  readonly reason: PortErrorReason;
  /** One line for logs and for the `message` of the error extension; never secrets. */
  readonly message: string;
  /**
   * The Kafka protocol error name (`NOT_LEADER_OR_FOLLOWER`, `MESSAGE_TOO_LARGE`…) or the
   * network error code (`ECONNREFUSED`, `SELF_SIGNED_CERT_IN_CHAIN`…) behind the failure, when
   * there is one.
   */
  readonly cause?: string;
  /** Trying again may succeed (a broker restarting, a leader moving). */
  readonly retriable: boolean;
  /** The client's view of partitions and leaders is out of date: refresh metadata, then retry. */
  readonly staleMetadata: boolean;
  /** The broker does not speak a protocol version the client needs. */
  readonly unsupportedVersion: boolean;
}

export type PortResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: PortError };

/** One record to produce. The partition is always chosen by the caller. */
export interface ProduceRecord {
  readonly partition: number;
  readonly key: Uint8Array | null;
  /** Null writes a tombstone. */
  readonly value: Uint8Array | null;
  /** Repeated names are kept, in order. */
  readonly headers: readonly KafkaHeader[];
  /** Epoch ms; the broker's clock when omitted. */
  readonly timestamp?: number;
}

/**
 * What Kafka said about one produced record. With `acks: none` the offset is unknown (`-1n`)
 * and `ok` only means that the request was written to the socket.
 */
export type ProduceOutcome =
  | { readonly ok: true; readonly partition: number; readonly offset: bigint }
  | { readonly ok: false; readonly error: PortError };

export interface PartitionMetadata {
  readonly partition: number;
  /** Broker id of the leader; -1 while the partition has none. */
  readonly leader: number;
  readonly leaderEpoch: number;
}

export interface TopicMetadata {
  readonly topic: string;
  /** Sorted by partition; index = partition. */
  readonly partitions: readonly PartitionMetadata[];
}

/** Which end of a partition {@link KafkaPort.listOffsets} reports. */
export type OffsetSpec = 'earliest' | 'latest';

export interface FetchPartitionRequest {
  readonly partition: number;
  /** The next offset to read. */
  readonly offset: bigint;
  /** The leader epoch the caller believes current (-1 when unknown). */
  readonly leaderEpoch: number;
}

export interface FetchRequest {
  readonly topic: string;
  /** The broker to ask: the leader of every listed partition. */
  readonly node: number;
  readonly partitions: readonly FetchPartitionRequest[];
  readonly isolation: KafkaIsolation;
  /** How long the broker may wait for data (Kafka protocol: Fetch `max_wait_ms`). */
  readonly maxWaitMs: number;
  readonly maxBytes: number;
  readonly partitionMaxBytes: number;
}

/** One record as the binding delivers it. */
export interface FetchedRecord {
  readonly offset: bigint;
  /** Epoch ms. */
  readonly timestamp: number;
  readonly key: Uint8Array | null;
  /** Null for a tombstone. */
  readonly value: Uint8Array | null;
  readonly headers: readonly KafkaHeader[];
}

export interface FetchedPartition {
  readonly partition: number;
  /** Set when the broker refused this partition; `records` is then empty. */
  readonly error?: PortError;
  /**
   * Records at or after the requested offset, in offset order. Control records and, under
   * `read_committed`, records of aborted transactions are already removed.
   */
  readonly records: readonly FetchedRecord[];
  /**
   * Where the next fetch of this partition starts: after the last record batch returned
   * (gaps left by compaction, transaction markers and aborted records included), or the
   * requested offset when nothing came back.
   */
  readonly nextOffset: bigint;
  readonly highWatermark: bigint;
  readonly lastStableOffset: bigint;
  readonly logStartOffset: bigint;
}

/**
 * A fetch session of one stream: its own connections, so that one stream's long poll never
 * holds back another stream's fetch or any produce (a broker answers the requests of one
 * connection in order).
 */
export interface KafkaFetcher {
  fetch(request: FetchRequest): Promise<PortResult<readonly FetchedPartition[]>>;
  /** Closes the fetcher's connections; a pending fetch resolves with an error. */
  close(): Promise<void>;
}

/** What a {@link KafkaGroupMember} reports while it is in its group. */
export interface GroupMemberEvents {
  /**
   * The group assigned this member these partitions of the topic (sorted; possibly none): on
   * joining and after every rebalance. Partitions not listed must no longer be read.
   */
  assigned(partitions: readonly number[]): void;
  /**
   * The outcome of a request the member made in the background (a heartbeat, a rejoin), so
   * that connection trouble on the group's traffic is noticed like any other request's.
   * Losing the membership is not a failure here: the member rejoins by itself and reports the
   * new assignment through {@link assigned}.
   */
  background(outcome: PortResult<void>): void;
  /** The membership was lost for good (rejoining failed); the member is unusable. */
  failed(error: PortError): void;
}

/**
 * One member of a consumer group, subscribed to one topic (Kafka classic group protocol). The
 * member only manages the membership and the group's offsets; records are read with a
 * {@link KafkaFetcher}. Heartbeats and rejoins after a rebalance happen in the background.
 */
export interface KafkaGroupMember {
  /** Joins the group; the first assignment is reported through {@link GroupMemberEvents}. */
  join(): Promise<PortResult<void>>;
  /** The group's committed offsets (next offset to read) of the listed partitions that have one. */
  committed(partitions: readonly number[]): Promise<PortResult<ReadonlyMap<number, bigint>>>;
  /**
   * Commits offsets (next offset to read) to the group, as this member in its current
   * generation. Never rejoins to make a commit succeed: a commit Kafka refuses because the
   * generation ended (or the member is rejoining) fails with reason `rebalanced`.
   */
  commit(
    offsets: readonly { readonly partition: number; readonly offset: bigint }[],
  ): Promise<PortResult<void>>;
  /** Leaves the group (the others rebalance) and closes the member's connections. Never rejects. */
  leave(): Promise<void>;
}

export interface KafkaPort {
  /**
   * Writes records to `topic` with the given acks and answers each one, in input order.
   * Records of one partition are written in input order, in one batch. Never rejects.
   */
  produce(
    topic: string,
    records: readonly ProduceRecord[],
    acks: KafkaAcks,
  ): Promise<readonly ProduceOutcome[]>;
  /** Partitions and leaders of `topic`; `refresh` bypasses the client's metadata cache. */
  metadata(topic: string, refresh?: boolean): Promise<PortResult<TopicMetadata>>;
  /** The topic's configuration (DescribeConfigs): the named entries, or all when omitted. */
  describeConfigs(
    topic: string,
    names?: readonly string[],
  ): Promise<PortResult<Readonly<Record<string, string | null>>>>;
  /**
   * The earliest offset, or the latest (the high watermark; the last stable offset under
   * `read_committed`), of each listed partition.
   */
  listOffsets(
    topic: string,
    partitions: readonly number[],
    spec: OffsetSpec,
    isolation: KafkaIsolation,
  ): Promise<PortResult<ReadonlyMap<number, bigint>>>;
  /** A new fetch session (see {@link KafkaFetcher}). Connects lazily. */
  fetcher(): KafkaFetcher;
  /**
   * A new member of consumer group `groupId` for `topic` (see {@link KafkaGroupMember}); nothing
   * happens until it joins. Optional: a port without it serves no `group` streams.
   */
  groupMember?(topic: string, groupId: string, events: GroupMemberEvents): KafkaGroupMember;
  /** A cheap round trip to the cluster (metadata without topics), to check it can be reached. */
  probe(): Promise<PortResult<void>>;
  /** Closes every connection. Pending requests resolve with errors. */
  close(): Promise<void>;
}
