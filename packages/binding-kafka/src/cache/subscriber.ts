import type { DataFrame, Stream, StreamError, StreamHandler } from '@tributary/kernel';
import { MessageAssembler } from '@tributary/kernel';
import type { KafkaCaughtUpEx, KafkaFetchBeginEx, KafkaFilter, KafkaRecordDataEx } from '../index.ts';
import { compileFilters, type RecordView } from '../stream/filters.ts';
import { decodeToken, TokenEncoder } from '../stream/token.ts';
import { closing, keyString, type Entry, type PartitionLog } from './log.ts';
import { errors } from '../errors.ts';

const EMPTY = new Uint8Array(0);
/**
 * How long a new subscriber waits for records acknowledged through this cache to arrive from the
 * upstream fetch before it reports caught-up anyway (the upstream may be down).
 */
export const READ_YOUR_WRITES_MS = 5_000;

/** What a subscriber needs from its topic. */
export interface SubscriberHost {
  readonly topic: string;
  readonly tokenKey: Uint8Array | undefined;
  /** Bytes a live subscriber may hold back before it falls back to replaying from the log. */
  readonly backlogLimit: number;
  partitions(): readonly number[];
  log(partition: number): PartitionLog | undefined;
  /** Adds the subscriber to the live fan-out (the filter index). */
  goLive(subscriber: CacheSubscriber): void;
  /** Removes it from the live fan-out. */
  goReplay(subscriber: CacheSubscriber): void;
  /** Opens a fetch from Kafka for records the cache no longer holds. */
  refetch(partition: number, offset: bigint, handler: StreamHandler): Stream;
  /**
   * The offset after the last record Kafka acknowledged to a producer through this cache, per
   * partition: a subscriber starting now must not report caught-up before the log holds it.
   */
  written(partition: number): bigint | undefined;
  /** Calls `subscriber.wake()` once, the next time a log grows. */
  awaitAppend(subscriber: CacheSubscriber): void;
  closed(subscriber: CacheSubscriber): void;
}

let closedReason: StreamError | undefined;
/** One reason for every closed subscriber: building a coded error (and its stack) per read costs. */
function subscriberClosed(): StreamError {
  return (closedReason ??= closing(errors.TRIB_KAFKA_CACHE_CLOSED({ reason: 'subscriber closed' })));
}

interface KeyPlan {
  readonly positions: number[];
  next: number;
  readonly generation: number;
  /** The log head when the plan was made: entries from there on are read in order. */
  readonly high: bigint;
  readonly done: boolean;
}

/** The record keys each filter requires, when every filter requires one; see `keys`. */
function requiredKeys(filters: readonly KafkaFilter[] | undefined): (string | null)[] | undefined {
  if (filters === undefined || filters.length === 0) return undefined;
  const keys = new Set<string | null>();
  for (const filter of filters) {
    const condition = filter.conditions.find((c): c is { readonly key: Uint8Array | null } => 'key' in c);
    if (condition === undefined) return undefined;
    keys.add(keyString(condition.key));
  }
  return [...keys];
}

interface Position {
  position: number;
  generation: number;
}

/**
 * One fetch stream served from the cache.
 *
 * It starts in *replay*: it walks the partition logs from its cursors, within its credit.
 * Once it has reached the head of every log it goes *live*: the topic pushes it the records its
 * filters match as they arrive. A live subscriber that cannot keep up holds at most
 * `backlogLimit` bytes; beyond that it drops the backlog and replays from its cursors again,
 * so a stalled client costs a cursor, not memory. Cursors below a log's window (evicted
 * records) are served by a refetch from Kafka.
 */
export class CacheSubscriber {
  readonly filters: readonly KafkaFilter[] | undefined;
  private readonly host: SubscriberHost;
  private readonly app: Stream;
  private readonly matches: (record: RecordView) => boolean;
  private readonly tombstones: boolean;
  private readonly cursors = new Map<number, bigint>();
  /** The log heads when the subscriber started: below them is history. */
  private readonly boundary = new Map<number, bigint>();
  private readonly positions = new Map<number, Position>();
  private readonly encoder: TokenEncoder;
  /** Offsets the logs must reach before this subscriber is caught up (read-your-writes). */
  private readonly required = new Map<number, bigint>();
  private requiredUntil = 0;
  private requiredTimer: NodeJS.Timeout | undefined;
  private mode: 'replay' | 'live' = 'replay';
  private caughtUp = false;
  private backlog: { partition: number; entry: Entry }[] = [];
  private backlogBytes = 0;
  private pumping = false;
  private rotate = 0;
  private refetching: { partition: number; stream: Stream } | undefined;
  private done = false;
  /**
   * Keys every filter requires (each filter names one), or undefined. On a compacted log such a
   * subscriber's snapshot is exactly the latest entry of each key, found through the log's key
   * index instead of walking the whole log: a single-item read costs the same on a topic of ten
   * keys or a million.
   */
  private readonly keys: readonly (string | null)[] | undefined;
  /** Per partition, the snapshot positions still to visit (see `keys`). */
  private readonly plans = new Map<number, KeyPlan>();

  constructor(
    host: SubscriberHost,
    app: Stream,
    begin: KafkaFetchBeginEx,
    start: ReadonlyMap<number, bigint>,
  ) {
    this.host = host;
    this.app = app;
    this.filters = begin.filters;
    this.matches = compileFilters(begin.filters);
    this.tombstones = begin.tombstones ?? false;
    this.keys = requiredKeys(begin.filters);
    for (const partition of host.partitions()) {
      const log = host.log(partition)!;
      this.cursors.set(partition, start.get(partition) ?? log.low);
      this.boundary.set(partition, log.high);
      const written = host.written(partition);
      if (written !== undefined && written > log.high) this.required.set(partition, written);
    }
    if (this.required.size > 0) this.requiredUntil = Date.now() + READ_YOUR_WRITES_MS;
    this.encoder = new TokenEncoder(this.cursors, host.tokenKey);
  }

  get live(): boolean {
    return this.mode === 'live';
  }

  /** Bytes of records held back for this subscriber. */
  get held(): number {
    return this.backlogBytes;
  }

  /** Starts delivering; the app stream's reply half begins here. */
  start(): StreamHandler {
    this.app.out.begin({ type: 'kafka' });
    this.app.out.onCredit(() => this.onAppCredit());
    queueMicrotask(() => this.pump());
    // The app ending its (empty) initial half only means it sends nothing more.
    return {
      onWindow: () => this.onAppCredit(),
      onAbort: () => this.close(),
      onReset: () => this.close(),
    };
  }

  /** A partition appeared after the subscriber started: everything in it is new. */
  addPartition(partition: number): void {
    if (this.cursors.has(partition)) return;
    const log = this.host.log(partition)!;
    this.cursors.set(partition, log.low);
    this.boundary.set(partition, log.low);
    this.encoder.update(partition, log.low);
  }

  /** Live fan-out: the topic appended `entry`, which this subscriber's filters match. */
  push(partition: number, entry: Entry): void {
    if (this.done || this.mode !== 'live') return;
    if (entry.offset < (this.cursors.get(partition) ?? 0n)) return;
    if (this.backlog.length === 0 && this.canSend()) {
      this.deliver(partition, entry);
      return;
    }
    this.backlog.push({ partition, entry });
    this.backlogBytes += entry.size;
    if (this.backlogBytes > this.host.backlogLimit) {
      // Too far behind to keep records for it: fall back to reading the log at its own pace.
      this.backlog = [];
      this.backlogBytes = 0;
      this.mode = 'replay';
      this.positions.clear();
      this.host.goReplay(this);
    }
  }

  /** Ends the stream with an error (upstream lost before the topic was ever hydrated…). */
  fail(reason: StreamError): void {
    if (this.done) return;
    this.app.close(reason);
    this.close();
  }

  private canSend(): boolean {
    return this.app.out.writable && this.app.out.credit > 0 && this.app.out.queued === 0;
  }

  /** Credit arrived. Re-entrant calls (a reader granting credit from inside onData) return at once. */
  private onAppCredit(): void {
    if (this.done || this.pumping) return;
    this.pumping = true;
    try {
      while (this.backlog.length > 0 && this.canSend()) {
        const next = this.backlog.shift()!;
        this.backlogBytes -= next.entry.size;
        this.deliver(next.partition, next.entry);
      }
    } finally {
      this.pumping = false;
    }
    if (this.mode === 'replay') this.pump();
  }

  private deliver(partition: number, entry: Entry): boolean {
    const next = entry.offset + 1n;
    this.cursors.set(partition, next);
    this.encoder.update(partition, next);
    const ext: KafkaRecordDataEx = {
      type: 'kafka',
      kind: 'record',
      topic: this.host.topic,
      partition,
      offset: entry.offset,
      timestamp: entry.timestamp,
      key: entry.key,
      headers: entry.headers,
      tombstone: entry.value === null,
      token: this.encoder.token(),
    };
    return this.app.out.data(entry.value ?? EMPTY, ext);
  }

  /** Moves the cursor past an entry that is not delivered. */
  private pass(partition: number, offset: bigint): void {
    this.cursors.set(partition, offset + 1n);
    this.encoder.update(partition, offset + 1n);
  }

  /** Should replay skip this entry? Skipped entries still advance the cursor. */
  private skip(partition: number, entry: Entry): boolean {
    if (entry.superseded) return true;
    if (entry.value === null && !this.tombstones && entry.offset < this.boundary.get(partition)!) return true;
    return !this.matches(entry);
  }

  /**
   * The key plan of a partition (see `keys`), made once per log generation; undefined when the
   * subscriber walks the log instead.
   */
  private planFor(partition: number, log: PartitionLog, cursor: bigint): KeyPlan | undefined {
    if (this.keys === undefined || !log.compacted) return undefined;
    const known = this.plans.get(partition);
    if (known?.done) return undefined;
    if (known && known.generation === log.generation) return known;
    // A new plan from the cursor (first visit, or positions moved by eviction or compaction).
    const positions: number[] = [];
    for (const key of this.keys) {
      const offset = log.latest.get(key);
      if (offset === undefined || offset < cursor || offset < log.low) continue;
      const position = log.seek(offset);
      if (log.at(position)?.offset === offset) positions.push(position);
    }
    positions.sort((a, b) => a - b);
    const plan: KeyPlan = { positions, next: 0, generation: log.generation, high: log.high, done: false };
    this.plans.set(partition, plan);
    return plan;
  }

  /** Where replay continues in a log; positions survive appends, not eviction or compaction. */
  private positionOf(partition: number, log: PartitionLog, cursor: bigint): number {
    const known = this.positions.get(partition);
    if (known && known.generation === log.generation && known.position >= log.start) return known.position;
    const position = log.seek(cursor);
    this.positions.set(partition, { position, generation: log.generation });
    return position;
  }

  /** Replay: walk the logs round-robin within credit; go live once every log is drained. */
  private pump(): void {
    if (this.pumping || this.done || this.mode !== 'replay') return;
    this.pumping = true;
    try {
      const partitions = [...this.cursors.keys()];
      let drained = 0;
      while (drained < partitions.length) {
        if (!this.canSend()) return;
        const partition = partitions[this.rotate++ % partitions.length]!;
        if (this.refetching?.partition === partition) {
          drained++;
          continue;
        }
        const log = this.host.log(partition)!;
        const cursor = this.cursors.get(partition)!;
        if (cursor < log.low) {
          this.startRefetch(partition, cursor);
          return;
        }
        const plan = this.planFor(partition, log, cursor);
        if (plan) {
          const planned = plan.positions[plan.next++];
          if (planned === undefined) {
            // The snapshot is done: everything up to where the plan was made is accounted for.
            this.plans.set(partition, { ...plan, done: true });
            this.positions.delete(partition);
            if (cursor < plan.high) {
              this.cursors.set(partition, plan.high);
              this.encoder.update(partition, plan.high);
            }
            continue;
          }
          const entry = log.at(planned);
          if (entry === undefined || entry.offset < cursor) continue;
          drained = 0;
          if (this.skip(partition, entry)) {
            this.pass(partition, entry.offset);
            continue;
          }
          if (!this.deliver(partition, entry)) return;
          continue;
        }
        const position = this.positionOf(partition, log, cursor);
        const entry = log.at(position);
        if (entry === undefined) {
          // Everything below the head is accounted for, records or gaps alike.
          if (cursor < log.high) {
            this.cursors.set(partition, log.high);
            this.encoder.update(partition, log.high);
          }
          drained++;
          continue;
        }
        drained = 0;
        this.positions.set(partition, { position: position + 1, generation: log.generation });
        if (this.skip(partition, entry)) {
          this.pass(partition, entry.offset);
          continue;
        }
        if (!this.deliver(partition, entry)) return;
      }
      if (this.refetching) return;
      if (this.awaitingWrites()) return;
      this.goLive();
    } finally {
      this.pumping = false;
    }
  }

  /** A log grew (or time ran out) while this subscriber waited for acknowledged writes. */
  wake(): void {
    if (this.done || this.mode !== 'replay') return;
    this.pump();
  }

  /**
   * True while a record acknowledged to a producer of this gateway before the subscriber
   * started is not in the cache yet: a client that wrote and then reads must see its write.
   */
  private awaitingWrites(): boolean {
    if (this.caughtUp || this.required.size === 0) return false;
    for (const [partition, offset] of this.required) {
      if ((this.host.log(partition)?.high ?? offset) >= offset) this.required.delete(partition);
    }
    const remaining = this.requiredUntil - Date.now();
    if (this.required.size === 0 || remaining <= 0) {
      this.required.clear();
      clearTimeout(this.requiredTimer);
      return false;
    }
    this.host.awaitAppend(this);
    if (this.requiredTimer === undefined) {
      this.requiredTimer = setTimeout(() => this.wake(), remaining);
      this.requiredTimer.unref();
    }
    return true;
  }

  private goLive(): void {
    if (!this.caughtUp) {
      this.caughtUp = true;
      const caughtUp: KafkaCaughtUpEx = { type: 'kafka', kind: 'caught-up', token: this.encoder.token() };
      this.app.out.flush(caughtUp);
    }
    this.mode = 'live';
    this.host.goLive(this);
  }

  /**
   * The cursor is below what the cache holds: read that stretch from Kafka, skipping what
   * compaction superseded, until the cache's window is reached.
   */
  private startRefetch(partition: number, from: bigint): void {
    const log = this.host.log(partition)!;
    const assembler = new MessageAssembler<KafkaRecordDataEx>();
    let owed = 0;
    const finish = () => {
      if (this.refetching?.partition !== partition) return;
      const { stream } = this.refetching;
      this.refetching = undefined;
      stream.close(closing(errors.TRIB_KAFKA_CACHE_CLOSED({ reason: 'refetch reached the cache' })));
      this.positions.delete(partition);
      queueMicrotask(() => this.pump());
    };
    // After `finish`, the stream's close (and its echo) belong to us: ignore them.
    const active = () => this.refetching?.partition === partition;
    const handler: StreamHandler = {
      onData: (frame: DataFrame) => {
        if (!active()) return;
        const message = assembler.push(frame as DataFrame<KafkaRecordDataEx>);
        if (!message?.ext) return;
        const record = message.ext;
        if (record.offset >= log.low) {
          finish();
          return;
        }
        const entry: Entry = {
          offset: record.offset,
          timestamp: record.timestamp,
          key: record.key,
          headers: record.headers,
          value: record.tombstone ? null : message.payload,
          size: 0,
          superseded: log.compacted && (log.latest.get(keyString(record.key)) ?? -1n) > record.offset,
        };
        let sent = true;
        if (this.skip(partition, entry)) this.pass(partition, entry.offset);
        else sent = this.deliver(partition, entry);
        if (this.cursors.get(partition)! >= log.low) {
          finish();
          return;
        }
        if (sent && this.canSend()) this.refetching?.stream.in.window(message.credit);
        else owed += message.credit;
      },
      onFlush: (ext) => {
        // The refetch reached Kafka's end as of its start: offsets up to there that it did not
        // deliver do not exist (retention, compaction, transaction markers).
        if (!active() || (ext as KafkaCaughtUpEx | undefined)?.kind !== 'caught-up') return;
        const decoded = decodeToken((ext as KafkaCaughtUpEx).token);
        const next = decoded.ok ? decoded.offsets.get(partition) : undefined;
        if (next !== undefined && next > this.cursors.get(partition)!) this.pass(partition, next - 1n);
        if (this.cursors.get(partition)! >= log.low) finish();
      },
      onEnd: finish,
      onAbort: (reason) => active() && this.fail(reason),
      onReset: (reason) => active() && this.fail(reason),
    };
    const stream = this.host.refetch(partition, from, handler);
    this.refetching = { partition, stream };
    stream.in.window(64 * 1024);
    this.app.out.onCredit(() => {
      if (owed > 0 && this.refetching) {
        const credit = owed;
        owed = 0;
        this.refetching.stream.in.window(credit);
      }
      this.onAppCredit();
    });
  }

  private close(): void {
    if (this.done) return;
    this.done = true;
    this.backlog = [];
    clearTimeout(this.requiredTimer);
    if (this.refetching) this.refetching.stream.close(subscriberClosed());
    this.refetching = undefined;
    this.host.closed(this);
    this.app.close(subscriberClosed());
  }
}
