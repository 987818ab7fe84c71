/**
 * What the client kind's streams share: their view of the binding, the translation of port
 * errors into stream errors, and the rule that gives up on an unreachable cluster.
 *
 * @module
 */
import type { Logger, StreamError } from '@tributary/kernel';
import type { KafkaErrorEx } from '../../index.ts';
import { errors } from '../../errors.ts';
import { backoff, type ResolvedClientOptions } from '../../config/options.ts';
import type { ConnectionMonitor } from '../../events.ts';
import type { StickyPartitions } from '../partitioner.ts';
import type { KafkaPort, PortError, PortResult, TopicMetadata } from '../port.ts';

export const EMPTY = new Uint8Array(0);

/** What a stream of the client kind gets from its binding. */
export interface ClientContext {
  /** The binding's name, for logs. */
  readonly name: string;
  readonly port: KafkaPort;
  readonly options: ResolvedClientOptions;
  readonly logger: Logger;
  readonly monitor: ConnectionMonitor;
  readonly sticky: StickyPartitions;
  /** `PLAINTEXT`, `TLS`, or the SASL mechanism, for authentication errors. */
  readonly security: string;
  /** Called once when the stream has released everything it held. */
  closed(stream: ClientStream): void;
}

/** A stream the binding can close at its stop deadline. */
export interface ClientStream {
  shutdown(reason: StreamError): void;
}

export type FailureReason = KafkaErrorEx['reason'];

/** Why a stream or a record failed: a {@link PortError}, or a failure of the binding's own. */
export interface Failure {
  readonly reason: FailureReason;
  readonly message: string;
  readonly retriable: boolean;
}

/** The `reset`/`abort` reason for a failure: a `TRIB_KAFKA_*` code and a {@link KafkaErrorEx}. */
export function streamError(
  ctx: Pick<ClientContext, 'options' | 'security'>,
  error: Failure,
  scope: { readonly operation: string; readonly topic: string; readonly ms?: number },
): StreamError & { readonly ext: KafkaErrorEx } {
  const made = (() => {
    switch (error.reason) {
      case 'unavailable':
        return errors.TRIB_KAFKA_UNAVAILABLE({ reason: error.message });
      case 'timeout':
        return errors.TRIB_KAFKA_TIMEOUT({ ms: scope.ms ?? ctx.options.requestTimeoutMs });
      case 'authentication':
        return errors.TRIB_KAFKA_AUTHENTICATION({
          mechanism: ctx.security,
          servers: ctx.options.servers.join(','),
          reason: error.message,
        });
      case 'authorization':
        return errors.TRIB_KAFKA_AUTHORIZATION({
          operation: scope.operation,
          resource: `topic "${scope.topic}"`,
          reason: error.message,
        });
      case 'unknown-topic':
        return errors.TRIB_KAFKA_UNKNOWN_TOPIC({ topic: scope.topic });
      case 'invalid-record':
        return errors.TRIB_KAFKA_INVALID_RECORD({ reason: error.message });
      case 'invalid-token':
        return errors.TRIB_KAFKA_INVALID_TOKEN({ reason: error.message });
      case 'rebalanced':
        return errors.TRIB_KAFKA_REBALANCED({ reason: error.message });
      case 'internal':
        return errors.TRIB_KAFKA_INTERNAL({ reason: error.message });
    }
  })();
  const ext: KafkaErrorEx = {
    type: 'kafka',
    kind: 'error',
    reason: error.reason,
    code: made.code,
    message: made.message,
    retriable: error.retriable,
  };
  return { code: made.code, message: made.message, ext };
}

/** A failure found by the binding itself (bad input). */
export function clientFailure(
  reason: 'invalid-record' | 'invalid-token' | 'rebalanced' | 'internal',
  message: string,
): Failure {
  return { reason, message, retriable: false };
}

/**
 * The rule for giving up on Kafka: once a request of a stream has failed, the stream is given
 * `requestTimeoutMs` for one of its requests to succeed; if none has by then, `onExpired` runs
 * (the stream aborts with `unavailable`). Retries happen meanwhile, with backoff.
 */
export class FailureWindow {
  private timer: NodeJS.Timeout | undefined;
  private attempts = 0;
  private readonly options: ResolvedClientOptions;
  private readonly onExpired: () => void;

  constructor(options: ResolvedClientOptions, onExpired: () => void) {
    this.options = options;
    this.onExpired = onExpired;
  }

  /** True while requests are failing. */
  get failing(): boolean {
    return this.timer !== undefined;
  }

  /** Records a failure; returns the wait before the next attempt. Arms the deadline on the first. */
  failure(): number {
    this.attempts++;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.onExpired();
    }, this.options.requestTimeoutMs);
    return backoff(this.options, this.attempts);
  }

  /** A request succeeded: the window closes. */
  success(): void {
    this.attempts = 0;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  dispose(): void {
    this.success();
  }

  /**
   * Runs `request` until it succeeds, fails for good, or `isClosed()`; retriable failures wait
   * the backoff (and are passed to `onRetriable`). When the window expires meanwhile, the stream
   * fails through `onExpired` and the loop ends at its next check of `isClosed`.
   */
  async retry<T>(
    isClosed: () => boolean,
    request: () => Promise<PortResult<T>>,
    onRetriable: (error: PortError) => void,
  ): Promise<PortResult<T>> {
    for (;;) {
      if (isClosed()) return { ok: false, error: closedFailure() };
      const result = await request();
      if (result.ok) {
        this.success();
        return result;
      }
      if (!result.error.retriable || isClosed()) return result;
      onRetriable(result.error);
      await new Promise((resolve) => setTimeout(resolve, this.failure()));
    }
  }
}

/** The port error of a request cut short because its stream closed. */
export function closedFailure(): PortError {
  return {
    reason: 'internal',
    message: 'the stream closed',
    retriable: false,
    staleMetadata: false,
    unsupportedVersion: false,
  };
}

/** A failure the port did not classify (a throw), treated as retriable. */
export function internalError(cause: unknown): PortError {
  return {
    reason: 'internal',
    message: cause instanceof Error ? cause.message : String(cause),
    retriable: true,
    staleMetadata: false,
    unsupportedVersion: false,
  };
}

/** The failure a stream reports when its {@link FailureWindow} expires. */
export function unreachable(ctx: Pick<ClientContext, 'options'>, last: Failure | undefined): Failure {
  const why = last === undefined ? '' : `: ${last.message}`;
  return {
    reason: 'unavailable',
    message: `no request succeeded for ${ctx.options.requestTimeoutMs} ms${why}`,
    retriable: true,
  };
}

/**
 * Topic metadata for a stream that is starting. An unknown topic is asked again a few times
 * (briefly: a topic just created may not be in every broker's metadata yet) before it is
 * reported.
 */
export async function startMetadata(port: KafkaPort, topic: string): Promise<PortResult<TopicMetadata>> {
  let result = await port.metadata(topic);
  for (let attempt = 1; attempt <= 3 && !result.ok && result.error.reason === 'unknown-topic'; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    result = await port.metadata(topic, true);
  }
  return result;
}
