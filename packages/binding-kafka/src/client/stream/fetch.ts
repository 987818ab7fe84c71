/**
 * The `fetch` capability: the records of a topic, merged across its partitions, on the reply.
 *
 * **Start.** The stream reads the topic's metadata, then decides where each partition starts:
 * from the progress `token` (partitions the token does not name start at their earliest
 * offset), else from the explicit `partitions`, else from `start` (`historical` = earliest,
 * `live` = latest; without `start`, `historical` when the topic's `cleanup.policy` includes
 * `compact`, `live` otherwise). It also notes each partition's end (the high watermark, or the
 * last stable offset under `read_committed`): once every partition has been read up to that
 * point, a flush with {@link KafkaCaughtUpEx} follows the records. Only then does the reply begin,
 * so a mapping learns of an unknown topic or a bad token before anything else.
 *
 * **Records.** Each record is one data frame (the value; empty with `tombstone: true` for a
 * null value) with a {@link KafkaRecordDataEx} whose `token` holds the next offset of every
 * fetched partition after this record. Records the filters reject are not delivered but move
 * the position on.
 *
 * **Credit.** Records are handed over only while the opener has credit for them (a record
 * larger than the credit left is delivered in fragments as credit comes). Each broker is asked
 * again only once what it returned has been handed over, so a stream whose opener grants no
 * credit holds at most one fetch response per broker (`fetch.maxBytes`).
 *
 * **Kafka trouble.** Leaders are followed: a NOT_LEADER / UNKNOWN_TOPIC_OR_PARTITION error, or
 * the periodic refresh (`metadataMaxAgeMs`), reloads the metadata, and partitions added to the
 * topic are picked up from their earliest offset (unless the stream asked for explicit
 * partitions). Failed requests are retried with backoff across broker restarts; if no request
 * of the stream has succeeded for `requestTimeoutMs` since the first failure, the reply is
 * aborted with reason `unavailable`. An offset that is no longer (or not yet) in the log
 * (OFFSET_OUT_OF_RANGE) moves to the earliest (or latest) offset, with a warning in the log.
 *
 * @module
 */
import type { StreamError, StreamHandler, Stream } from '@tributary/kernel';
import type { KafkaCaughtUpEx, KafkaFetchBeginEx, KafkaIsolation, KafkaRecordDataEx } from '../../index.ts';
import type { RecordPredicate } from '../../stream/filters.ts';
import { decodeToken, encodeToken } from '../../stream/token.ts';
import type {
  FetchedPartition,
  FetchedRecord,
  KafkaFetcher,
  PortError,
  PortResult,
  TopicMetadata,
} from '../port.ts';
import {
  clientFailure,
  EMPTY,
  FailureWindow,
  internalError,
  startMetadata,
  streamError,
  unreachable,
  type ClientContext,
  type ClientStream,
  type Failure,
} from './support.ts';

interface PartitionState {
  readonly partition: number;
  leader: number;
  /** The next offset to read (and to hand over). */
  position: bigint;
  /** The end to reach before caught-up; undefined once reached or for partitions found later. */
  target: bigint | undefined;
}

/** Records of one partition from one fetch response, handed over in order. */
interface Chunk {
  readonly node: number;
  readonly partition: number;
  readonly records: readonly FetchedRecord[];
  index: number;
  readonly nextOffset: bigint;
}

interface NodeState {
  inflight: boolean;
  /** Chunks from this broker not yet handed over. */
  outstanding: number;
  retryTimer: NodeJS.Timeout | undefined;
  /** Rotates the order of partitions in requests, so that no partition starves the others. */
  turn: number;
}

export class FetchStream implements ClientStream {
  readonly handler: StreamHandler;
  private readonly ctx: ClientContext;
  private readonly app: Stream;
  private readonly begin: KafkaFetchBeginEx;
  private readonly topic: string;
  private readonly isolation: KafkaIsolation;
  private readonly filter: RecordPredicate;
  private readonly failures: FailureWindow;
  private readonly partitions = new Map<number, PartitionState>();
  private readonly nodes = new Map<number, NodeState>();
  private readonly chunks: Chunk[] = [];
  /** The next offset of every fetched partition: what tokens hold. */
  private readonly positions = new Map<number, bigint>();
  private fetcher: KafkaFetcher | undefined;
  /** Partitions still short of their start-time end. */
  private behind = 0;
  private caughtUp = false;
  private state: 'starting' | 'running' | 'closed' = 'starting';
  private pumping = false;
  private pumpAgain = false;
  private metadataTimer: NodeJS.Timeout | undefined;
  private refreshing = false;
  private lastError: Failure | undefined;

  constructor(ctx: ClientContext, app: Stream, begin: KafkaFetchBeginEx, filter: RecordPredicate) {
    this.ctx = ctx;
    this.app = app;
    this.begin = begin;
    this.topic = begin.topic;
    this.isolation = begin.isolation ?? ctx.options.fetch.isolation;
    this.filter = filter;
    this.failures = new FailureWindow(ctx.options, () => this.fail(unreachable(ctx, this.lastError)));
    this.handler = {
      onEnd: () => this.onAppEnd(),
      onAbort: (reason) => this.onAppAbort(reason),
      onReset: (reason) => this.onAppReset(reason),
      onWindow: () => this.doAppPump(),
    };
  }

  start(): void {
    this.doNetStart().then(
      (failure) => {
        if (failure !== undefined) this.fail(failure);
      },
      (cause: unknown) =>
        this.fail(clientFailure('internal', cause instanceof Error ? cause.message : String(cause))),
    );
  }

  shutdown(reason: StreamError): void {
    this.release();
    this.app.close(reason);
  }

  // --- app side ---

  private onAppEnd(): void {
    // The opener is done: end the reply (after what is already queued) and stop fetching.
    if (this.state === 'closed') return;
    this.release();
    this.app.out.end();
  }

  private onAppAbort(reason: StreamError): void {
    this.release();
    this.app.out.abort(reason);
  }

  private onAppReset(reason: StreamError): void {
    this.release();
    this.app.in.reset(reason);
  }

  /** Hands records over while the opener has credit, then asks brokers that are done for more. */
  private doAppPump(): void {
    if (this.state !== 'running') return;
    if (this.pumping) {
      // Credit granted from inside our own delivery: the outer loop carries on.
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        this.deliverChunks();
      } while (this.pumpAgain && this.state === 'running');
    } finally {
      this.pumping = false;
    }
    if (this.state !== 'running') return;
    const leaders = new Set<number>();
    for (const partition of this.partitions.values()) leaders.add(partition.leader);
    for (const leader of leaders) this.doNetFetch(leader);
  }

  private deliverChunks(): void {
    const out = this.app.out;
    while (this.state === 'running' && this.chunks.length > 0) {
      const chunk = this.chunks[0]!;
      const state = this.partitions.get(chunk.partition);
      if (chunk.index < chunk.records.length) {
        // Never queue more than one record beyond the credit the opener granted.
        if (out.credit <= 0 || out.queued > 0) return;
        const record = chunk.records[chunk.index++]!;
        if (state === undefined || record.offset < state.position) continue;
        this.advance(state, record.offset + 1n);
        if (!this.filter(record)) {
          this.checkCaughtUp();
          continue;
        }
        const ext: KafkaRecordDataEx = {
          type: 'kafka',
          kind: 'record',
          topic: this.topic,
          partition: chunk.partition,
          offset: record.offset,
          timestamp: record.timestamp,
          key: record.key,
          headers: record.headers,
          tombstone: record.value === null,
          token: this.token(),
        };
        out.data(record.value ?? EMPTY, ext);
        this.checkCaughtUp();
        continue;
      }
      this.chunks.shift();
      if (state !== undefined && chunk.nextOffset > state.position) this.advance(state, chunk.nextOffset);
      const node = this.nodes.get(chunk.node);
      if (node !== undefined) node.outstanding--;
      this.checkCaughtUp();
    }
  }

  private advance(state: PartitionState, next: bigint): void {
    state.position = next;
    this.positions.set(state.partition, next);
    if (state.target !== undefined && next >= state.target) {
      state.target = undefined;
      this.behind--;
    }
  }

  private token(): string {
    return encodeToken({ offsets: this.positions }, this.ctx.options.tokenKey);
  }

  private checkCaughtUp(): void {
    if (this.caughtUp || this.behind > 0 || this.state !== 'running') return;
    this.caughtUp = true;
    const ext: KafkaCaughtUpEx = { type: 'kafka', kind: 'caught-up', token: this.token() };
    this.app.out.flush(ext);
  }

  // --- net side: start ---

  /** Resolves where every partition starts and ends, then opens the reply. */
  private async doNetStart(): Promise<Failure | undefined> {
    const metadata = await this.retry(() => startMetadata(this.ctx.port, this.topic));
    if (!metadata.ok) return metadata.error;
    const count = metadata.value.partitions.length;

    let fromToken: Map<number, bigint> | undefined;
    if (this.begin.token !== undefined) {
      const decoded = decodeToken(this.begin.token, this.ctx.options.tokenKey);
      if (!decoded.ok) return clientFailure('invalid-token', decoded.reason);
      const beyond = [...decoded.offsets.keys()].find((partition) => partition >= count);
      if (beyond !== undefined) {
        return clientFailure(
          'invalid-token',
          `the token names partition ${beyond}, but topic "${this.topic}" has ${count}`,
        );
      }
      fromToken = decoded.offsets;
    }
    const explicit =
      this.begin.partitions === undefined
        ? undefined
        : new Map(this.begin.partitions.map((p) => [p.partition, p.offset]));
    if (explicit !== undefined) {
      const missing = [...explicit.keys()].find((partition) => partition >= count);
      if (missing !== undefined) {
        return {
          reason: 'unknown-topic',
          message: `partition ${missing} of topic "${this.topic}" does not exist`,
          retriable: false,
        };
      }
    }
    const scope =
      explicit === undefined ? metadata.value.partitions.map((p) => p.partition) : [...explicit.keys()];

    const positions = new Map<number, bigint>();
    const earliest: number[] = [];
    const latest: number[] = [];
    let start = this.begin.start;
    if (fromToken === undefined && explicit === undefined && start === undefined) {
      const described = await this.retry(() => this.ctx.port.describeConfigs(this.topic, ['cleanup.policy']));
      if (!described.ok) return described.error;
      start = (described.value['cleanup.policy'] ?? '').split(',').includes('compact')
        ? 'historical'
        : 'live';
    }
    for (const partition of scope) {
      const offset = fromToken?.get(partition) ?? explicit?.get(partition);
      if (offset !== undefined) positions.set(partition, offset);
      else if (fromToken !== undefined || start === 'historical') earliest.push(partition);
      else latest.push(partition);
    }
    for (const [spec, list] of [
      ['earliest', earliest],
      ['latest', latest],
    ] as const) {
      const offsets = await this.retry(() =>
        this.ctx.port.listOffsets(this.topic, list, spec, this.isolation),
      );
      if (!offsets.ok) return offsets.error;
      for (const partition of list) positions.set(partition, offsets.value.get(partition) ?? 0n);
    }
    const ends = await this.retry(() =>
      this.ctx.port.listOffsets(this.topic, scope, 'latest', this.isolation),
    );
    if (!ends.ok) return ends.error;
    if (this.state !== 'starting') return undefined;

    for (const partition of scope) {
      const position = positions.get(partition) ?? 0n;
      const end = ends.value.get(partition) ?? 0n;
      const leader = metadata.value.partitions[partition]?.leader ?? -1;
      const target = position < end ? end : undefined;
      if (target !== undefined) this.behind++;
      this.partitions.set(partition, { partition, leader, position, target });
      this.positions.set(partition, position);
    }
    this.fetcher = this.ctx.port.fetcher();
    this.state = 'running';
    this.app.out.begin();
    this.checkCaughtUp();
    this.scheduleNetRefresh();
    this.doAppPump();
    return undefined;
  }

  /**
   * Runs `request` until it succeeds, fails for good, or the failure window expires (the stream
   * has then failed with `unavailable`).
   */
  private retry<T>(request: () => Promise<PortResult<T>>): Promise<PortResult<T>> {
    return this.failures.retry(
      () => this.isClosed(),
      request,
      (error) => (this.lastError = error),
    );
  }

  // --- net side: fetching ---

  private doNetFetch(nodeId: number): void {
    if (this.state !== 'running' || this.fetcher === undefined || nodeId < 0) return;
    const node = this.node(nodeId);
    if (node.inflight || node.outstanding > 0 || node.retryTimer !== undefined) return;
    const mine = [...this.partitions.values()].filter((p) => p.leader === nodeId);
    if (mine.length === 0) return;
    const turn = node.turn++ % mine.length;
    const ordered = [...mine.slice(turn), ...mine.slice(0, turn)];
    node.inflight = true;
    const { maxWaitMs, maxBytes, partitionMaxBytes } = this.ctx.options.fetch;
    this.fetcher
      .fetch({
        topic: this.topic,
        node: nodeId,
        partitions: ordered.map((p) => ({ partition: p.partition, offset: p.position, leaderEpoch: -1 })),
        isolation: this.isolation,
        // Until caught up there is data to read: no reason to wait for more.
        maxWaitMs: this.caughtUp ? maxWaitMs : Math.min(maxWaitMs, 100),
        maxBytes,
        partitionMaxBytes,
      })
      .then(
        (result) => this.onNetFetched(nodeId, ordered, result),
        (cause: unknown) => this.onNetFetched(nodeId, ordered, { ok: false, error: internalError(cause) }),
      );
  }

  private onNetFetched(
    nodeId: number,
    asked: readonly PartitionState[],
    result: PortResult<readonly FetchedPartition[]>,
  ): void {
    const node = this.node(nodeId);
    node.inflight = false;
    if (this.state !== 'running') return;
    if (!result.ok) {
      this.onNetFailure(nodeId, result.error);
      return;
    }
    this.failures.success();
    let stale = false;
    let outOfRange: number[] = [];
    for (const fetched of result.value) {
      const state = this.partitions.get(fetched.partition);
      if (state === undefined || !asked.includes(state)) continue;
      if (fetched.error !== undefined) {
        const error = fetched.error;
        if (error.cause === 'OFFSET_OUT_OF_RANGE') outOfRange = [...outOfRange, fetched.partition];
        else if (error.reason === 'authorization' || error.reason === 'authentication') {
          this.fail(error);
          return;
        } else if (error.staleMetadata || error.reason === 'unavailable') stale = true;
        else
          this.ctx.logger.warn(
            { topic: this.topic, partition: fetched.partition, code: error.cause },
            'fetch of a partition failed; retrying',
          );
        continue;
      }
      if (fetched.records.length === 0 && fetched.nextOffset <= state.position) continue;
      this.chunks.push({
        node: nodeId,
        partition: fetched.partition,
        records: fetched.records,
        index: 0,
        nextOffset: fetched.nextOffset,
      });
      node.outstanding++;
    }
    if (outOfRange.length > 0) this.doNetResetOutOfRange(outOfRange);
    if (stale) {
      this.doNetRefresh();
      node.retryTimer = setTimeout(() => {
        node.retryTimer = undefined;
        this.doNetFetch(nodeId);
      }, this.ctx.options.retryDelayMs);
    }
    this.doAppPump();
  }

  private onNetFailure(nodeId: number, error: PortError): void {
    if (
      error.reason === 'authentication' ||
      error.reason === 'authorization' ||
      (!error.retriable && error.reason !== 'unknown-topic')
    ) {
      this.fail(error);
      return;
    }
    this.lastError = error;
    const delay = this.failures.failure();
    if (error.staleMetadata || error.reason === 'unknown-topic' || error.reason === 'unavailable')
      this.doNetRefresh();
    const node = this.node(nodeId);
    if (node.retryTimer !== undefined) return;
    node.retryTimer = setTimeout(() => {
      node.retryTimer = undefined;
      this.doNetFetch(nodeId);
    }, delay);
  }

  /** Moves partitions whose offset left the log to its nearest end. */
  private doNetResetOutOfRange(partitions: readonly number[]): void {
    const port = this.ctx.port;
    void Promise.all([
      port.listOffsets(this.topic, partitions, 'earliest', this.isolation),
      port.listOffsets(this.topic, partitions, 'latest', this.isolation),
    ]).then(
      ([earliest, latest]) => {
        if (this.state !== 'running') return;
        if (!earliest.ok || !latest.ok) return; // retried on the next fetch, which fails the same way
        for (const partition of partitions) {
          const state = this.partitions.get(partition);
          const low = earliest.value.get(partition);
          const high = latest.value.get(partition);
          if (state === undefined || low === undefined || high === undefined) continue;
          const next = state.position < low ? low : state.position > high ? high : state.position;
          this.ctx.logger.warn(
            { topic: this.topic, partition, from: String(state.position), to: String(next) },
            'fetch offset out of range; moved to the nearest end of the log',
          );
          if (next < state.position) {
            state.position = next;
            this.positions.set(partition, next);
          } else this.advance(state, next);
        }
        this.checkCaughtUp();
        this.doAppPump();
      },
      () => undefined,
    );
  }

  // --- net side: metadata ---

  private scheduleNetRefresh(): void {
    if (this.state !== 'running') return;
    this.metadataTimer = setTimeout(() => {
      this.metadataTimer = undefined;
      this.doNetRefresh();
    }, this.ctx.options.metadataMaxAgeMs);
  }

  private doNetRefresh(): void {
    if (this.state !== 'running' || this.refreshing) return;
    this.refreshing = true;
    if (this.metadataTimer !== undefined) clearTimeout(this.metadataTimer);
    this.metadataTimer = undefined;
    this.ctx.port.metadata(this.topic, true).then(
      (result) => {
        this.refreshing = false;
        if (this.state !== 'running') return;
        if (result.ok) this.onNetMetadata(result.value);
        else if (result.error.reason === 'unknown-topic' && !result.error.retriable) {
          this.fail(result.error);
          return;
        } else if (result.error.reason === 'authentication' || result.error.reason === 'authorization') {
          this.fail(result.error);
          return;
        }
        this.scheduleNetRefresh();
      },
      () => {
        this.refreshing = false;
        this.scheduleNetRefresh();
      },
    );
  }

  private onNetMetadata(metadata: TopicMetadata): void {
    const added: number[] = [];
    for (const info of metadata.partitions) {
      const state = this.partitions.get(info.partition);
      if (state !== undefined) state.leader = info.leader;
      else if (this.begin.partitions === undefined) added.push(info.partition);
    }
    if (added.length > 0) {
      // New partitions hold only records written after the stream started: read them all.
      void this.ctx.port.listOffsets(this.topic, added, 'earliest', this.isolation).then(
        (offsets) => {
          if (this.state !== 'running' || !offsets.ok) return;
          for (const partition of added) {
            if (this.partitions.has(partition)) continue;
            const position = offsets.value.get(partition) ?? 0n;
            const leader = metadata.partitions[partition]?.leader ?? -1;
            this.partitions.set(partition, { partition, leader, position, target: undefined });
            this.positions.set(partition, position);
          }
          this.doAppPump();
        },
        () => undefined,
      );
    }
    this.doAppPump();
  }

  // --- closing ---

  /** A method, so that the state is read afresh after an `await`. */
  private isClosed(): boolean {
    return this.state === 'closed';
  }

  private node(id: number): NodeState {
    let node = this.nodes.get(id);
    if (node === undefined) {
      node = { inflight: false, outstanding: 0, retryTimer: undefined, turn: 0 };
      this.nodes.set(id, node);
    }
    return node;
  }

  private fail(failure: Failure): void {
    if (this.state === 'closed') return;
    const reason = streamError(this.ctx, failure, { operation: 'fetch', topic: this.topic });
    this.ctx.logger.debug(
      { topic: this.topic, code: reason.code, reason: failure.message },
      'fetch stream failed',
    );
    this.release();
    this.app.close(reason);
  }

  private release(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.failures.dispose();
    if (this.metadataTimer !== undefined) clearTimeout(this.metadataTimer);
    this.metadataTimer = undefined;
    for (const node of this.nodes.values()) {
      if (node.retryTimer !== undefined) clearTimeout(node.retryTimer);
      node.retryTimer = undefined;
    }
    this.chunks.length = 0;
    const fetcher = this.fetcher;
    this.fetcher = undefined;
    if (fetcher !== undefined) void fetcher.close();
    this.ctx.closed(this);
  }
}
