/**
 * `@tributary/binding-kafka`: the types other plugins use to talk to `kafka` bindings.
 *
 * Mappings (`http-kafka`, `sse-kafka`, `mqtt-kafka`, `grpc-kafka`…) open streams towards a
 * `kafka` cache or client binding with a {@link KafkaBeginEx} on the initial half. What flows
 * afterwards depends on the capability:
 *
 * - **produce**: the opener sends one data frame per record, each with a
 *   {@link KafkaProduceDataEx} (key, headers, optional partition; the payload is the value, or a
 *   tombstone). Messages may arrive in fragments; the binding joins them. Every record is
 *   answered on the reply half by a flush carrying {@link KafkaAckEx} — `ack` once Kafka has
 *   acknowledged it at the requested `acks` level, `nack` when it was not written.
 * - **fetch**: the reply half carries one data frame per record with a {@link KafkaRecordDataEx}
 *   (the payload is the value), within the credit the opener grants. A flush with
 *   {@link KafkaCaughtUpEx} marks the moment the stream has delivered everything that was in
 *   the topic when it started (historical → live).
 * - **group**: the stream is one member of a Kafka consumer group. Every time the group assigns
 *   it partitions (on joining and after every rebalance) the reply half carries a flush with
 *   {@link KafkaAssignmentEx}, then data frames with {@link KafkaRecordDataEx} for the records of
 *   the assigned partitions, from the group's committed offsets, within the credit the opener
 *   grants. The opener commits progress with a flush carrying {@link KafkaCommitEx} on the
 *   initial half, answered by a flush with {@link KafkaCommitAckEx} on the reply half. A commit
 *   naming a partition the member no longer holds (the group rebalanced), or refused by Kafka
 *   because the member's generation ended, is answered `ok: false` with reason `rebalanced`
 *   and changes nothing; the stream carries on with its current assignment. A member that
 *   loses its membership (its session expired, it was removed from the group or fenced)
 *   rejoins by itself and announces its fresh assignment with a new {@link KafkaAssignmentEx}
 *   (records of the partitions it keeps continue from the group's committed offsets, so
 *   delivery is at-least-once); the stream fails only when rejoining fails for good or, as a
 *   fetch stream does, when Kafka stays unreachable (reason `unavailable`) for
 *   `requestTimeoutMs`. Mappings thus keep a long-lived session (an MQTT persistent session,
 *   a gRPC stream) open across rebalances. Ending or aborting the stream leaves the group, so
 *   that the other members take its partitions over.
 * - **meta** / **describe**: the reply begin carries the topic's partitions or configuration.
 *
 * Failures arrive as `reset` / `abort` with a {@link KafkaErrorEx}, which mappings translate into
 * their protocol's status (HTTP 503, gRPC UNAVAILABLE, an MQTT reason code).
 *
 * @module
 */
import type { Extension } from '@tributary/kernel';

export type {
  KafkaClientOptions,
  KafkaCompression,
  KafkaFetchOptions,
  KafkaProduceOptions,
  KafkaSaslMechanism,
  KafkaSaslOptions,
  KafkaTlsOptions,
  KafkaTlsSource,
} from './config/options.ts';

/** One Kafka record header. Names may repeat; order is kept. */
export interface KafkaHeader {
  readonly name: string;
  readonly value: Uint8Array | null;
}

/** `none` = fire and forget (acks=0), `leader` (acks=1), `all` (acks=-1, the default). */
export type KafkaAcks = 'none' | 'leader' | 'all';

export type KafkaIsolation = 'read_uncommitted' | 'read_committed';

/**
 * One condition on a record. Within a filter all conditions must hold; across the filters of a
 * fetch, any filter may match.
 */
export type KafkaCondition =
  /** The record key equals these bytes (or is null). */
  | { readonly key: Uint8Array | null }
  /** Some header `name` has exactly this value. */
  | { readonly header: { readonly name: string; readonly value: Uint8Array } }
  /**
   * The values of the repeated header `name`, in order, match this sequence: a value matches
   * one header, `skip: 'one'` any single header, `skip: 'many'` any number (including none).
   * An MQTT topic filter `a/+/c/#` becomes `[a, {skip:'one'}, c, {skip:'many'}]`.
   */
  | {
      readonly headers: {
        readonly name: string;
        readonly sequence: readonly ({ readonly value: Uint8Array } | { readonly skip: 'one' | 'many' })[];
      };
    }
  | { readonly not: KafkaCondition };

export interface KafkaFilter {
  readonly conditions: readonly KafkaCondition[];
}

interface KafkaBeginBase extends Extension {
  readonly type: 'kafka';
  readonly topic: string;
}

export interface KafkaProduceBeginEx extends KafkaBeginBase {
  readonly capability: 'produce';
  /** Default `all` (or the binding's configured default). */
  readonly acks?: KafkaAcks;
  /**
   * How long to wait for the acknowledgement of each record before a `nack` (ms). At most the
   * binding's own produce timeout, which applies when omitted.
   */
  readonly timeoutMs?: number;
}

export interface KafkaFetchBeginEx extends KafkaBeginBase {
  readonly capability: 'fetch';
  /**
   * Where to start: `historical` (everything retained; on a compacted topic the cache first
   * delivers the latest value per key), `live` (only what arrives from now on). Default: the
   * topic's `defaultOffset` setting in the binding options, else `historical` for compacted
   * topics and `live` otherwise.
   */
  readonly start?: 'historical' | 'live';
  /**
   * Continue exactly after a progress token from an earlier record (overrides `start` and the
   * offsets of `partitions`). Partitions the token does not name start at their earliest offset.
   */
  readonly token?: string;
  /** Explicit start offsets (the next offset to read) per partition; others are not fetched. */
  readonly partitions?: readonly { readonly partition: number; readonly offset: bigint }[];
  readonly filters?: readonly KafkaFilter[];
  /** Default `read_uncommitted`. */
  readonly isolation?: KafkaIsolation;
  /**
   * Deliver tombstones of the historical snapshot too (live tombstones are always delivered).
   * A client binding has no snapshot: it delivers every record, tombstones included.
   */
  readonly tombstones?: boolean;
}

export interface KafkaGroupBeginEx extends KafkaBeginBase {
  readonly capability: 'group';
  /** The consumer group to join (Kafka `group.id`). */
  readonly groupId: string;
  /**
   * Where assigned partitions without a committed offset begin: `historical` (the earliest
   * retained record) or `live` (what arrives from the assignment on). Default `live`.
   */
  readonly start?: 'historical' | 'live';
  /** Default `read_uncommitted`. */
  readonly isolation?: KafkaIsolation;
  /** Records no filter matches are not delivered (their offsets still count as read). */
  readonly filters?: readonly KafkaFilter[];
}

export interface KafkaMetaBeginEx extends KafkaBeginBase {
  readonly capability: 'meta';
}

export interface KafkaDescribeBeginEx extends KafkaBeginBase {
  readonly capability: 'describe';
  /** Config names to return; all when omitted. */
  readonly configs?: readonly string[];
}

export type KafkaBeginEx =
  KafkaProduceBeginEx | KafkaFetchBeginEx | KafkaMetaBeginEx | KafkaDescribeBeginEx | KafkaGroupBeginEx;

/**
 * Every begin the `client` kind serves (all of {@link KafkaBeginEx}; a cache passes `group`
 * streams through to its client).
 */
export type KafkaClientBeginEx = KafkaBeginEx;

/** Per record, on the produce stream's data frames. The payload is the value. */
export interface KafkaProduceDataEx extends Extension {
  readonly type: 'kafka';
  readonly kind: 'produce';
  readonly key: Uint8Array | null;
  readonly headers: readonly KafkaHeader[];
  /** Explicit partition; otherwise murmur2(key) like the Java client, round-robin for null keys. */
  readonly partition?: number;
  /**
   * Epoch ms. When omitted, the time the gateway sends the record (or the broker's, on topics
   * with `message.timestamp.type=LogAppendTime`).
   */
  readonly timestamp?: number;
  /** A null value (tombstone); the payload must then be empty. */
  readonly tombstone?: boolean;
  /** Echoed in this record's ack/nack so the producer can match them. */
  readonly correlation?: string;
}

/**
 * Answer to one produced record, as a flush on the produce stream's reply half. Answers come in
 * record order, one per record.
 */
export type KafkaAckEx =
  | {
      readonly type: 'kafka';
      readonly kind: 'ack';
      readonly correlation: string | undefined;
      readonly partition: number;
      /** The record's offset; -1 with `acks: none`, where Kafka does not say. */
      readonly offset: bigint;
    }
  | {
      readonly type: 'kafka';
      readonly kind: 'nack';
      readonly correlation: string | undefined;
      readonly error: KafkaErrorEx;
    };

/**
 * Per record, on the reply data frames of fetch and group streams. The payload is the value.
 */
export interface KafkaRecordDataEx extends Extension {
  readonly type: 'kafka';
  readonly kind: 'record';
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  /** Epoch ms. */
  readonly timestamp: number;
  readonly key: Uint8Array | null;
  readonly headers: readonly KafkaHeader[];
  /** The value is null (a tombstone); the payload is empty. */
  readonly tombstone: boolean;
  /** Progress token positioned just after this record: present it to resume. */
  readonly token: string;
}

/** Flush on a fetch stream's reply: everything present at the start has been delivered. */
export interface KafkaCaughtUpEx extends Extension {
  readonly type: 'kafka';
  readonly kind: 'caught-up';
  /** Progress token at this point (all partitions). */
  readonly token: string;
}

/**
 * Flush on a group stream's reply: the partitions the group now assigns to this member (sorted;
 * possibly none). Sent on joining and after every rebalance; records of partitions no longer
 * listed stop, records of the listed ones follow from the group's committed offsets.
 */
export interface KafkaAssignmentEx extends Extension {
  readonly type: 'kafka';
  readonly kind: 'assignment';
  readonly partitions: readonly number[];
}

/**
 * Flush on a group stream's initial half: commits these offsets (each the next offset to read
 * of its partition) to the group. Answered by a {@link KafkaCommitAckEx}, in order.
 */
export interface KafkaCommitEx extends Extension {
  readonly type: 'kafka';
  readonly kind: 'commit';
  readonly offsets: readonly { readonly partition: number; readonly offset: bigint }[];
}

/**
 * Flush on a group stream's reply: the answer to one {@link KafkaCommitEx}. A commit is all or
 * nothing: `ok: false` commits none of its offsets.
 */
export interface KafkaCommitAckEx extends Extension {
  readonly type: 'kafka';
  readonly kind: 'commit-ack';
  readonly ok: boolean;
  /**
   * Why the commit failed, when `ok` is false: reason `rebalanced` when it names a partition not
   * in the member's current assignment or Kafka ended the member's generation (commit the
   * offsets of the partitions of the latest {@link KafkaAssignmentEx} again); `unavailable` or
   * `timeout` when Kafka could not be asked.
   */
  readonly error?: KafkaErrorEx;
}

export interface KafkaPartitionInfo {
  readonly partition: number;
  /** Broker id of the partition's leader; -1 while it has none. */
  readonly leader: number;
}

/** Reply begin of a `meta` stream; later changes arrive as flushes with the same shape. */
export interface KafkaMetaEx extends Extension {
  readonly type: 'kafka';
  readonly kind: 'meta';
  readonly topic: string;
  readonly partitions: readonly KafkaPartitionInfo[];
}

/** Reply begin of a `describe` stream. */
export interface KafkaDescribeEx extends Extension {
  readonly type: 'kafka';
  readonly kind: 'describe';
  readonly topic: string;
  readonly configs: Readonly<Record<string, string | null>>;
}

/**
 * Why a Kafka stream failed. `reason` is what mappings switch on:
 * `unavailable` (broker unreachable or restarting → 503 / UNAVAILABLE, retry later),
 * `timeout` (no acknowledgement in time → 503), `authentication` / `authorization`
 * (the gateway's own credentials were refused → 503 with an event), `unknown-topic` (→ 404),
 * `invalid-record` (e.g. too large → 413 / 400), `invalid-token` (→ 400), `rebalanced` (a
 * group commit refused because the consumer group moved on; only on {@link KafkaCommitAckEx},
 * → 409 / the mapping re-commits after the next assignment), `internal` (also a
 * begin that is not a valid Kafka request, code `TRIB_KAFKA_INVALID_BEGIN`). `code` is the
 * `TRIB_KAFKA_*` code, the same as the stream error's.
 */
export interface KafkaErrorEx extends Extension {
  readonly type: 'kafka';
  readonly kind: 'error';
  readonly reason:
    | 'unavailable'
    | 'timeout'
    | 'authentication'
    | 'authorization'
    | 'unknown-topic'
    | 'invalid-record'
    | 'invalid-token'
    | 'rebalanced'
    | 'internal';
  readonly code: string;
  readonly message: string;
  readonly retriable: boolean;
  /** Suggested wait before retrying, when known (ms). */
  readonly retryAfterMs?: number;
}

export type KafkaExtension =
  | KafkaClientBeginEx
  | KafkaProduceDataEx
  | KafkaAckEx
  | KafkaRecordDataEx
  | KafkaCaughtUpEx
  | KafkaAssignmentEx
  | KafkaCommitEx
  | KafkaCommitAckEx
  | KafkaMetaEx
  | KafkaDescribeEx
  | KafkaErrorEx;

export { routeFilters } from './stream/route-filters.ts';
export type { RouteFilter } from './stream/route-filters.ts';

/** Narrows any extension to a Kafka one. */
export function isKafkaExtension(ext: Extension | undefined): ext is KafkaExtension {
  return ext?.type === 'kafka';
}
