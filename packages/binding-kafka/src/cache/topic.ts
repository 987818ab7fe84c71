import type {
  BindingContext,
  DataFrame,
  Extension,
  Stream,
  StreamError,
  StreamHandler,
} from '@tributary/kernel';
import { MessageAssembler } from '@tributary/kernel';
import type {
  KafkaCaughtUpEx,
  KafkaDescribeBeginEx,
  KafkaDescribeEx,
  KafkaErrorEx,
  KafkaFetchBeginEx,
  KafkaRecordDataEx,
} from '../index.ts';
import { decodeToken } from '../stream/token.ts';
import { FilterIndex } from '../stream/filter-index.ts';
import { entrySize, own, ownHeaders, PartitionLog, type Entry } from './log.ts';
import { CacheSubscriber, type SubscriberHost } from './subscriber.ts';
import { errors } from '../errors.ts';
import { closing } from './log.ts';
import type { CacheMemory } from './memory.ts';

export interface TopicSettings {
  readonly name: string;
  /** Where a subscriber without `start` or token begins; default from the topic's cleanup policy. */
  readonly defaultOffset?: 'historical' | 'live';
}

export interface TopicCacheOptions {
  readonly exit: string;
  readonly settings: TopicSettings;
  readonly memory: CacheMemory;
  readonly tokenKey: Uint8Array | undefined;
  readonly backlogLimit: number;
  /** Credit granted to the upstream fetch. */
  readonly window: number;
  readonly reconnectMs: number;
}

export interface TopicStats {
  readonly topic: string;
  readonly hydrated: boolean;
  readonly partitions: number;
  /** Bytes of records in the logs. */
  readonly bytes: number;
  readonly subscribers: number;
  /** Subscribers waiting for hydration. */
  readonly waiting: number;
  /** Subscribers in the live fan-out (the rest replay from the logs). */
  readonly live: number;
  /** Bytes held back for slow live subscribers. */
  readonly held: number;
}

/** A fetch stream that arrived before the topic was hydrated. */
interface Waiting {
  readonly app: Stream;
  readonly begin: KafkaFetchBeginEx;
  handler: StreamHandler | undefined;
}

type Upstream = 'idle' | 'describing' | 'fetching' | 'waiting' | 'stopped';

const isDescribe = (ext: Extension | undefined): ext is KafkaDescribeEx =>
  ext?.type === 'kafka' && (ext as KafkaDescribeEx).kind === 'describe';
const isError = (ext: Extension | undefined): ext is KafkaErrorEx =>
  ext?.type === 'kafka' && (ext as KafkaErrorEx).kind === 'error';

/**
 * Everything the cache holds for one topic: a log per partition, fed by one upstream fetch
 * stream to the Kafka client for the whole topic, and the subscribers served from it.
 *
 * The topic reads its own configuration from the broker (DescribeConfigs): on
 * `cleanup.policy=compact` the logs keep only the latest value per key and the upstream starts
 * from the earliest offset; `retention.ms` / `retention.bytes` bound what the logs keep.
 */
export class TopicCache implements SubscriberHost {
  readonly topic: string;
  readonly tokenKey: Uint8Array | undefined;
  readonly backlogLimit: number;
  private readonly ctx: BindingContext;
  private readonly options: TopicCacheOptions;
  private readonly logs = new Map<number, PartitionLog>();
  private readonly index = new FilterIndex<CacheSubscriber>();
  private readonly subscribers = new Set<CacheSubscriber>();
  private readonly waiting: Waiting[] = [];
  /** Per partition, the offset after the last record acknowledged to a producer through the cache. */
  private readonly writes = new Map<number, bigint>();
  /** Subscribers waiting for the logs to grow (see {@link CacheSubscriber.wake}). */
  private readonly awaiting = new Set<CacheSubscriber>();
  private compacted = false;
  private retentionMs = -1;
  private retentionBytes = -1;
  private state: Upstream = 'idle';
  private upstream: Stream | undefined;
  private hydrated = false;
  /** Where the first upstream fetch started: logs of a live start hold nothing before it. */
  private upstreamStart: 'historical' | 'live' = 'historical';
  private hydration: { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void };
  private timer: NodeJS.Timeout | undefined;
  private lastError: KafkaErrorEx | undefined;
  /** Records appended since start, for hydration progress. */
  appended = 0;

  constructor(ctx: BindingContext, options: TopicCacheOptions) {
    this.ctx = ctx;
    this.options = options;
    this.topic = options.settings.name;
    this.tokenKey = options.tokenKey;
    this.backlogLimit = options.backlogLimit;
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => undefined);
    this.hydration = { promise, resolve, reject };
  }

  /** Resolves once the topic has caught up with Kafka the first time. */
  get ready(): Promise<void> {
    return this.hydration.promise;
  }

  get isHydrated(): boolean {
    return this.hydrated;
  }

  get bytes(): number {
    let total = 0;
    for (const log of this.logs.values()) total += log.bytes;
    return total;
  }

  partitions(): readonly number[] {
    return [...this.logs.keys()];
  }

  log(partition: number): PartitionLog | undefined {
    return this.logs.get(partition);
  }

  allLogs(): Iterable<PartitionLog> {
    return this.logs.values();
  }

  /** Kafka acknowledged a record written through this cache (see {@link SubscriberHost.written}). */
  acknowledged(partition: number, offset: bigint): void {
    if (offset < 0n) return;
    const next = offset + 1n;
    if ((this.writes.get(partition) ?? -1n) < next) this.writes.set(partition, next);
  }

  written(partition: number): bigint | undefined {
    return this.writes.get(partition);
  }

  awaitAppend(subscriber: CacheSubscriber): void {
    this.awaiting.add(subscriber);
  }

  private wakeAwaiting(): void {
    if (this.awaiting.size === 0) return;
    const woken = [...this.awaiting];
    this.awaiting.clear();
    for (const subscriber of woken) subscriber.wake();
  }

  goLive(subscriber: CacheSubscriber): void {
    this.index.add(subscriber, subscriber.filters);
  }

  goReplay(subscriber: CacheSubscriber): void {
    this.index.remove(subscriber);
  }

  closed(subscriber: CacheSubscriber): void {
    this.awaiting.delete(subscriber);
    this.index.remove(subscriber);
    this.subscribers.delete(subscriber);
  }

  /** Diagnostics: what this topic holds and serves. */
  stats(): TopicStats {
    let live = 0;
    let held = 0;
    for (const subscriber of this.subscribers) {
      if (subscriber.live) live++;
      held += subscriber.held;
    }
    return {
      topic: this.topic,
      hydrated: this.hydrated,
      partitions: this.logs.size,
      bytes: this.bytes,
      subscribers: this.subscribers.size,
      waiting: this.waiting.length,
      live,
      held,
    };
  }

  refetch(partition: number, offset: bigint, handler: StreamHandler): Stream {
    const begin: KafkaFetchBeginEx = {
      type: 'kafka',
      capability: 'fetch',
      topic: this.topic,
      partitions: [{ partition, offset }],
      tombstones: true,
    };
    return this.ctx.open(this.options.exit, { ext: begin }, handler);
  }

  /** Starts describing and fetching the topic (idempotent). */
  start(): void {
    if (this.state !== 'idle') return;
    this.describe();
  }

  stop(): void {
    this.state = 'stopped';
    clearTimeout(this.timer);
    this.upstream?.close(closing(errors.TRIB_KAFKA_CACHE_CLOSED({ reason: 'cache stopping' })));
    this.upstream = undefined;
  }

  /**
   * Serves a fetch stream. Until the topic is hydrated the stream waits (a fetch on a topic
   * that cannot be hydrated fails with the upstream's error).
   */
  subscribe(app: Stream, begin: KafkaFetchBeginEx): StreamHandler {
    this.start();
    if (this.hydrated) return this.activate(app, begin) ?? {};
    const waiting: Waiting = { app, begin, handler: undefined };
    this.waiting.push(waiting);
    return {
      onWindow: (credit) => waiting.handler?.onWindow?.(credit),
      onAbort: (reason) => (waiting.handler ? waiting.handler.onAbort?.(reason) : this.dropWaiting(app)),
      onReset: (reason) => (waiting.handler ? waiting.handler.onReset?.(reason) : this.dropWaiting(app)),
    };
  }

  private dropWaiting(app: Stream): void {
    const i = this.waiting.findIndex((w) => w.app === app);
    if (i >= 0) this.waiting.splice(i, 1);
  }

  private activate(app: Stream, begin: KafkaFetchBeginEx): StreamHandler | undefined {
    const start = new Map<number, bigint>();
    if (begin.token !== undefined) {
      const decoded = decodeToken(begin.token, this.tokenKey);
      if (!decoded.ok) {
        const error: KafkaErrorEx = {
          type: 'kafka',
          kind: 'error',
          reason: 'invalid-token',
          code: errors.TRIB_KAFKA_INVALID_TOKEN.code,
          message: errors.TRIB_KAFKA_INVALID_TOKEN({ reason: decoded.reason }).message,
          retriable: false,
        };
        app.close({ code: error.code, message: error.message, ext: error });
        return undefined;
      }
      for (const [partition, offset] of decoded.offsets)
        if (this.logs.has(partition)) start.set(partition, offset);
      // Partitions the token does not mention are read from their beginning: nothing of them was seen.
      for (const [partition, log] of this.logs) if (!start.has(partition)) start.set(partition, log.low);
    } else if (begin.partitions) {
      for (const { partition, offset } of begin.partitions)
        if (this.logs.has(partition)) start.set(partition, offset);
    } else {
      const live =
        (begin.start ?? this.options.settings.defaultOffset ?? (this.compacted ? 'historical' : 'live')) ===
        'live';
      // Historical means the beginning of the partition: what the cache does not hold is refetched.
      for (const [partition, log] of this.logs) start.set(partition, live ? log.high : 0n);
    }
    const subscriber = new CacheSubscriber(this, app, begin, start);
    this.subscribers.add(subscriber);
    return subscriber.start();
  }

  // --- upstream ---

  private describe(): void {
    this.state = 'describing';
    const begin: KafkaDescribeBeginEx = {
      type: 'kafka',
      capability: 'describe',
      topic: this.topic,
      configs: ['cleanup.policy', 'retention.ms', 'retention.bytes'],
    };
    let described = false;
    // Once described, the stream's close (and the client's echo of it) is ours, not a failure.
    const failed = (reason: StreamError) => {
      if (!described) this.onUpstreamFailed(reason);
    };
    const stream = this.ctx.open(
      this.options.exit,
      { ext: begin },
      {
        onBegin: (ext) => {
          if (!isDescribe(ext)) return;
          described = true;
          const policy = ext.configs['cleanup.policy'] ?? 'delete';
          this.compacted = policy.split(',').includes('compact');
          this.retentionMs = Number(ext.configs['retention.ms'] ?? -1);
          this.retentionBytes = Number(ext.configs['retention.bytes'] ?? -1);
          stream.close(closing(errors.TRIB_KAFKA_CACHE_CLOSED({ reason: 'topic described' })));
          this.fetch();
        },
        onAbort: failed,
        onReset: failed,
      },
    );
    stream.in.window(1);
  }

  private fetch(): void {
    if (this.state === 'stopped') return;
    this.state = 'fetching';
    const resume = this.logs.size > 0;
    // History is fetched once for everyone when a first subscriber wants it, rather than refetched
    // by each (the memory budget still bounds what is kept).
    const wanted = this.waiting.some(
      ({ begin }) =>
        begin.start === 'historical' || begin.token !== undefined || begin.partitions !== undefined,
    );
    const historical =
      this.compacted || wanted || (this.options.settings.defaultOffset ?? 'live') === 'historical'
        ? 'historical'
        : 'live';
    if (!resume) this.upstreamStart = historical;
    const begin: KafkaFetchBeginEx = resume
      ? {
          type: 'kafka',
          capability: 'fetch',
          topic: this.topic,
          partitions: [...this.logs.values()].map((log) => ({ partition: log.partition, offset: log.high })),
          tombstones: true,
        }
      : { type: 'kafka', capability: 'fetch', topic: this.topic, start: historical, tombstones: true };
    const assembler = new MessageAssembler<KafkaRecordDataEx>();
    const stream = this.ctx.open(
      this.options.exit,
      { ext: begin },
      {
        onData: (frame: DataFrame) => {
          const message = assembler.push(frame as DataFrame<KafkaRecordDataEx>);
          if (message?.ext) this.onRecord(message.ext, message.payload);
          stream.in.window(frame.credit);
        },
        onFlush: (ext) => {
          if (ext?.type === 'kafka' && (ext as KafkaCaughtUpEx).kind === 'caught-up')
            this.onCaughtUp(ext as KafkaCaughtUpEx);
        },
        onEnd: () =>
          current() &&
          this.onUpstreamFailed(closing(errors.TRIB_KAFKA_UPSTREAM_ENDED({ topic: this.topic }))),
        onAbort: (reason) => current() && this.onUpstreamFailed(reason),
        onReset: (reason) => current() && this.onUpstreamFailed(reason),
      },
    );
    const current = () => this.upstream === stream;
    this.upstream = stream;
    stream.in.window(this.options.window);
  }

  private logFor(partition: number, start: bigint): PartitionLog {
    let log = this.logs.get(partition);
    if (!log) {
      log = new PartitionLog(partition, this.compacted, start);
      this.logs.set(partition, log);
      for (const subscriber of this.subscribers) subscriber.addPartition(partition);
    }
    return log;
  }

  private onRecord(record: KafkaRecordDataEx, payload: Uint8Array): void {
    // A log first seen through a record of a live upstream holds nothing before that record.
    const log = this.logFor(record.partition, this.upstreamStart === 'historical' ? 0n : record.offset);
    if (record.offset < log.high) return;
    const value = record.tombstone ? null : own(payload);
    const key = record.key === null ? null : own(record.key);
    const headers = ownHeaders(record.headers);
    const entry: Entry = {
      offset: record.offset,
      timestamp: record.timestamp,
      key,
      headers,
      value,
      size: entrySize(key, headers, value),
      superseded: false,
    };
    const before = log.bytes;
    log.append(entry);
    this.appended++;
    this.applyRetention(log);
    this.options.memory.add(log.bytes - before);
    if (this.hydrated) this.index.match(entry, (subscriber) => subscriber.push(record.partition, entry));
    this.wakeAwaiting();
  }

  private applyRetention(log: PartitionLog): void {
    const minTimestamp = this.compacted || this.retentionMs < 0 ? -Infinity : Date.now() - this.retentionMs;
    const keepBytes = this.compacted || this.retentionBytes < 0 ? Infinity : this.retentionBytes;
    if (log.bytes > keepBytes || minTimestamp !== -Infinity) log.evict(keepBytes, minTimestamp);
  }

  private onCaughtUp(ext: KafkaCaughtUpEx): void {
    const decoded = decodeToken(ext.token);
    if (decoded.ok) {
      for (const [partition, next] of decoded.offsets) {
        const log = this.logFor(partition, next);
        log.advanceTo(next);
      }
    }
    this.wakeAwaiting();
    this.lastError = undefined;
    if (this.hydrated) return;
    this.hydrated = true;
    this.hydration.resolve();
    const waiting = this.waiting.splice(0);
    for (const entry of waiting) entry.handler = this.activate(entry.app, entry.begin);
  }

  private onUpstreamFailed(reason: StreamError): void {
    this.upstream = undefined;
    if (this.state === 'stopped') return;
    this.state = 'waiting';
    this.lastError = isError(reason.ext) ? reason.ext : undefined;
    if (!this.hydrated) {
      // Nobody can be served from an empty cache: tell the waiting streams now, retry for later ones.
      for (const { app } of this.waiting.splice(0)) app.close(reason);
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(
      () => (this.logs.size === 0 && !this.hydrated ? this.describe() : this.fetch()),
      this.options.reconnectMs,
    );
  }

  /** The last upstream error, while the upstream is down. */
  get failure(): KafkaErrorEx | undefined {
    return this.state === 'waiting' ? this.lastError : undefined;
  }
}
