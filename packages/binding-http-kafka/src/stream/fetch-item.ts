/**
 * `capability: fetch` without `merge`: one item, the latest record the route's filters match.
 *
 * - 200 with the value, `content-type` from the record's header and an `ETag` naming the record
 *   version; 404 when there is none or it is a tombstone.
 * - `If-None-Match` with the current tag → 304 (RFC 9110 §13.1.2).
 * - `Prefer: wait=N` (RFC 7240 §4.3) turns a 404 or 304 into a long poll: the answer comes as
 *   soon as the item appears or changes, or after N seconds as the 404 / 304 it would have been.
 */
import type { StreamError } from '@tributary/kernel';
import { headerValues, type HttpHeader } from '@tributary/binding-http';
import type { HttpKafkaFetchWith } from '../config/schema.ts';
import { errors } from '../errors.ts';
import type { Exchange } from './exchange.ts';
import { kafkaProblem, problemOf } from './exchange.ts';
import { FetchStream, historical, recordEtag, type RecordMessage } from './fetch.ts';
import { noneMatch, parseIfNoneMatch, parsePrefer, quoteEtag, type Preferences } from './preconditions.ts';
import type { Operation, OperationHost, Target } from './proxy.ts';
import { recordHeader } from './records.ts';

const WINDOW = 1_048_576;

export class FetchItemOperation implements Operation {
  private readonly host: OperationHost;
  private readonly exchange: Exchange;
  private readonly target: Target<HttpKafkaFetchWith>;
  private readonly prefer: Preferences;
  private readonly ifNoneMatch: readonly string[];
  private fetch: FetchStream | undefined;
  private latest: RecordMessage | undefined;
  private caughtUp = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(host: OperationHost, exchange: Exchange, target: Target, spec: HttpKafkaFetchWith) {
    this.host = host;
    this.exchange = exchange;
    this.target = { ...target, spec };
    this.prefer = parsePrefer(headerValues(exchange.begin, 'prefer'), host.settings.maxWaitSeconds);
    this.ifNoneMatch = parseIfNoneMatch(exchange.header('if-none-match'));
    exchange.onDone(() => this.release());
  }

  start(): void {
    this.fetch = new FetchStream(
      this.host,
      this.exchange,
      this.target.exit,
      historical(this.target),
      WINDOW,
      {
        onRecord: (record) => this.onRecord(record),
        onCaughtUp: () => this.onCaughtUp(),
        onFailed: (reason) => this.onFailed(reason),
      },
    );
  }

  onEnd(): void {
    // A GET has no body; anything sent is ignored.
  }

  onAbort(): void {
    this.exchange.gone();
  }

  onReset(): void {
    this.exchange.gone();
  }

  private onRecord(record: RecordMessage): void {
    const previous = this.latest;
    this.latest = record;
    if (previous) this.fetch?.consumed(previous.credit);
    if (this.caughtUp) this.decide(true);
  }

  private onCaughtUp(): void {
    if (this.caughtUp) return;
    this.caughtUp = true;
    this.decide(false);
  }

  private decide(changed: boolean): void {
    if (this.exchange.answered) return;
    const record = this.latest && !this.latest.ext.tombstone ? this.latest : undefined;
    const waiting = this.prefer.wait !== undefined && this.prefer.wait > 0;
    if (record === undefined) {
      // Deleted while a client waited for a change of it: that is the change.
      if (changed && this.ifNoneMatch.length > 0) this.notFound();
      else if (!changed && waiting) this.wait();
      else if (!changed) this.notFound();
      return;
    }
    const etag = recordEtag(record.ext);
    if (noneMatch(this.ifNoneMatch, etag)) {
      if (!changed && waiting) this.wait();
      else if (!changed) this.notModified(etag);
      return;
    }
    this.host.outcome(undefined);
    const headers: HttpHeader[] = [
      {
        name: 'content-type',
        value: recordHeader(record.ext.headers, 'content-type') ?? 'application/octet-stream',
      },
      { name: 'etag', value: quoteEtag(etag) },
      { name: 'content-length', value: String(record.payload.byteLength) },
    ];
    if (waiting) headers.push({ name: 'preference-applied', value: `wait=${this.prefer.wait}` });
    this.exchange.respond(200, headers, record.payload);
  }

  private wait(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const record = this.latest && !this.latest.ext.tombstone ? this.latest : undefined;
      if (record) this.notModified(recordEtag(record.ext));
      else this.notFound();
    }, this.prefer.wait! * 1000);
  }

  private notFound(): void {
    this.host.outcome(undefined);
    this.exchange.fail(problemOf(errors.TRIB_HTTP_KAFKA_NOT_FOUND, { path: this.exchange.path }));
  }

  private notModified(etag: string): void {
    this.host.outcome(undefined);
    this.exchange.respond(304, [{ name: 'etag', value: quoteEtag(etag) }]);
  }

  private onFailed(reason: StreamError): void {
    this.fetch = undefined;
    if (this.exchange.answered) return;
    const problem = kafkaProblem(reason, this.exchange.path, this.host.settings.retryAfterSeconds);
    this.host.outcome(problem);
    this.exchange.fail(problem);
  }

  private release(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.fetch?.close();
    this.fetch = undefined;
  }
}
