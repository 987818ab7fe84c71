/**
 * `capability: fetch` with `merge: { content-type: application/json }`: every record the route's
 * filters match (on a compacted topic, the latest value per key), as one JSON array, answered
 * when the stream has caught up with what the topic held when the request arrived.
 *
 * Small collections are answered whole, with an `ETag` that is the stream's resume token at that
 * point: it changes exactly when the topic does, and `If-None-Match` with it gives 304 (with
 * `Prefer: wait=N`, a long poll for the next change). A collection larger than
 * {@link BUFFER_BYTES} is streamed as records arrive — never held whole — without an `ETag`, and
 * at the pace the client reads (credit from the socket back to the Kafka cache).
 *
 * Values that are not JSON cannot be array items and are left out; tombstones are too.
 */
import type { StreamError } from '@tributary/kernel';
import { headerValues, type HttpHeader } from '@tributary/binding-http';
import type { HttpKafkaFetchWith } from '../config/schema.ts';
import type { Exchange } from './exchange.ts';
import { kafkaProblem } from './exchange.ts';
import { FetchStream, historical, type RecordMessage } from './fetch.ts';
import { noneMatch, parseIfNoneMatch, parsePrefer, quoteEtag, type Preferences } from './preconditions.ts';
import type { Operation, OperationHost, Target } from './proxy.ts';
import { utf8 } from './records.ts';

/** Largest collection answered whole (with an ETag); larger ones are streamed. */
export const BUFFER_BYTES = 256 * 1024;
const WINDOW = 65_536;
const OPEN = utf8('[');
const CLOSE = utf8(']');
const COMMA = utf8(',');
const decoder = new TextDecoder('utf-8', { fatal: true });

export class FetchCollectionOperation implements Operation {
  private readonly host: OperationHost;
  private readonly exchange: Exchange;
  private readonly target: Target<HttpKafkaFetchWith>;
  private prefer: Preferences;
  private ifNoneMatch: readonly string[];
  private fetch: FetchStream | undefined;
  private parts: Uint8Array[] = [];
  private buffered = 0;
  private items = 0;
  private streaming = false;
  private caughtUp = false;
  /** Credit of records written to a client that has no credit left: returned on its window. */
  private owed = 0;
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
        onCaughtUp: (token) => this.onCaughtUp(token),
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

  /** The client read some of the response: let the Kafka side send more. */
  onWindow(): void {
    if (this.owed === 0) return;
    const owed = this.owed;
    this.owed = 0;
    this.fetch?.consumed(owed);
  }

  private onRecord(record: RecordMessage): void {
    if (this.caughtUp) {
      // Live after a 304-in-waiting: the collection changed; answer with the new one.
      this.fetch?.consumed(record.credit);
      this.restart();
      return;
    }
    if (record.ext.tombstone || !isJson(record.payload)) {
      this.fetch?.consumed(record.credit);
      return;
    }
    const pieces = this.items++ === 0 ? [record.payload] : [COMMA, record.payload];
    if (!this.streaming) {
      for (const piece of pieces) this.parts.push(piece);
      this.buffered += record.payload.byteLength + 1;
      this.fetch?.consumed(record.credit);
      if (this.buffered > BUFFER_BYTES) this.startStreaming();
      return;
    }
    let room = true;
    for (const piece of pieces) room = this.exchange.write(piece);
    if (room) this.fetch?.consumed(record.credit);
    else this.owed += record.credit;
  }

  private startStreaming(): void {
    this.streaming = true;
    this.exchange.head(200, [{ name: 'content-type', value: 'application/json' }]);
    this.exchange.write(OPEN);
    for (const part of this.parts) this.exchange.write(part);
    this.parts = [];
    this.buffered = 0;
  }

  private onCaughtUp(token: string): void {
    if (this.exchange.answered && !this.streaming) return;
    if (this.streaming) {
      this.exchange.write(CLOSE);
      this.host.outcome(undefined);
      this.exchange.finish();
      return;
    }
    const etag = token;
    if (noneMatch(this.ifNoneMatch, etag)) {
      if (this.prefer.wait !== undefined && this.prefer.wait > 0 && this.timer === undefined) {
        // Stay on the stream: the next record is the change the client waits for.
        this.caughtUp = true;
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.host.outcome(undefined);
          this.exchange.respond(304, [{ name: 'etag', value: quoteEtag(etag) }]);
        }, this.prefer.wait * 1000);
        return;
      }
      this.host.outcome(undefined);
      this.exchange.respond(304, [{ name: 'etag', value: quoteEtag(etag) }]);
      return;
    }
    const body = Buffer.concat([OPEN, ...this.parts, CLOSE]);
    this.parts = [];
    const headers: HttpHeader[] = [
      { name: 'content-type', value: 'application/json' },
      { name: 'etag', value: quoteEtag(etag) },
      { name: 'content-length', value: String(body.byteLength) },
    ];
    this.host.outcome(undefined);
    this.exchange.respond(200, headers, body);
  }

  /** Fetches the collection again, answering it whatever its tag (the client's is stale now). */
  private restart(): void {
    this.release();
    this.caughtUp = false;
    this.ifNoneMatch = [];
    this.prefer = { respondAsync: false, wait: undefined };
    this.parts = [];
    this.buffered = 0;
    this.items = 0;
    this.start();
  }

  private onFailed(reason: StreamError): void {
    this.fetch = undefined;
    if (this.exchange.over || (this.exchange.answered && !this.streaming)) return;
    const problem = kafkaProblem(reason, this.exchange.path, this.host.settings.retryAfterSeconds);
    this.host.outcome(problem);
    // Once streaming, the response is cut: a truncated array must not pass for a whole one.
    this.exchange.fail(problem);
  }

  private release(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.fetch?.close();
    this.fetch = undefined;
  }
}

function isJson(payload: Uint8Array): boolean {
  try {
    JSON.parse(decoder.decode(payload));
    return true;
  } catch {
    return false;
  }
}
