/**
 * The `sse` benchmark's clients, run by bench.ts as a child process (IPC) per server under test,
 * so that parsing events takes no CPU from the server's event loop: N HTTP/1.1 connections
 * (`node:http`, no agent, one connection per client) each holding `GET /events/k-<i>` with
 * `Accept: text/event-stream` open, read by a minimal event-stream parser (events split on blank
 * lines, the `data:` line parsed as JSON). Every event of the current call is checked (its key is
 * the client's) and its latency recorded: arrival time (read once per socket read) − the send
 * time in the value.
 *
 * Messages in ({@link ClientCommand}) and out ({@link ClientAnswer}) are one answer per command.
 *
 * @module
 */
import http from 'node:http';
import { keyOf, now, type RecordValue } from './records.ts';

export type ClientCommand =
  /** Opens clients `from` … `to - 1` (`concurrency` handshakes at a time), or reopens closed ones. */
  | { readonly type: 'connect'; readonly origin: string; readonly from: number; readonly to: number }
  /** Starts counting events of call `call`. */
  | { readonly type: 'begin'; readonly call: number }
  /** The count so far (cheap, for polling). */
  | { readonly type: 'count' }
  /** Stats of the current call. */
  | { readonly type: 'stats' };

export interface ConnectAnswer {
  readonly type: 'connected';
  readonly open: number;
  readonly failed: number;
  readonly ms: number;
  readonly firstFailure?: string;
}
export interface CountAnswer {
  readonly type: 'count';
  readonly delivered: number;
  readonly lastAt: number;
}
export interface StatsAnswer {
  readonly type: 'stats';
  /** Events of the current call, checked. */
  readonly delivered: number;
  /** Events of the current call for another key (misrouted), and events of earlier calls. */
  readonly wrongKey: number;
  readonly stale: number;
  /** Bytes read since `begin`, over every connection (events and heartbeats). */
  readonly bytes: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly minMs: number;
  /** Arrival time of the first and last event of the call. */
  readonly firstAt: number;
  readonly lastAt: number;
  /** Connections open now, and connections that ended or failed since `begin`. */
  readonly open: number;
  readonly closedSinceBegin: number;
}
export type ClientAnswer =
  ConnectAnswer | CountAnswer | StatsAnswer | { readonly type: 'error'; readonly error: string };

const CONCURRENCY = 200;

let call = -1;
let delivered = 0;
let wrongKey = 0;
let stale = 0;
let bytes = 0;
let firstAt = 0;
let lastAt = 0;
let closedSinceBegin = 0;
let latencies = new Float64Array(1 << 16);

function record(ms: number): void {
  if (delivered >= latencies.length) {
    const grown = new Float64Array(latencies.length * 2);
    grown.set(latencies);
    latencies = grown;
  }
  latencies[delivered++] = ms;
}

class Client {
  open = false;
  private pending = '';
  readonly key: string;
  constructor(key: string) {
    this.key = key;
  }

  connect(origin: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const request = http.get(`${origin}/events/${this.key}`, {
        agent: false,
        headers: { accept: 'text/event-stream' },
      });
      request.once('error', (error) => {
        if (this.open) this.closed();
        reject(error);
      });
      request.once('response', (response) => {
        if (response.statusCode !== 200) {
          response.resume();
          reject(new Error(`GET /events/${this.key}: ${response.statusCode}`));
          return;
        }
        response.setEncoding('latin1');
        let first = true;
        response.on('data', (chunk: string) => {
          if (first) {
            first = false;
            this.open = true;
            resolve();
          }
          this.read(chunk);
        });
        response.once('close', () => this.closed());
      });
    });
  }

  private closed(): void {
    if (!this.open) return;
    this.open = false;
    this.pending = '';
    closedSinceBegin++;
  }

  private read(chunk: string): void {
    bytes += chunk.length;
    const at = now();
    let text = this.pending === '' ? chunk : this.pending + chunk;
    let start = 0;
    for (;;) {
      const end = text.indexOf('\n\n', start);
      if (end < 0) break;
      this.event(text, start, end, at);
      start = end + 2;
    }
    text = text.slice(start);
    this.pending = text;
  }

  private event(text: string, start: number, end: number, at: number): void {
    const data = text.indexOf('data: ', start);
    if (data < 0 || data > end) return; // a comment (heartbeat) or an event without data
    const lineEnd = text.indexOf('\n', data);
    const value = JSON.parse(
      text.slice(data + 6, lineEnd < 0 || lineEnd > end ? end : lineEnd),
    ) as RecordValue;
    if (value.c !== call) {
      stale++;
      return;
    }
    if (value.k !== this.key) {
      wrongKey++;
      return;
    }
    if (firstAt === 0) firstAt = at;
    lastAt = at;
    record(at - value.t);
  }
}

const clients: Client[] = [];

async function connect(origin: string, from: number, to: number): Promise<ConnectAnswer> {
  const started = now();
  for (let i = clients.length; i < to; i++) clients.push(new Client(keyOf(i)));
  const todo = clients.slice(from, to).filter((c) => !c.open);
  let failed = 0;
  let firstFailure: string | undefined;
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const client = todo[next++]!;
      try {
        await client.connect(origin);
      } catch (error) {
        failed++;
        firstFailure ??= String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return {
    type: 'connected',
    open: clients.filter((c) => c.open).length,
    failed,
    ms: now() - started,
    ...(firstFailure === undefined ? {} : { firstFailure }),
  };
}

function stats(): StatsAnswer {
  const sorted = latencies.slice(0, delivered).sort();
  const at = (p: number) =>
    delivered === 0
      ? Number.NaN
      : sorted[Math.min(delivered, Math.max(1, Math.ceil((p / 100) * delivered))) - 1]!;
  return {
    type: 'stats',
    delivered,
    wrongKey,
    stale,
    bytes,
    p50Ms: at(50),
    p99Ms: at(99),
    maxMs: delivered === 0 ? Number.NaN : sorted[delivered - 1]!,
    minMs: delivered === 0 ? Number.NaN : sorted[0]!,
    firstAt,
    lastAt,
    open: clients.filter((c) => c.open).length,
    closedSinceBegin,
  };
}

if (process.send === undefined)
  throw new Error('clients.ts runs as a child of bench.ts, with an IPC channel');
const answer = (message: ClientAnswer) => process.send!(message);
process.on('message', (command: ClientCommand) => {
  switch (command.type) {
    case 'connect':
      connect(command.origin, command.from, command.to).then(answer, (error: unknown) =>
        answer({ type: 'error', error: String(error) }),
      );
      return;
    case 'begin':
      call = command.call;
      delivered = wrongKey = stale = bytes = firstAt = lastAt = closedSinceBegin = 0;
      answer({ type: 'count', delivered, lastAt });
      return;
    case 'count':
      answer({ type: 'count', delivered, lastAt });
      return;
    case 'stats':
      answer(stats());
  }
});
