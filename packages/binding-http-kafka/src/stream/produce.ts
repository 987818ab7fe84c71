/**
 * `capability: produce` without `replyTo`: the request body becomes one record, relayed to Kafka
 * as it arrives (the Kafka binding joins the fragments), and the client gets 204 once Kafka
 * acknowledged it — never before, never for a record Kafka did not take.
 */
import type { DataFrame, Extension, Stream, StreamError } from '@tributary/kernel';
import type { HttpProblemEx } from '@tributary/binding-http';
import type {
  KafkaAckEx,
  KafkaHeader,
  KafkaProduceBeginEx,
  KafkaProduceDataEx,
} from '@tributary/binding-kafka';
import type { HttpKafkaProduceWith } from '../config/schema.ts';
import { errors } from '../errors.ts';
import type { Exchange } from './exchange.ts';
import { kafkaProblem, problemOf } from './exchange.ts';
import type { Operation, OperationHost, Target } from './proxy.ts';
import { utf8 } from './records.ts';

const EMPTY = new Uint8Array(0);

export class ProduceOperation implements Operation {
  private readonly host: OperationHost;
  private readonly exchange: Exchange;
  private readonly target: Target<HttpKafkaProduceWith>;
  private kafka: Stream | undefined;
  private record: KafkaProduceDataEx | undefined;
  private bytes = 0;
  private sent = false;

  constructor(host: OperationHost, exchange: Exchange, target: Target, spec: HttpKafkaProduceWith) {
    this.host = host;
    this.exchange = exchange;
    this.target = { ...target, spec };
    exchange.onDone(() => this.release());
  }

  start(): void {
    const { exchange } = this;
    const length = Number(exchange.header('content-length') ?? '0');
    if (length > this.host.settings.maxBodyBytes) {
      this.tooLarge();
      return;
    }
    const { spec } = this.target;
    const begin: KafkaProduceBeginEx = {
      type: 'kafka',
      capability: 'produce',
      topic: spec.topic,
      ...(spec.acks === undefined ? {} : { acks: spec.acks }),
    };
    const headers: KafkaHeader[] = [];
    const contentType = exchange.header('content-type');
    if (contentType !== undefined) headers.push({ name: 'content-type', value: utf8(contentType) });
    for (const [name, value] of Object.entries(spec.overrides ?? {}))
      headers.push({ name, value: utf8(value) });
    this.record = {
      type: 'kafka',
      kind: 'produce',
      key: spec.key === undefined ? null : utf8(spec.key),
      headers,
    };
    this.kafka = this.host.ctx.open(
      this.target.exit,
      { ext: begin, authorization: exchange.stream.authorization },
      {
        // Credit for the record's bytes is the Kafka side's to give: pass it on to the client.
        onWindow: (credit) => exchange.stream.in.window(credit),
        onFlush: (ext) => this.onKafkaFlush(ext),
        onReset: (reason) => this.onKafkaFailed(reason),
        onAbort: (reason) => this.onKafkaFailed(reason),
      },
    );
  }

  onData(frame: DataFrame): void {
    if (!this.kafka || this.exchange.answered) return;
    this.bytes += frame.payload.byteLength;
    if (this.bytes > this.host.settings.maxBodyBytes) {
      this.tooLarge();
      return;
    }
    if (frame.payload.byteLength === 0) {
      this.exchange.stream.in.window(frame.credit);
      return;
    }
    this.kafka.out.data(frame.payload, this.sent ? undefined : this.record, {
      first: !this.sent,
      last: false,
    });
    this.sent = true;
  }

  onEnd(): void {
    if (!this.kafka || this.exchange.answered) return;
    if (this.sent) {
      this.kafka.out.data(EMPTY, undefined, { first: false, last: true });
    } else {
      // No body: DELETE removes the key (a tombstone, RFC 9110 §9.3.5), others write an empty value.
      const tombstone = this.exchange.method === 'DELETE';
      this.kafka.out.data(EMPTY, { ...this.record!, ...(tombstone ? { tombstone: true } : {}) });
      this.sent = true;
    }
    this.kafka.out.end();
  }

  onAbort(): void {
    // The client stopped sending mid-body: the partial record must never be written.
    this.exchange.gone();
  }

  onReset(): void {
    this.exchange.gone();
  }

  private onKafkaFlush(ext: Extension | undefined): void {
    const ack = ext as KafkaAckEx | undefined;
    if (ack?.type !== 'kafka' || (ack.kind !== 'ack' && ack.kind !== 'nack')) return;
    if (ack.kind === 'ack') {
      this.host.outcome(undefined);
      this.exchange.respond(204, []);
    } else {
      this.answerProblem(kafkaProblem(ack.error, this.exchange.path, this.host.settings.retryAfterSeconds));
    }
  }

  private onKafkaFailed(reason: StreamError): void {
    this.kafka = undefined;
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
    const kafka = this.kafka;
    this.kafka = undefined;
    // Aborting an unfinished record drops it; after the ack this only closes the stream.
    if (kafka && kafka.out.state !== 'closed')
      kafka.close({ code: errors.TRIB_HTTP_KAFKA_REQUEST_CLOSED.code });
  }
}
