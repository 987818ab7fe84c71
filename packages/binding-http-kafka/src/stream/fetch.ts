/**
 * What both fetch operations share: one `fetch` stream towards the Kafka cache, whole records
 * out of it, and the caught-up signal.
 */
import {
  MessageAssembler,
  type DataFrame,
  type Extension,
  type Stream,
  type StreamError,
} from '@tributary/kernel';
import {
  routeFilters,
  type KafkaCaughtUpEx,
  type KafkaFetchBeginEx,
  type KafkaRecordDataEx,
} from '@tributary/binding-kafka';
import type { HttpKafkaFetchWith } from '../config/schema.ts';
import { errors } from '../errors.ts';
import type { OperationHost, Target } from './proxy.ts';
import type { Exchange } from './exchange.ts';

export interface RecordMessage {
  readonly payload: Uint8Array;
  readonly ext: KafkaRecordDataEx;
  readonly credit: number;
}

export interface FetchListener {
  onRecord(record: RecordMessage): void;
  onCaughtUp(token: string): void;
  onFailed(reason: StreamError): void;
}

/**
 * Opens a fetch stream for `exchange` and calls `listener` with whole records. The caller returns
 * each record's credit with {@link FetchStream.consumed} when it is done with it.
 */
export class FetchStream {
  private readonly assembler = new MessageAssembler<KafkaRecordDataEx>();
  private stream: Stream | undefined;

  constructor(
    host: OperationHost,
    exchange: Exchange,
    exit: string,
    begin: KafkaFetchBeginEx,
    window: number,
    listener: FetchListener,
  ) {
    this.stream = host.ctx.open(
      exit,
      { ext: begin, authorization: exchange.stream.authorization },
      {
        onData: (frame: DataFrame) => {
          const message = this.assembler.push(frame as DataFrame<KafkaRecordDataEx>);
          if (message === undefined) {
            this.stream?.in.window(frame.credit);
            return;
          }
          if (message.ext?.type !== 'kafka' || message.ext.kind !== 'record') {
            this.consumed(message.credit);
            return;
          }
          listener.onRecord(message as RecordMessage);
        },
        onFlush: (ext: Extension | undefined) => {
          const caughtUp = ext as KafkaCaughtUpEx | undefined;
          if (caughtUp?.type === 'kafka' && caughtUp.kind === 'caught-up')
            listener.onCaughtUp(caughtUp.token);
        },
        onEnd: () => {
          this.stream = undefined;
          listener.onFailed({ code: errors.TRIB_HTTP_KAFKA_FETCH_ENDED.code });
        },
        onAbort: (reason) => {
          this.stream = undefined;
          listener.onFailed(reason);
        },
        onReset: (reason) => {
          this.stream = undefined;
          listener.onFailed(reason);
        },
      },
    );
    this.stream.in.window(window);
    // A fetch sends nothing on its initial half.
    this.stream.out.end();
  }

  /** Returns credit for records (or fragments) the caller has finished with. */
  consumed(credit: number): void {
    this.stream?.in.window(credit);
  }

  close(): void {
    const stream = this.stream;
    this.stream = undefined;
    stream?.close({ code: errors.TRIB_HTTP_KAFKA_REQUEST_CLOSED.code });
  }
}

/** The historical fetch a read of `target` opens: the route's topic and filters. */
export function historical(target: Target<HttpKafkaFetchWith>): KafkaFetchBeginEx {
  const { spec, raw } = target;
  const filters = routeFilters(spec.filters, raw.capability === 'fetch' ? raw.filters : undefined);
  return {
    type: 'kafka',
    capability: 'fetch',
    topic: spec.topic,
    start: 'historical',
    ...(filters === undefined ? {} : { filters }),
  };
}

/** The entity tag of one record version: the same on every instance, new whenever the key is written. */
export function recordEtag(record: KafkaRecordDataEx): string {
  return `${record.partition}-${record.offset}`;
}
