/**
 * The `kafka` binding of kind `client`: accepts streams whose begin is a {@link KafkaClientBeginEx}
 * and serves them from Kafka, one stream class per capability (`stream/`).
 *
 * `start()` does not wait for Kafka (the gateway may start first): it sends one probe in the
 * background and returns; connection trouble shows up as events (`events.ts`) and, on streams,
 * as failures. `stop()` lets open streams finish until the deadline, closes what is left with
 * `TRIB_STREAM_SHUTDOWN`, then closes the connections.
 *
 * @module
 */
import type {
  BindingContext,
  BindingHandler,
  Extension,
  Stream,
  StreamError,
  StreamHandler,
} from '@tributary/kernel';
import { errors } from '../errors.ts';
import { ConnectionMonitor } from '../events.ts';
import type { KafkaClientOptions, ResolvedClientOptions } from '../config/options.ts';
import { backoff, resolveClientOptions } from '../config/options.ts';
import { loadTlsMaterial, type TlsMaterial } from '../config/tls.ts';
import type { KafkaErrorEx } from '../index.ts';
import { parseBegin } from './begin.ts';
import { observePort } from './observed.ts';
import { StickyPartitions } from './partitioner.ts';
import type { KafkaPort } from './port.ts';
import { DescribeStream } from './stream/describe.ts';
import { FetchStream } from './stream/fetch.ts';
import { GroupStream, type GroupMemberFactory } from './stream/group.ts';
import { MetaStream } from './stream/meta.ts';
import { ProduceStream } from './stream/produce.ts';
import type { ClientContext, ClientStream } from './stream/support.ts';

/** Makes the port for resolved options; tests substitute their own. */
export type PortFactory = (options: ResolvedClientOptions, tls: TlsMaterial | undefined) => KafkaPort;

export class KafkaClientBinding implements BindingHandler {
  private readonly ctx: BindingContext<KafkaClientOptions>;
  private readonly options: ResolvedClientOptions;
  private readonly port: KafkaPort;
  private readonly monitor: ConnectionMonitor;
  private readonly streams = new Set<ClientStream>();
  private readonly client: ClientContext;
  private readonly groupMember: GroupMemberFactory;
  private stopping = false;
  private drained: (() => void) | undefined;

  /** Throws `TRIB_KAFKA_OPTIONS` (with issues) when TLS material cannot be read. */
  constructor(ctx: BindingContext<KafkaClientOptions>, createPort: PortFactory) {
    this.ctx = ctx;
    this.options = resolveClientOptions(ctx.config.options);
    const tls =
      this.options.tls === undefined
        ? undefined
        : loadTlsMaterial(this.options.tls, { name: ctx.name, configDir: ctx.configDir, vault: ctx.vault() });
    const raw = createPort(this.options, tls);
    const security = securityOf(this.options);
    this.monitor = new ConnectionMonitor({
      events: ctx.events,
      logger: ctx.logger,
      servers: this.options.servers,
      security,
      probe: () => raw.probe(),
      delay: (attempt) => backoff(this.options, attempt),
    });
    this.port = observePort(raw, this.monitor);
    // Observed too: joins, heartbeats and commits report connection loss and recovery.
    this.groupMember = this.port.groupMember?.bind(this.port);
    this.client = {
      name: ctx.name,
      port: this.port,
      options: this.options,
      logger: ctx.logger,
      monitor: this.monitor,
      sticky: new StickyPartitions(),
      security,
      closed: (stream) => {
        this.streams.delete(stream);
        if (this.streams.size === 0) this.drained?.();
      },
    };
  }

  accept(stream: Stream, begin: Extension | undefined): StreamHandler | null {
    if (this.stopping) return null;
    const parsed = parseBegin(begin);
    if (!parsed.ok) {
      const error = errors.TRIB_KAFKA_INVALID_BEGIN({ reason: parsed.reason });
      const ext: KafkaErrorEx = {
        type: 'kafka',
        kind: 'error',
        reason: 'internal',
        code: error.code,
        message: error.message,
        retriable: false,
      };
      this.ctx.logger.warn(
        { stream: stream.id, opener: stream.opener, reason: parsed.reason },
        'refused a stream with an invalid begin',
      );
      // Closed here, then refused: the engine sees a stream already closed and adds nothing.
      stream.close({ code: error.code, message: error.message, ext });
      return null;
    }
    const { ext, filter } = parsed.value;
    let handler: { readonly handler: StreamHandler; start(): void } & ClientStream;
    switch (ext.capability) {
      case 'produce':
        handler = new ProduceStream(this.client, stream, ext);
        break;
      case 'fetch':
        handler = new FetchStream(this.client, stream, ext, filter ?? (() => true));
        break;
      case 'group':
        handler = new GroupStream(this.client, stream, ext, filter ?? (() => true), this.groupMember);
        break;
      case 'meta':
        handler = new MetaStream(this.client, stream, ext);
        break;
      case 'describe':
        handler = new DescribeStream(this.client, stream, ext);
        break;
    }
    this.streams.add(handler);
    handler.start();
    return handler.handler;
  }

  start(): Promise<void> {
    // Not awaited: the gateway starts whether or not Kafka is up; the monitor reports either way.
    this.port.probe().then(
      (result) => {
        if (result.ok) this.monitor.succeeded({ operation: 'probe' });
        else this.monitor.failed(result.error, { operation: 'probe' });
      },
      () => undefined,
    );
    return Promise.resolve();
  }

  async stop(signal: AbortSignal): Promise<void> {
    this.stopping = true;
    if (this.streams.size > 0 && !signal.aborted) {
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
    }
    this.drained = undefined;
    const reason: StreamError = {
      code: 'TRIB_STREAM_SHUTDOWN',
      message: `binding "${this.ctx.name}" is shutting down`,
    };
    for (const stream of [...this.streams]) stream.shutdown(reason);
    this.monitor.close();
    await this.port.close();
  }
}

function securityOf(options: ResolvedClientOptions): string {
  const tls = options.tls === undefined ? '' : 'TLS';
  if (options.sasl === undefined) return tls === '' ? 'PLAINTEXT' : tls;
  const mechanism = options.sasl.mechanism.toUpperCase();
  return tls === '' ? `SASL ${mechanism}` : `SASL ${mechanism} over TLS`;
}
