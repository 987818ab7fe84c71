/**
 * The `describe` capability: the topic's configuration (Kafka protocol: DescribeConfigs) on the
 * reply begin ({@link KafkaDescribeEx}), then the end of the reply. Retried with backoff while
 * Kafka is unreachable, for at most `requestTimeoutMs`; an unknown topic aborts at once.
 *
 * @module
 */
import type { Stream, StreamError, StreamHandler } from '@tributary/kernel';
import type { KafkaDescribeBeginEx, KafkaDescribeEx } from '../../index.ts';
import {
  clientFailure,
  FailureWindow,
  streamError,
  unreachable,
  type ClientContext,
  type ClientStream,
  type Failure,
} from './support.ts';

export class DescribeStream implements ClientStream {
  readonly handler: StreamHandler;
  private readonly ctx: ClientContext;
  private readonly app: Stream;
  private readonly begin: KafkaDescribeBeginEx;
  private readonly failures: FailureWindow;
  private state: 'starting' | 'closed' = 'starting';
  private timer: NodeJS.Timeout | undefined;
  private lastError: Failure | undefined;

  constructor(ctx: ClientContext, app: Stream, begin: KafkaDescribeBeginEx) {
    this.ctx = ctx;
    this.app = app;
    this.begin = begin;
    this.failures = new FailureWindow(ctx.options, () => this.fail(unreachable(ctx, this.lastError)));
    this.handler = {
      // The opener ending its half changes nothing: the answer is sent once and the reply ends.
      onEnd: () => undefined,
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
    this.timer = undefined;
    if (this.state === 'closed') return;
    this.ctx.port.describeConfigs(this.begin.topic, this.begin.configs).then(
      (result) => {
        if (this.state === 'closed') return;
        if (result.ok) {
          const ext: KafkaDescribeEx = {
            type: 'kafka',
            kind: 'describe',
            topic: this.begin.topic,
            configs: result.value,
          };
          this.release();
          this.app.out.begin(ext);
          this.app.out.end();
          return;
        }
        // DescribeConfigs names a missing topic definitively; fresher metadata would not help.
        if (!result.error.retriable || result.error.reason === 'unknown-topic') {
          this.fail(result.error);
          return;
        }
        this.lastError = result.error;
        const delay = this.failures.failure();
        this.timer = setTimeout(() => this.start(), delay);
      },
      (cause: unknown) => this.fail(clientFailure('internal', String(cause))),
    );
  }

  shutdown(reason: StreamError): void {
    this.release();
    this.app.close(reason);
  }

  private fail(failure: Failure): void {
    if (this.state === 'closed') return;
    const reason = streamError(this.ctx, failure, { operation: 'describeConfigs', topic: this.begin.topic });
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
