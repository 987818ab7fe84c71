/**
 * Diagnostic events of `kafka` bindings (docs/events.md), emitted on state transitions only.
 *
 * A {@link ConnectionMonitor} watches the outcome of every request a binding makes and keeps one
 * state for the cluster: `unknown` until the first outcome, then `up`, `down` (unreachable) or
 * `refused` (authentication failed). Entering `down` emits `kafka.connection.lost`, entering
 * `refused` emits `kafka.authentication.failed`, and leaving either for `up` emits
 * `kafka.connection.recovered`. While the cluster is down or refused, the monitor probes it
 * with backoff, so that recovery is noticed (and reported) even when no stream is asking.
 * Authorization failures are tracked per operation and resource; an unsupported protocol
 * version is reported once per binding. OAUTHBEARER token sources (`client/oauth.ts`) report
 * `kafka.oauth.token.failed` / `kafka.oauth.token.recovered` the same way: on transitions.
 *
 * Details carry host names, codes and topic names, never credentials or payloads.
 *
 * @module
 */
import type { EventSink, Logger } from '@tributary/kernel';
import type { PortError, PortResult } from './client/port.ts';

export const KAFKA_EVENTS = {
  connectionLost: 'kafka.connection.lost',
  connectionRecovered: 'kafka.connection.recovered',
  authenticationFailed: 'kafka.authentication.failed',
  authorizationFailed: 'kafka.authorization.failed',
  versionUnsupported: 'kafka.version.unsupported',
  oauthTokenFailed: 'kafka.oauth.token.failed',
  oauthTokenRecovered: 'kafka.oauth.token.recovered',
} as const;

export type KafkaEventName = (typeof KAFKA_EVENTS)[keyof typeof KAFKA_EVENTS];

export type ClusterState = 'unknown' | 'up' | 'down' | 'refused';

/** What a request was, for authorization events and their recovery. */
export interface RequestScope {
  /**
   * `produce`, `fetch`, `metadata`, `listOffsets`, `describeConfigs`, `probe`, or the traffic of
   * a consumer group member: `group` (joining, heartbeats, rejoins), `commit`, `committed`.
   */
  readonly operation: string;
  readonly topic?: string;
}

export interface ConnectionMonitorOptions {
  readonly events: EventSink;
  readonly logger: Logger;
  /** Bootstrap servers, for the events' detail. */
  readonly servers: readonly string[];
  /** `PLAINTEXT`, `TLS`, or the SASL mechanism, for the events' detail. */
  readonly security: string;
  /** A cheap request to the cluster (see `KafkaPort.probe`). */
  readonly probe: () => Promise<PortResult<void>>;
  /** Wait before probe number `attempt` (1-based). */
  readonly delay: (attempt: number) => number;
}

export class ConnectionMonitor {
  private current: ClusterState = 'unknown';
  private readonly denied = new Set<string>();
  private unsupportedReported = false;
  private probeTimer: NodeJS.Timeout | undefined;
  private probing = false;
  private attempt = 0;
  private closed = false;
  private readonly options: ConnectionMonitorOptions;

  constructor(options: ConnectionMonitorOptions) {
    this.options = options;
  }

  get state(): ClusterState {
    return this.current;
  }

  /** A request succeeded: the cluster is up, and the scope's authorization is restored. */
  succeeded(scope?: RequestScope): void {
    if (this.closed) return;
    if (scope?.topic !== undefined) this.denied.delete(this.deniedKey(scope));
    if (this.current === 'up') return;
    const previous = this.current;
    this.current = 'up';
    this.attempt = 0;
    this.cancelProbe();
    if (previous === 'down' || previous === 'refused') {
      this.emit(KAFKA_EVENTS.connectionRecovered, 'info', `Kafka is reachable again at ${this.servers()}`, {
        servers: this.servers(),
        after: previous === 'down' ? 'connection lost' : 'authentication failed',
      });
    } else {
      this.options.logger.info({ servers: this.servers() }, 'connected to Kafka');
    }
  }

  /** A request failed with `error`. */
  failed(error: PortError, scope: RequestScope): void {
    if (this.closed) return;
    if (error.unsupportedVersion && !this.unsupportedReported) {
      this.unsupportedReported = true;
      this.emit(
        KAFKA_EVENTS.versionUnsupported,
        'error',
        `the Kafka cluster at ${this.servers()} does not support a protocol version the gateway needs (Kafka 3.5 or later is required)`,
        {
          servers: this.servers(),
          operation: scope.operation,
          code: error.cause ?? 'UNSUPPORTED_VERSION',
          reason: error.message,
        },
      );
    }
    switch (error.reason) {
      case 'unavailable':
        // A closed client is the binding stopping, not the cluster going away.
        if (error.cause === 'CLIENT_CLOSED') return;
        // Leadership moving is the cluster working, not the gateway losing it.
        if (error.staleMetadata) return;
        this.enter('down', error);
        return;
      case 'authentication':
        this.enter('refused', error);
        return;
      case 'authorization': {
        const key = this.deniedKey(scope);
        if (this.denied.has(key)) return;
        this.denied.add(key);
        const resource = scope.topic === undefined ? 'the cluster' : `topic "${scope.topic}"`;
        this.emit(
          KAFKA_EVENTS.authorizationFailed,
          'error',
          `Kafka denied ${scope.operation} on ${resource} to the gateway's principal`,
          {
            servers: this.servers(),
            operation: scope.operation,
            resource: scope.topic ?? 'cluster',
            code: error.cause ?? 'AUTHORIZATION_FAILED',
          },
        );
        return;
      }
      case 'timeout':
      case 'rebalanced':
      case 'unknown-topic':
      case 'invalid-record':
      case 'internal':
        // Kafka answered (or the request itself was at fault): the connection is fine.
        return;
    }
  }

  /** Stops probing; later outcomes are ignored. */
  close(): void {
    this.closed = true;
    this.cancelProbe();
  }

  private enter(state: 'down' | 'refused', error: PortError): void {
    if (this.current === state) return;
    this.current = state;
    if (state === 'down') {
      this.emit(
        KAFKA_EVENTS.connectionLost,
        'warn',
        `cannot reach Kafka at ${this.servers()}; retrying in the background`,
        { servers: this.servers(), code: error.cause ?? 'NETWORK', reason: error.message },
      );
    } else {
      this.emit(
        KAFKA_EVENTS.authenticationFailed,
        'error',
        `Kafka at ${this.servers()} refused the gateway's credentials (${this.options.security})`,
        {
          servers: this.servers(),
          security: this.options.security,
          code: error.cause ?? 'AUTHENTICATION_FAILED',
          reason: error.message,
        },
      );
    }
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    if (this.closed || this.probeTimer !== undefined || this.probing) return;
    this.attempt++;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined;
      this.runProbe();
    }, this.options.delay(this.attempt));
  }

  private runProbe(): void {
    if (this.closed || this.current === 'up') return;
    this.probing = true;
    this.options.probe().then(
      (result) => {
        this.probing = false;
        if (this.closed) return;
        if (result.ok) this.succeeded({ operation: 'probe' });
        else {
          this.failed(result.error, { operation: 'probe' });
          if (this.current !== 'up') this.scheduleProbe();
        }
      },
      () => {
        // The port never rejects; keep probing if it ever does.
        this.probing = false;
        if (!this.closed && this.current !== 'up') this.scheduleProbe();
      },
    );
  }

  private cancelProbe(): void {
    if (this.probeTimer !== undefined) clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
  }

  private deniedKey(scope: RequestScope): string {
    return `${scope.operation} ${scope.topic ?? ''}`;
  }

  private servers(): string {
    return this.options.servers.join(',');
  }

  private emit(
    name: KafkaEventName,
    level: 'error' | 'warn' | 'info',
    message: string,
    detail: Record<string, unknown>,
  ): void {
    this.options.events.emit({ name, level, message, detail });
  }
}
