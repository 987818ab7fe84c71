/**
 * The `group` capability: the stream is one member of a Kafka consumer group subscribed to one
 * topic, and the reply carries the records of the partitions the group assigns it.
 *
 * **Membership.** The stream joins the group through a {@link KafkaGroupMember} of the port
 * (heartbeats and rejoins after rebalances happen there) and opens the reply once it has joined.
 * Every assignment, the first and each one after a rebalance, is announced with a flush carrying
 * {@link KafkaAssignmentEx}; what was fetched for the previous assignment and not yet handed over
 * is dropped. Each assigned partition starts at the group's committed offset, or, without one,
 * at the earliest (`start: 'historical'`) or latest (`live`, the default) offset.
 *
 * **Records.** Each record is one data frame with a {@link KafkaRecordDataEx}, handed over only
 * while the opener has credit, as in `fetch.ts`: each broker is asked again only once what it
 * returned has been handed over.
 *
 * **Commits.** A flush with {@link KafkaCommitEx} on the initial half commits its offsets to the
 * group; each is answered, in order, by a flush with {@link KafkaCommitAckEx}. A commit naming a
 * partition outside the current assignment is refused here (`rebalanced`) without asking Kafka:
 * the classic protocol checks only the member's generation, not who owns a partition, so it
 * would overwrite the progress of the partition's new owner. A commit Kafka refuses (the
 * generation ended) is `rebalanced` too. A failed commit changes nothing and leaves the stream
 * open.
 *
 * **Losing the membership** (session expired, removed from the group, fenced) is not the end of
 * the stream: the member rejoins by itself and the new assignment is announced as usual. Only a
 * rejoin that fails for good fails the stream.
 *
 * **Closing.** Ending or aborting the stream leaves the group at once, so that the other members
 * rebalance without waiting for the session timeout. Kafka trouble is retried with backoff; if
 * no fetch has succeeded for `requestTimeoutMs` since the first failure, or none of the
 * membership's requests (heartbeats, rejoins) has, the stream fails with reason `unavailable`,
 * as a fetch stream does.
 *
 * @module
 */
import type { Extension, StreamError, StreamHandler, Stream } from '@tributary/kernel';
import type {
  KafkaAssignmentEx,
  KafkaCommitAckEx,
  KafkaGroupBeginEx,
  KafkaIsolation,
  KafkaRecordDataEx,
} from '../../index.ts';
import type { RecordPredicate } from '../../stream/filters.ts';
import { encodeToken } from '../../stream/token.ts';
import { parseCommit } from '../begin.ts';
import type {
  FetchedPartition,
  FetchedRecord,
  GroupMemberEvents,
  KafkaFetcher,
  KafkaGroupMember,
  KafkaPort,
  PortError,
  PortResult,
} from '../port.ts';
import {
  clientFailure,
  closedFailure,
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

/** Makes the group member of a stream; undefined when the port has no consumer groups. */
export type GroupMemberFactory =
  ((topic: string, groupId: string, events: GroupMemberEvents) => KafkaGroupMember) | undefined;

interface PartitionState {
  readonly partition: number;
  leader: number;
  /** The next offset to read (and to hand over). */
  position: bigint;
}

interface Chunk {
  readonly node: number;
  readonly partition: number;
  readonly records: readonly FetchedRecord[];
  index: number;
  readonly nextOffset: bigint;
}

interface NodeState {
  inflight: boolean;
  outstanding: number;
  retryTimer: NodeJS.Timeout | undefined;
}

export class GroupStream implements ClientStream {
  readonly handler: StreamHandler;
  private readonly ctx: ClientContext;
  private readonly app: Stream;
  private readonly begin: KafkaGroupBeginEx;
  private readonly topic: string;
  private readonly isolation: KafkaIsolation;
  private readonly filter: RecordPredicate;
  private readonly createMember: GroupMemberFactory;
  private readonly failures: FailureWindow;
  /** The same rule for the membership's background requests (heartbeats, rejoins). */
  private readonly membership: FailureWindow;
  private member: KafkaGroupMember | undefined;
  private fetcher: KafkaFetcher | undefined;
  private state: 'starting' | 'running' | 'closed' = 'starting';
  /** Bumped on every assignment: work for an older one is discarded. */
  private generation = 0;
  /** An assignment that arrived before the reply opened. */
  private pendingAssignment: readonly number[] | undefined;
  /** The partitions of the latest assignment announced to the opener. */
  private assigned: ReadonlySet<number> = new Set();
  private readonly partitions = new Map<number, PartitionState>();
  private readonly nodes = new Map<number, NodeState>();
  private chunks: Chunk[] = [];
  private commits: Promise<void> = Promise.resolve();
  private pumping = false;
  private pumpAgain = false;
  private lastError: Failure | undefined;
  /** The opener ended: commits are still answered, records and assignments no longer sent. */
  private ending = false;

  constructor(
    ctx: ClientContext,
    app: Stream,
    begin: KafkaGroupBeginEx,
    filter: RecordPredicate,
    createMember: GroupMemberFactory,
  ) {
    this.ctx = ctx;
    this.app = app;
    this.begin = begin;
    this.topic = begin.topic;
    this.isolation = begin.isolation ?? ctx.options.fetch.isolation;
    this.filter = filter;
    this.createMember = createMember;
    this.failures = new FailureWindow(ctx.options, () => this.fail(unreachable(ctx, this.lastError)));
    this.membership = new FailureWindow(ctx.options, () => this.fail(unreachable(ctx, this.lastError)));
    this.handler = {
      onFlush: (ext) => this.onAppFlush(ext),
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

  private onAppFlush(ext: Extension | undefined): void {
    if (this.state === 'closed') return;
    const parsed = parseCommit(ext);
    // Checked against the assignment when the commit arrives, before any later rebalance.
    const assigned = this.assigned;
    const foreign = parsed.ok
      ? [...new Set(parsed.value.map((o) => o.partition))].filter((p) => !assigned.has(p))
      : [];
    this.commits = this.commits.then(async () => {
      let answer: KafkaCommitAckEx;
      if (!parsed.ok) {
        answer = this.commitAck(clientFailure('internal', parsed.reason));
      } else if (foreign.length > 0) {
        const held = assigned.size === 0 ? 'none' : [...assigned].join(', ');
        answer = this.commitAck(
          clientFailure(
            'rebalanced',
            `partition(s) ${foreign.join(', ')} of topic "${this.topic}" are not assigned to this member (it holds ${held}); nothing was committed`,
          ),
        );
      } else {
        const member = this.member;
        const result =
          member === undefined
            ? { ok: false as const, error: closedFailure() }
            : await member.commit(parsed.value);
        answer = result.ok ? { type: 'kafka', kind: 'commit-ack', ok: true } : this.commitAck(result.error);
      }
      if (this.state === 'running' && this.app.out.writable) this.app.out.flush(answer);
    });
  }

  private commitAck(failure: Failure): KafkaCommitAckEx {
    const error = streamError(this.ctx, failure, { operation: 'commit', topic: this.topic }).ext;
    return { type: 'kafka', kind: 'commit-ack', ok: false, error };
  }

  private onAppEnd(): void {
    if (this.state === 'closed') return;
    // Answer the commits already sent, then leave the group and end the reply.
    const commits = this.commits;
    this.ending = true;
    this.stopFetching();
    void commits.then(() => {
      this.release();
      if (this.app.out.writable) this.app.out.end();
    });
  }

  private onAppAbort(reason: StreamError): void {
    this.release();
    this.app.out.abort(reason);
  }

  private onAppReset(reason: StreamError): void {
    this.release();
    this.app.in.reset(reason);
  }

  private doAppPump(): void {
    if (this.state !== 'running' || this.ending) return;
    if (this.pumping) {
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
        if (out.credit <= 0 || out.queued > 0) return;
        const record = chunk.records[chunk.index++]!;
        if (state === undefined || record.offset < state.position) continue;
        state.position = record.offset + 1n;
        if (!this.filter(record)) continue;
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
        continue;
      }
      this.chunks.shift();
      if (state !== undefined && chunk.nextOffset > state.position) state.position = chunk.nextOffset;
      const node = this.nodes.get(chunk.node);
      if (node !== undefined) node.outstanding--;
    }
  }

  private token(): string {
    const offsets = new Map<number, bigint>();
    for (const state of this.partitions.values()) offsets.set(state.partition, state.position);
    return encodeToken({ offsets }, this.ctx.options.tokenKey);
  }

  // --- net side: membership ---

  private async doNetStart(): Promise<Failure | undefined> {
    if (this.createMember === undefined) {
      return clientFailure('internal', 'this Kafka client does not support consumer groups');
    }
    const metadata = await this.retry(() => startMetadata(this.ctx.port, this.topic));
    if (!metadata.ok) return metadata.error;
    if (this.state !== 'starting') return undefined;
    this.member = this.createMember(this.topic, this.begin.groupId, {
      assigned: (partitions) => this.onNetAssigned(partitions),
      background: (outcome) => this.onNetBackground(outcome),
      failed: (error) => this.fail(error),
    });
    const joined = await this.retry(
      () => this.member?.join() ?? Promise.resolve({ ok: false as const, error: closedFailure() }),
    );
    if (!joined.ok) return joined.error;
    if (this.state !== 'starting') return undefined;
    this.fetcher = this.ctx.port.fetcher();
    this.state = 'running';
    this.app.out.begin();
    const pending = this.pendingAssignment;
    this.pendingAssignment = undefined;
    if (pending !== undefined) this.onNetAssigned(pending);
    return undefined;
  }

  /** Heartbeats and rejoins: Kafka unreachable for `requestTimeoutMs` fails the stream. */
  private onNetBackground(outcome: PortResult<void>): void {
    if (this.state === 'closed') return;
    if (outcome.ok) {
      this.membership.success();
      return;
    }
    const error = outcome.error;
    if (error.reason === 'authentication' || error.reason === 'authorization') {
      this.fail(error);
      return;
    }
    if (error.reason !== 'unavailable' && error.reason !== 'timeout') return;
    this.lastError = error;
    this.membership.failure();
  }

  private onNetAssigned(partitions: readonly number[]): void {
    this.membership.success();
    if (this.state === 'starting') {
      this.pendingAssignment = partitions;
      return;
    }
    if (this.state !== 'running' || this.ending) return;
    const generation = ++this.generation;
    this.assigned = new Set(partitions);
    this.partitions.clear();
    this.chunks = [];
    for (const node of this.nodes.values()) node.outstanding = 0;
    const ext: KafkaAssignmentEx = { type: 'kafka', kind: 'assignment', partitions: [...partitions] };
    this.app.out.flush(ext);
    if (partitions.length === 0) return;
    this.doNetPosition(generation, partitions).then(
      (failure) => {
        if (failure !== undefined) this.fail(failure);
      },
      (cause: unknown) =>
        this.fail(clientFailure('internal', cause instanceof Error ? cause.message : String(cause))),
    );
  }

  /** Finds where each assigned partition starts, then starts fetching them. */
  private async doNetPosition(
    generation: number,
    partitions: readonly number[],
  ): Promise<Failure | undefined> {
    const current = () => this.state === 'running' && this.generation === generation;
    const port: KafkaPort = this.ctx.port;
    const metadata = await this.retry(() => port.metadata(this.topic));
    if (!metadata.ok) return metadata.error;
    if (!current()) return undefined;
    const committed = await this.retry(
      () =>
        this.member?.committed(partitions) ?? Promise.resolve({ ok: false as const, error: closedFailure() }),
    );
    if (!committed.ok) return current() ? committed.error : undefined;
    if (!current()) return undefined;
    const missing = partitions.filter((partition) => !committed.value.has(partition));
    const spec = this.begin.start === 'historical' ? 'earliest' : 'latest';
    const ends = await this.retry(() => port.listOffsets(this.topic, missing, spec, this.isolation));
    if (!ends.ok) return ends.error;
    if (!current()) return undefined;
    for (const partition of partitions) {
      const position = committed.value.get(partition) ?? ends.value.get(partition) ?? 0n;
      const leader = metadata.value.partitions[partition]?.leader ?? -1;
      this.partitions.set(partition, { partition, leader, position });
    }
    this.doAppPump();
    return undefined;
  }

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
    node.inflight = true;
    const generation = this.generation;
    const { maxWaitMs, maxBytes, partitionMaxBytes } = this.ctx.options.fetch;
    this.fetcher
      .fetch({
        topic: this.topic,
        node: nodeId,
        partitions: mine.map((p) => ({ partition: p.partition, offset: p.position, leaderEpoch: -1 })),
        isolation: this.isolation,
        maxWaitMs,
        maxBytes,
        partitionMaxBytes,
      })
      .then(
        (result) => this.onNetFetched(nodeId, generation, mine, result),
        (cause: unknown) =>
          this.onNetFetched(nodeId, generation, mine, {
            ok: false,
            error: internalError(cause),
          }),
      );
  }

  private onNetFetched(
    nodeId: number,
    generation: number,
    asked: readonly PartitionState[],
    result: PortResult<readonly FetchedPartition[]>,
  ): void {
    const node = this.node(nodeId);
    node.inflight = false;
    if (this.state !== 'running') return;
    if (generation !== this.generation) {
      // Fetched for an assignment that has since changed.
      this.doAppPump();
      return;
    }
    if (!result.ok) {
      this.onNetFailure(nodeId, result.error);
      return;
    }
    this.failures.success();
    let stale = false;
    for (const fetched of result.value) {
      const state = this.partitions.get(fetched.partition);
      if (state === undefined || !asked.includes(state)) continue;
      if (fetched.error !== undefined) {
        const error = fetched.error;
        if (error.reason === 'authorization' || error.reason === 'authentication') {
          this.fail(error);
          return;
        }
        if (error.cause === 'OFFSET_OUT_OF_RANGE') this.doNetResetOutOfRange(fetched.partition);
        else stale = true;
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
    if (stale) {
      this.doNetRefresh();
      this.retryLater(nodeId, this.ctx.options.retryDelayMs);
    }
    this.doAppPump();
  }

  private onNetFailure(nodeId: number, error: PortError): void {
    if (error.reason === 'authentication' || error.reason === 'authorization' || !error.retriable) {
      this.fail(error);
      return;
    }
    this.lastError = error;
    const delay = this.failures.failure();
    this.doNetRefresh();
    this.retryLater(nodeId, delay);
  }

  private retryLater(nodeId: number, delay: number): void {
    const node = this.node(nodeId);
    if (node.retryTimer !== undefined) return;
    node.retryTimer = setTimeout(() => {
      node.retryTimer = undefined;
      this.doAppPump();
    }, delay);
  }

  /** A committed offset that is no longer in the log: the partition restarts at the earliest. */
  private doNetResetOutOfRange(partition: number): void {
    const generation = this.generation;
    void this.ctx.port.listOffsets(this.topic, [partition], 'earliest', this.isolation).then((offsets) => {
      if (this.state !== 'running' || generation !== this.generation || !offsets.ok) return;
      const state = this.partitions.get(partition);
      const low = offsets.value.get(partition);
      if (state === undefined || low === undefined) return;
      this.ctx.logger.warn(
        { topic: this.topic, partition, from: String(state.position), to: String(low) },
        'group offset out of range; moved to the earliest offset',
      );
      state.position = low;
      this.doAppPump();
    });
  }

  private doNetRefresh(): void {
    void this.ctx.port.metadata(this.topic, true).then((result) => {
      if (this.state !== 'running' || !result.ok) return;
      for (const info of result.value.partitions) {
        const state = this.partitions.get(info.partition);
        if (state !== undefined) state.leader = info.leader;
      }
      this.doAppPump();
    });
  }

  // --- closing ---

  private isClosed(): boolean {
    return this.state === 'closed';
  }

  private node(id: number): NodeState {
    let node = this.nodes.get(id);
    if (node === undefined) {
      node = { inflight: false, outstanding: 0, retryTimer: undefined };
      this.nodes.set(id, node);
    }
    return node;
  }

  private fail(failure: Failure): void {
    if (this.state === 'closed') return;
    const reason = streamError(this.ctx, failure, { operation: 'group', topic: this.topic });
    this.ctx.logger.debug(
      { topic: this.topic, groupId: this.begin.groupId, code: reason.code, reason: failure.message },
      'group stream failed',
    );
    this.release();
    this.app.close(reason);
  }

  /** Stops reading records (the membership stays until {@link release}). */
  private stopFetching(): void {
    this.generation++;
    this.partitions.clear();
    this.chunks = [];
    for (const node of this.nodes.values()) {
      if (node.retryTimer !== undefined) clearTimeout(node.retryTimer);
      node.retryTimer = undefined;
    }
    const fetcher = this.fetcher;
    this.fetcher = undefined;
    if (fetcher !== undefined) void fetcher.close();
  }

  private release(): void {
    if (this.state === 'closed') return;
    this.stopFetching();
    this.state = 'closed';
    this.failures.dispose();
    this.membership.dispose();
    const member = this.member;
    this.member = undefined;
    // Leaving tells the coordinator at once, so that the others rebalance now.
    if (member !== undefined) void member.leave();
    this.ctx.closed(this);
  }
}
