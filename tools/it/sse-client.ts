/**
 * A Server-Sent Events client for tests, over Node's HTTP/1.1 client or HTTP/2 (prior
 * knowledge), that parses the stream as a browser does (WHATWG HTML §9.2.6) and records every
 * dispatched event, comment and the last event id. Unlike `EventSource` it never reconnects by
 * itself: a test reconnects explicitly, passing `lastEventId`.
 */
import http from 'node:http';
import http2 from 'node:http2';

export interface SseEvent {
  /** The event type, `message` when the stream named none. */
  readonly type: string;
  readonly data: string;
  /** The client's last event id once this event was dispatched. */
  readonly lastEventId: string;
}

export interface SseOpenOptions {
  readonly headers?: Readonly<Record<string, string>>;
  /** Sends `Last-Event-ID`. */
  readonly lastEventId?: string;
  /** HTTP/2 with prior knowledge (h2c) instead of HTTP/1.1. */
  readonly http2?: boolean;
  /** Reuse this HTTP/1.1 agent (many clients at once); default: a new connection per client. */
  readonly agent?: http.Agent;
}

/** Incremental event-stream parser: feed it text, it calls back per event and per comment. */
export class EventStreamParser {
  private pending = '';
  private data = '';
  private type = '';
  private idBuffer = '';
  lastEventId = '';
  retry: number | undefined;

  private readonly onEvent: (event: SseEvent) => void;
  private readonly onComment: (text: string) => void;

  constructor(onEvent: (event: SseEvent) => void, onComment: (text: string) => void = () => {}) {
    this.onEvent = onEvent;
    this.onComment = onComment;
  }

  push(text: string): void {
    this.pending += text;
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.pending);
      if (!match) return;
      // A CR at the very end may be the first half of a CRLF: wait for the next chunk.
      if (match[0] === '\r' && match.index === this.pending.length - 1) return;
      const line = this.pending.slice(0, match.index);
      this.pending = this.pending.slice(match.index + match[0].length);
      this.line(line);
    }
  }

  private line(line: string): void {
    if (line === '') {
      this.lastEventId = this.idBuffer;
      if (this.data === '') {
        this.type = '';
        return;
      }
      const data = this.data.endsWith('\n') ? this.data.slice(0, -1) : this.data;
      this.onEvent({ type: this.type === '' ? 'message' : this.type, data, lastEventId: this.lastEventId });
      this.data = '';
      this.type = '';
      return;
    }
    if (line.startsWith(':')) {
      this.onComment(line.slice(1));
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.type = value;
    else if (field === 'data') this.data += `${value}\n`;
    else if (field === 'id' && !value.includes('\0')) this.idBuffer = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retry = Number(value);
  }
}

export class SseClient {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  /** The body of a response that is not an event stream (a problem document). */
  body = '';
  /** How the response ended: `end` (orderly), `error` (cut), undefined while open. */
  outcome: 'end' | 'error' | undefined;
  readonly closed: Promise<'end' | 'error'>;
  private readonly parser: EventStreamParser;
  private readonly waiters = new Set<() => void>();
  private readonly source: NodeJS.ReadableStream;
  private readonly teardown: () => void;

  private constructor(
    status: number,
    headers: Record<string, string>,
    source: NodeJS.ReadableStream,
    teardown: () => void,
  ) {
    this.status = status;
    this.headers = headers;
    this.source = source;
    this.teardown = teardown;
    const eventStream = (headers['content-type'] ?? '').startsWith('text/event-stream');
    this.parser = new EventStreamParser(
      (event) => {
        this.events.push(event);
        this.wake();
      },
      (text) => {
        this.comments.push(text);
        this.wake();
      },
    );
    source.setEncoding('utf8');
    source.on('data', (chunk: string) => {
      if (eventStream) this.parser.push(chunk);
      else this.body += chunk;
      this.wake();
    });
    this.closed = new Promise((resolve) => {
      const settle = (outcome: 'end' | 'error') => {
        if (this.outcome !== undefined) return;
        this.outcome = outcome;
        this.wake();
        resolve(outcome);
      };
      source.on('end', () => settle('end'));
      source.on('error', () => settle('error'));
      source.on('aborted', () => settle('error'));
      source.on('close', () =>
        settle((source as { readableEnded?: boolean }).readableEnded === true ? 'end' : 'error'),
      );
    });
  }

  get lastEventId(): string {
    return this.parser.lastEventId;
  }

  get retry(): number | undefined {
    return this.parser.retry;
  }

  /** Opens `url` with `Accept: text/event-stream`; resolves once the response head arrived. */
  static open(url: string, options: SseOpenOptions = {}): Promise<SseClient> {
    const headers: Record<string, string> = {
      accept: 'text/event-stream',
      ...(options.lastEventId === undefined ? {} : { 'last-event-id': options.lastEventId }),
      ...options.headers,
    };
    const target = new URL(url);
    if (options.http2) {
      return new Promise((resolve, reject) => {
        const session = http2.connect(target.origin);
        session.on('error', reject);
        const stream = session.request({ ':path': `${target.pathname}${target.search}`, ...headers });
        stream.on('error', reject);
        stream.on('response', (head) => {
          const flat: Record<string, string> = {};
          for (const [name, value] of Object.entries(head))
            if (!name.startsWith(':') && value !== undefined) flat[name] = String(value);
          const status = Number(head[':status']);
          resolve(
            new SseClient(status, flat, stream, () => {
              stream.close();
              session.close();
            }),
          );
        });
        stream.on('close', () => session.close());
      });
    }
    return new Promise((resolve, reject) => {
      const request = http.get(
        target,
        { headers, agent: options.agent ?? new http.Agent({ keepAlive: false }) },
        (response) => {
          const flat: Record<string, string> = {};
          for (const [name, value] of Object.entries(response.headers))
            if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
          resolve(new SseClient(response.statusCode ?? 0, flat, response, () => request.destroy()));
        },
      );
      request.on('error', reject);
    });
  }

  /** Resolves when `predicate` holds (checked now and after everything received). */
  until(predicate: (client: SseClient) => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
    if (predicate(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(
          new Error(
            `SSE client: ${what} not met within ${timeoutMs} ms; events ${JSON.stringify(this.events)}, outcome ${this.outcome ?? 'open'}`,
          ),
        );
      }, timeoutMs);
      const check = () => {
        if (!predicate(this)) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
    });
  }

  /** Resolves with the events once there are at least `count`. */
  async eventsAtLeast(count: number, timeoutMs = 10_000): Promise<SseEvent[]> {
    await this.until((c) => c.events.length >= count, timeoutMs, `${count} events`);
    return this.events;
  }

  /** Stops reading: the connection's buffers fill and the server sees a slow client. */
  pause(): void {
    this.source.pause();
  }

  resume(): void {
    this.source.resume();
  }

  /** Closes the connection, as a browser tab that goes away. */
  close(): void {
    this.teardown();
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
