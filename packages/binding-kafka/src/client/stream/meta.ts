/**
 * The `meta` capability: the topic's partitions and their leaders on the reply begin
 * ({@link KafkaMetaEx}), then a flush with the same shape whenever they change (checked every
 * `metadataMaxAgeMs`). The reply ends when the opener ends. If Kafka cannot be reached for
 * `requestTimeoutMs`, or the topic disappears, the reply is aborted.
 *
 * @module
 */
import type { Stream, StreamError, StreamHandler } from '@tributary/kernel';
import type { KafkaMetaBeginEx, KafkaMetaEx } from '../../index.ts';
import type { TopicMetadata } from '../port.ts';
import {
  clientFailure,
  FailureWindow,
  startMetadata,
  streamError,
  unreachable,
  type ClientContext,
  type ClientStream,
  type Failure,
} from './support.ts';

export class MetaStream implements ClientStream {
  readonly handler: StreamHandler;
  private readonly ctx: ClientContext;
  private readonly app: Stream;
  private readonly topic: string;
  private readonly failures: FailureWindow;
  private state: 'starting' | 'running' | 'closed' = 'starting';
  private timer: NodeJS.Timeout | undefined;
  private last: string | undefined;
  private lastError: Failure | undefined;

  constructor(ctx: ClientContext, app: Stream, begin: KafkaMetaBeginEx) {
    this.ctx = ctx;
    this.app = app;
    this.topic = begin.topic;
    this.failures = new FailureWindow(ctx.options, () => this.fail(unreachable(ctx, this.lastError)));
    this.handler = {
      onEnd: () => {
        if (this.state === 'closed') return;
        this.release();
        this.app.out.end();
      },
      onAbort: (reason) => {
        this.release();
        this.app.out.abort(reason);
      },
      onReset: (reason) => {
        this.release();
        this.app.in.reset(reason);
      },
    };
  }

  start(): void {
    startMetadata(this.ctx.port, this.topic).then(
      (result) => {
        if (this.state === 'closed') return;
        if (result.ok) this.onNetMetadata(result.value);
        else this.onNetFailure(result.error);
      },
      (cause: unknown) => this.fail(clientFailure('internal', String(cause))),
    );
  }

  shutdown(reason: StreamError): void {
    this.release();
    this.app.close(reason);
  }

  private doNetRefresh(): void {
    this.timer = undefined;
    if (this.state === 'closed') return;
    this.ctx.port.metadata(this.topic, true).then(
      (result) => {
        if (this.state === 'closed') return;
        if (result.ok) this.onNetMetadata(result.value);
        else this.onNetFailure(result.error);
      },
      (cause: unknown) => this.fail(clientFailure('internal', String(cause))),
    );
  }

  private onNetMetadata(metadata: TopicMetadata): void {
    this.failures.success();
    const ext: KafkaMetaEx = {
      type: 'kafka',
      kind: 'meta',
      topic: this.topic,
      partitions: metadata.partitions.map((p) => ({ partition: p.partition, leader: p.leader })),
    };
    const fingerprint = JSON.stringify(ext.partitions);
    if (this.state === 'starting') {
      this.state = 'running';
      this.app.out.begin(ext);
    } else if (fingerprint !== this.last) this.app.out.flush(ext);
    this.last = fingerprint;
    this.timer = setTimeout(() => this.doNetRefresh(), this.ctx.options.metadataMaxAgeMs);
  }

  private onNetFailure(error: Failure): void {
    if (!error.retriable) {
      this.fail(error);
      return;
    }
    this.lastError = error;
    const delay = this.failures.failure();
    this.timer = setTimeout(() => this.doNetRefresh(), delay);
  }

  private fail(failure: Failure): void {
    if (this.state === 'closed') return;
    const reason = streamError(this.ctx, failure, { operation: 'metadata', topic: this.topic });
    this.release();
    this.app.close(reason);
  }

  private release(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.failures.dispose();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.ctx.closed(this);
  }
}
