/**
 * One event stream: the accepted `sse` stream (the *app* side, towards the client through the
 * `sse` binding) fed by one Kafka `fetch` stream towards the route's exit (the *kafka* side, a
 * Kafka cache).
 *
 * - The fetch starts where the cache starts the topic by default (`historical` on a compacted
 *   topic: the latest value per key, then live records; `with.start` overrides it) or, when the
 *   client presents a last event id, exactly after that
 *   progress token — with tombstones, so that a key deleted while the client was away arrives
 *   as a delete event. An id that is not a token of this gateway is refused (400) rather than
 *   silently started over: the client decides to reconnect without it.
 * - The sse reply begins only when the fetch begins (the cache begins once the topic is
 *   hydrated and the token checked), so that Kafka trouble before that is still a status.
 *   After the begin, the end or failure of the fetch ends the event stream; the client
 *   reconnects with its last event id and loses nothing.
 * - Credit passes through: a record's credit goes back to the fetch once the `sse` binding has
 *   taken its event.
 */
import {
  MessageAssembler,
  type DataFrame,
  type Stream,
  type StreamError,
  type StreamHandler,
} from '@tributary/kernel';
import {
  routeFilters,
  type KafkaErrorEx,
  type KafkaFetchBeginEx,
  type KafkaRecordDataEx,
} from '@tributary/binding-kafka';
import type { SseBeginEx, SseProblemEx } from '@tributary/binding-sse';
import type { SseKafkaWith } from '../config/schema.ts';
import { errors } from '../errors.ts';
import { problemOf, type SubscriptionHost } from './proxy.ts';
import { recordEvent, type EventSpec } from './records.ts';

export interface SubscriptionTarget {
  readonly exit: string;
  /** `with`, templates resolved. */
  readonly spec: SseKafkaWith;
  /** `with` as configured: tells which filter conditions were asked for. */
  readonly raw: SseKafkaWith;
}

const CLOSED: StreamError = (() => {
  const error = errors.TRIB_SSE_KAFKA_CLOSED();
  return { code: error.code, message: error.message };
})();

export class Subscription implements StreamHandler {
  private readonly host: SubscriptionHost;
  private readonly app: Stream;
  private readonly begin: SseBeginEx;
  private readonly target: SubscriptionTarget;
  private readonly events: EventSpec;
  private readonly assembler = new MessageAssembler<KafkaRecordDataEx>();
  private kafka: Stream | undefined;
  private began = false;
  private done = false;
  /** Credit of records whose events the `sse` binding has not taken yet. */
  private owed = 0;

  constructor(host: SubscriptionHost, app: Stream, begin: SseBeginEx, target: SubscriptionTarget) {
    this.host = host;
    this.app = app;
    this.begin = begin;
    this.target = target;
    this.events = { eventHeader: target.spec.event?.header, deleteEvent: host.settings.deleteEvent };
  }

  start(): void {
    const { spec, raw } = this.target;
    const filters = routeFilters(spec.filters, raw.filters);
    const token = this.begin.lastEventId;
    const fetch: KafkaFetchBeginEx = {
      type: 'kafka',
      capability: 'fetch',
      topic: spec.topic,
      ...(spec.start === undefined ? {} : { start: spec.start }),
      ...(filters === undefined ? {} : { filters }),
      ...(token === undefined ? {} : { token, tombstones: true }),
    };
    this.app.out.onCredit(() => this.onAppCredit());
    this.kafka = this.host.ctx.open(
      this.target.exit,
      { ext: fetch, authorization: this.app.authorization },
      this.kafkaHandler,
    );
    this.kafka.in.window(this.host.settings.window);
    // A fetch sends nothing on its initial half.
    this.kafka.out.end();
  }

  // --- app side: the sse stream ---

  onEnd(): void {
    // The sse binding sends nothing after its begin.
  }

  onAbort(): void {
    this.onAppGone();
  }

  onReset(): void {
    this.onAppGone();
  }

  private onAppGone(): void {
    this.done = true;
    const kafka = this.kafka;
    this.kafka = undefined;
    kafka?.close(CLOSED);
  }

  private onAppCredit(): void {
    const credit = this.owed;
    this.owed = 0;
    this.kafka?.in.window(credit);
  }

  // --- kafka side: the fetch ---

  private readonly kafkaHandler: StreamHandler = {
    onBegin: () => this.onKafkaBegin(),
    onData: (frame) => this.onKafkaData(frame),
    onEnd: () => this.onKafkaFailed({ code: CLOSED.code, message: 'the Kafka fetch ended' }),
    onAbort: (reason) => this.onKafkaFailed(reason),
    onReset: (reason) => this.onKafkaFailed(reason),
  };

  private onKafkaBegin(): void {
    if (this.done || this.began) return;
    this.began = true;
    this.host.outcome(undefined);
    this.app.out.begin();
  }

  private onKafkaData(frame: DataFrame): void {
    const message = this.assembler.push(frame as DataFrame<KafkaRecordDataEx>);
    if (message === undefined) {
      this.kafka?.in.window(frame.credit);
      return;
    }
    const record = message.ext;
    if (this.done || record?.type !== 'kafka' || record.kind !== 'record') {
      this.kafka?.in.window(message.credit);
      return;
    }
    const event = recordEvent(record, message.payload, this.events);
    if (this.app.out.data(event.data, event.ext) && this.owed === 0) this.kafka?.in.window(message.credit);
    else this.owed += message.credit;
  }

  private onKafkaFailed(reason: StreamError): void {
    const kafka = this.kafka;
    this.kafka = undefined;
    kafka?.close(reason);
    if (this.done) return;
    this.done = true;
    if (this.began) {
      // Events sent so far are whole and have ids: the client reconnects and resumes after them.
      this.app.out.end();
      return;
    }
    const problem = this.problem(reason);
    this.host.outcome(problem);
    const failure: StreamError = {
      code: problem.code,
      ...(problem.detail === undefined ? {} : { message: problem.detail }),
      ext: problem,
    };
    this.app.out.abort(failure);
    this.app.in.reset(failure);
  }

  /**
   * Kafka trouble as the client's answer: unreachable or refusing brokers are the gateway's
   * problem (503 with `Retry-After`, RFC 9110 §15.6.4); only what the client can fix is a 4xx.
   */
  private problem(reason: StreamError): SseProblemEx {
    const ext = reason.ext as KafkaErrorEx | undefined;
    const path = this.begin.path;
    if (ext?.type !== 'kafka' || ext.kind !== 'error')
      return problemOf(errors.TRIB_SSE_KAFKA_UPSTREAM_FAILED, { reason: reason.code });
    switch (ext.reason) {
      case 'unavailable':
      case 'timeout':
      case 'authentication':
      case 'authorization': {
        const seconds =
          ext.retryAfterMs !== undefined
            ? Math.max(1, Math.ceil(ext.retryAfterMs / 1000))
            : this.host.settings.retryAfterSeconds;
        const what =
          ext.reason === 'unavailable' || ext.reason === 'timeout' ? 'brokers unreachable' : 'access refused';
        return problemOf(
          errors.TRIB_SSE_KAFKA_UNAVAILABLE,
          { reason: what },
          { 'retry-after': String(seconds) },
        );
      }
      case 'unknown-topic':
        return problemOf(errors.TRIB_SSE_KAFKA_UNKNOWN_TOPIC, { path });
      case 'invalid-token':
        return problemOf(errors.TRIB_SSE_KAFKA_INVALID_LAST_EVENT_ID);
      default:
        return problemOf(errors.TRIB_SSE_KAFKA_UPSTREAM_FAILED, { reason: ext.code });
    }
  }
}
