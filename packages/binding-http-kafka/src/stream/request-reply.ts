/**
 * `capability: produce` with `replyTo`: request-reply over two topics.
 *
 * The request becomes a record on `topic` carrying the HTTP method, path and headers as Kafka
 * headers, plus the reply topic and a correlation id `<idempotency key or uuid>-<hash of the
 * request>`. The backend answers with a record on `replyTo` carrying the same correlation id;
 * its `:status` header and other headers and its value become the HTTP response.
 *
 * - Synchronous: the request is held open until the reply arrives (504 after `replyTimeoutMs`).
 * - Asynchronous (`Prefer: respond-async` on a route with `async`): 202 with `Location` once
 *   Kafka acknowledged the request; a GET of that location (a route path with
 *   `{correlationId}`) answers with the reply, or 202 again — with `Prefer: wait=N` after
 *   waiting up to N seconds for it.
 * - Idempotent: with an idempotency key, the same key and body give the same correlation id; a
 *   reply already on the reply topic answers the request without producing it again.
 *
 * The reply subscription is opened (and has caught up) before the request is produced, so a
 * reply cannot slip past between the two.
 */
import { randomUUID } from 'node:crypto';
import type { DataFrame, Extension, Stream, StreamError } from '@tributary/kernel';
import { headerValues, type HttpHeader, type HttpProblemEx } from '@tributary/binding-http';
import type {
  KafkaAckEx,
  KafkaFetchBeginEx,
  KafkaHeader,
  KafkaProduceBeginEx,
  KafkaProduceDataEx,
} from '@tributary/binding-kafka';
import type { HttpKafkaProduceWith } from '../config/schema.ts';
import { errors } from '../errors.ts';
import { correlationId } from './correlation.ts';
import type { Exchange } from './exchange.ts';
import { kafkaProblem, problemOf } from './exchange.ts';
import { FetchStream, type RecordMessage } from './fetch.ts';
import { parsePrefer, type Preferences } from './preconditions.ts';
import type { Operation, OperationHost, Target } from './proxy.ts';
import { HOP_BY_HOP, recordHeader, replyHeaders, utf8 } from './records.ts';

const WINDOW = 1_048_576;

export class RequestReplyOperation implements Operation {
  private readonly host: OperationHost;
  private readonly exchange: Exchange;
  private readonly target: Target<HttpKafkaProduceWith>;
  private readonly prefer: Preferences;
  /** The correlation id in the path of a poll (`GET …;cid={correlationId}`). */
  private readonly polled: string | undefined;
  private readonly own: ReadonlySet<string>;
  private parts: Uint8Array[] = [];
  private bytes = 0;
  private cid = '';
  private replies: FetchStream | undefined;
  private produce: Stream | undefined;
  private timer: NodeJS.Timeout | undefined;
  private produced = false;

  constructor(host: OperationHost, exchange: Exchange, target: Target, spec: HttpKafkaProduceWith) {
    this.host = host;
    this.exchange = exchange;
    this.target = { ...target, spec };
    this.prefer = parsePrefer(headerValues(exchange.begin, 'prefer'), host.settings.maxWaitSeconds);
    const polled = target.params['correlationId'];
    this.polled = exchange.method === 'GET' && polled !== undefined ? polled : undefined;
    this.own = new Set([host.settings.correlationIdHeader, host.settings.replyToHeader]);
    exchange.onDone(() => this.release());
  }

  start(): void {
    if (this.polled !== undefined) {
      this.cid = this.polled;
      this.subscribe('historical');
      return;
    }
    const length = Number(this.exchange.header('content-length') ?? '0');
    if (length > this.host.settings.maxBodyBytes) {
      this.tooLarge();
      return;
    }
    this.exchange.stream.in.window(WINDOW);
  }

  onData(frame: DataFrame): void {
    if (this.exchange.answered || this.polled !== undefined) return;
    this.bytes += frame.payload.byteLength;
    if (this.bytes > this.host.settings.maxBodyBytes) {
      this.tooLarge();
      return;
    }
    this.parts.push(frame.payload);
    this.exchange.stream.in.window(frame.credit);
  }

  onEnd(): void {
    if (this.exchange.answered || this.polled !== undefined) return;
    const body = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    this.parts = [body];
    const key = this.target.idempotencyKey;
    this.cid = correlationId(
      key ?? randomUUID(),
      this.exchange.method,
      this.exchange.header(':path') ?? '/',
      body,
    );
    if (key !== undefined) this.subscribe('historical');
    else if (!this.isAsync()) this.subscribe('live');
    else this.send();
  }

  onAbort(): void {
    this.exchange.gone();
  }

  onReset(): void {
    this.exchange.gone();
  }

  private isAsync(): boolean {
    return this.prefer.respondAsync && this.target.spec.async !== undefined;
  }

  /** Watches the reply topic for this correlation id. */
  private subscribe(start: 'historical' | 'live'): void {
    const { spec } = this.target;
    const begin: KafkaFetchBeginEx = {
      type: 'kafka',
      capability: 'fetch',
      topic: spec.replyTo!,
      start,
      filters: [
        { conditions: [{ header: { name: this.host.settings.correlationIdHeader, value: utf8(this.cid) } }] },
      ],
    };
    this.replies = new FetchStream(this.host, this.exchange, this.target.exit, begin, WINDOW, {
      onRecord: (record) => this.onReply(record),
      onCaughtUp: () => this.onRepliesCaughtUp(),
      onFailed: (reason) => this.onKafkaFailed(reason),
    });
  }

  private onRepliesCaughtUp(): void {
    if (this.exchange.answered) return;
    if (this.polled !== undefined) {
      const wait = this.prefer.wait ?? 0;
      if (wait <= 0) this.accepted();
      else this.timer = setTimeout(() => this.accepted(), wait * 1000);
      return;
    }
    // No reply yet (a replayed request that already has one was answered by onReply).
    if (!this.produced) this.send();
  }

  private onReply(record: RecordMessage): void {
    this.replies?.consumed(record.credit);
    if (this.exchange.answered) return;
    const status = Number(recordHeader(record.ext.headers, ':status') ?? '200');
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      this.answerProblem(
        problemOf(errors.TRIB_HTTP_KAFKA_UPSTREAM_FAILED, { reason: 'the reply carries no valid :status' }),
      );
      return;
    }
    this.host.outcome(undefined);
    const headers = replyHeaders(record.ext, this.own);
    headers.push({ name: 'content-length', value: String(record.payload.byteLength) });
    this.exchange.respond(status, headers, record.payload);
  }

  /** Produces the request record. */
  private send(): void {
    if (this.produced || this.exchange.answered) return;
    this.produced = true;
    const { spec } = this.target;
    const begin: KafkaProduceBeginEx = {
      type: 'kafka',
      capability: 'produce',
      topic: spec.topic,
      ...(spec.acks === undefined ? {} : { acks: spec.acks }),
    };
    const record: KafkaProduceDataEx = {
      type: 'kafka',
      kind: 'produce',
      key: spec.key === undefined ? null : utf8(spec.key),
      headers: this.requestHeaders(),
    };
    this.produce = this.host.ctx.open(
      this.target.exit,
      { ext: begin, authorization: this.exchange.stream.authorization },
      {
        onFlush: (ext) => this.onAck(ext),
        onReset: (reason) => this.onKafkaFailed(reason),
        onAbort: (reason) => this.onKafkaFailed(reason),
      },
    );
    this.produce.out.data(this.parts[0] ?? new Uint8Array(0), record);
    this.produce.out.end();
  }

  /** Method, path and headers of the request, then the reply topic and correlation id. */
  private requestHeaders(): KafkaHeader[] {
    const { excludeHeaders, replyToHeader, correlationIdHeader } = this.host.settings;
    const headers: KafkaHeader[] = [];
    for (const h of this.exchange.begin.headers) {
      if (excludeHeaders.has(h.name) || HOP_BY_HOP.has(h.name) || h.name === 'content-length') continue;
      headers.push({ name: h.name, value: utf8(h.value) });
    }
    for (const [name, value] of Object.entries(this.target.spec.overrides ?? {}))
      headers.push({ name, value: utf8(value) });
    headers.push({ name: replyToHeader, value: utf8(this.target.spec.replyTo!) });
    headers.push({ name: correlationIdHeader, value: utf8(this.cid) });
    return headers;
  }

  private onAck(ext: Extension | undefined): void {
    const ack = ext as KafkaAckEx | undefined;
    if (ack?.type !== 'kafka' || (ack.kind !== 'ack' && ack.kind !== 'nack')) return;
    if (ack.kind === 'nack') {
      this.answerProblem(kafkaProblem(ack.error, this.exchange.path, this.host.settings.retryAfterSeconds));
      return;
    }
    this.host.outcome(undefined);
    if (this.isAsync()) {
      this.accepted();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.answerProblem(
        problemOf(errors.TRIB_HTTP_KAFKA_REPLY_TIMEOUT, { ms: this.host.settings.replyTimeoutMs }),
      );
    }, this.host.settings.replyTimeoutMs);
  }

  /** 202 Accepted with where to ask for the reply (RFC 9110 §15.3.3). */
  private accepted(): void {
    const location = this.location();
    const headers: HttpHeader[] = [{ name: 'location', value: location }];
    if (this.prefer.respondAsync) headers.push({ name: 'preference-applied', value: 'respond-async' });
    else if (this.prefer.wait !== undefined)
      headers.push({ name: 'preference-applied', value: `wait=${this.prefer.wait}` });
    this.exchange.respond(202, headers);
  }

  private location(): string {
    if (this.polled !== undefined) return this.exchange.header(':path') ?? this.exchange.path;
    const raw = this.target.raw.capability === 'produce' ? this.target.raw.async?.location : undefined;
    const vars = {
      correlationId: this.cid,
      ...(this.target.idempotencyKey === undefined ? {} : { idempotencyKey: this.target.idempotencyKey }),
    };
    return this.host.ctx.resolveTemplates(
      raw ?? this.exchange.path,
      this.target.params,
      this.exchange.stream.authorization,
      vars,
    );
  }

  private onKafkaFailed(reason: StreamError): void {
    if (this.exchange.answered) return;
    this.answerProblem(kafkaProblem(reason, this.exchange.path, this.host.settings.retryAfterSeconds));
  }

  private answerProblem(problem: HttpProblemEx): void {
    this.host.outcome(problem);
    this.exchange.fail(problem);
  }

  private tooLarge(): void {
    this.exchange.fail(
      problemOf(errors.TRIB_HTTP_KAFKA_BODY_TOO_LARGE, { limit: this.host.settings.maxBodyBytes }),
    );
  }

  private release(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.replies?.close();
    this.replies = undefined;
    const produce = this.produce;
    this.produce = undefined;
    if (produce && produce.in.state !== 'closed')
      produce.close({ code: errors.TRIB_HTTP_KAFKA_REQUEST_CLOSED.code });
  }
}
