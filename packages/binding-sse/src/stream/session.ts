/**
 * One event stream: the accepted `http` stream (the *net* side, towards the client through the
 * http server) and the `sse` stream opened towards the route's exit (the *app* side).
 *
 * - The response head is written when the exit begins its reply, so that an exit failing
 *   before that is still answered with a status (a problem document).
 * - Events are encoded (`encode.ts`) onto the http reply half, whose credit the http server
 *   returns as the client's socket drains. The exit's credit is returned as soon as an event is
 *   queued there, so one slow client never holds the exit back; instead the bytes the client has
 *   not taken (`net.out.queued`) are bounded by `maxLagBytes`, past which the stream is closed
 *   and the client resumes from its last event id.
 * - Continuous authorization: one timer per stream, set for the earliest `challengeAt` /
 *   `expiresAt` of the route's guard sessions. When it fires the sessions are read again from
 *   the stream's `authorization` (a re-authorized session may have replaced the old one or
 *   moved its expiry), so an extended session reschedules instead of ending the stream.
 */
import {
  MessageAssembler,
  type DataFrame,
  type Extension,
  type GuardSession,
  type Stream,
  type StreamError,
  type StreamHandler,
} from '@tributary/kernel';
import { isHttpProblem, problem, responseBegin, type HttpProblemEx } from '@tributary/binding-http';
import { isSseEvent, isSseProblem, type SseBeginEx, type SseEventEx } from '../index.ts';
import { errors } from '../errors.ts';
import { encodeComment, encodeEvent, encodeFields, encodeRetry, type EventFields } from './encode.ts';
import { problemOf, type SessionHost } from './server.ts';

/** The data of the `challenge` event: how the client answers it (with fresh credentials). */
export const CHALLENGE = new TextEncoder().encode(
  JSON.stringify({ method: 'POST', headers: { 'content-type': 'application/x-challenge-response' } }),
);
const HEARTBEAT = encodeComment();

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}
/** Longest delay `setTimeout` takes (2^31 - 1 ms); later instants are reached in steps. */
const MAX_DELAY = 2_147_483_647;

export interface SessionTarget {
  readonly exit: string;
  readonly path: string;
  readonly query: string;
  readonly params: Readonly<Record<string, string>>;
  readonly lastEventId: string | undefined;
  /** Guards the route requires: their sessions are watched for challenge and expiry. */
  readonly guards: readonly string[];
}

function reasonOf(factory: (typeof errors)[keyof typeof errors], params = {}): StreamError {
  const error = factory(params);
  return { code: error.code, message: error.message };
}

export class SseSession implements StreamHandler {
  private readonly host: SessionHost;
  private readonly net: Stream;
  private readonly target: SessionTarget;
  private readonly assembler = new MessageAssembler<SseEventEx>();
  private app: Stream | undefined;
  /** The response head went out: from now on failures end the response instead. */
  private began = false;
  private closed = false;
  private authTimer: NodeJS.Timeout | undefined;
  /** Per guard, the `challengeAt` a challenge was sent for (each instant is challenged once). */
  private readonly challenged = new Map<string, number>();
  /**
   * The client's resume point on this connection: the request's last event id, then the last
   * `id` written. Events without an id of their own repeat it: a parser whose id buffer starts
   * empty on a new connection (WHATWG HTML §9.2.6: buffers are "initialized to the empty
   * string") would otherwise reset the client's last event id on such an event.
   */
  private currentId: string | undefined;

  constructor(host: SessionHost, net: Stream, target: SessionTarget) {
    this.host = host;
    this.net = net;
    this.target = target;
    this.currentId = target.lastEventId;
  }

  start(): void {
    // A GET has no body; whatever arrives is taken and dropped.
    this.net.in.window(this.host.settings.window);
    const begin: SseBeginEx = {
      type: 'sse',
      kind: 'begin',
      path: this.target.path,
      query: this.target.query,
      params: this.target.params,
      ...(this.target.lastEventId === undefined ? {} : { lastEventId: this.target.lastEventId }),
    };
    this.app = this.host.ctx.open(
      this.target.exit,
      { ext: begin, authorization: this.net.authorization },
      this.appHandler,
    );
    this.app.in.window(this.host.settings.window);
    this.app.out.end();
  }

  // --- net side: the http stream ---

  onData(frame: DataFrame): void {
    this.net.in.window(frame.credit);
  }

  onAbort(): void {
    this.onNetGone();
  }

  onReset(): void {
    this.onNetGone();
  }

  /** The client went away (or the http server gave up on it). */
  private onNetGone(): void {
    if (this.closed) return;
    this.release();
    this.app?.close(reasonOf(errors.TRIB_SSE_CLIENT_CLOSED));
  }

  /** Sends a heartbeat comment, unless the connection is still busy with earlier bytes. */
  heartbeat(): void {
    if (this.began && !this.closed && this.net.out.queued === 0) this.net.out.data(HEARTBEAT);
  }

  /** The gateway is stopping: end the response (or refuse, before it began). */
  stop(): void {
    if (this.closed) return;
    const reason = reasonOf(errors.TRIB_SSE_STOPPING);
    this.app?.close(reason);
    if (this.began) this.doNetEnd();
    else this.doNetProblem(problemOf(errors.TRIB_SSE_STOPPING));
  }

  private doNetWrite(bytes: Uint8Array): void {
    if (this.closed || bytes.byteLength === 0) return;
    if (this.net.out.queued > this.host.settings.maxLagBytes) {
      this.doLagging();
      return;
    }
    this.net.out.data(bytes);
  }

  /** The client cannot keep up: drop what it has not taken and let it resume from its last id. */
  private doLagging(): void {
    const reason = reasonOf(errors.TRIB_SSE_LAGGING, { limit: this.host.settings.maxLagBytes });
    this.host.ctx.logger.debug(
      { stream: this.net.id, path: this.target.path, queued: this.net.out.queued },
      'event stream closed: the client lags',
    );
    this.release();
    this.app?.close(reason);
    // Before the head, the http server would answer with a problem; after, it cuts the response,
    // and a cut in the middle of an event is never dispatched by the client (WHATWG HTML §9.2.6).
    this.net.close(reason);
  }

  /** Ends the response after what is queued. */
  private doNetEnd(): void {
    if (this.closed) return;
    this.release();
    this.net.out.end();
  }

  private doNetProblem(ext: HttpProblemEx): void {
    if (this.closed) return;
    this.release();
    const reason: StreamError = {
      code: ext.code,
      ...(ext.detail === undefined ? {} : { message: ext.detail }),
      ext,
    };
    this.net.out.abort(reason);
    this.net.in.reset(reason);
  }

  private release(): void {
    this.closed = true;
    clearTimeout(this.authTimer);
    this.authTimer = undefined;
    this.host.closed(this);
  }

  // --- app side: the sse stream ---

  private readonly appHandler: StreamHandler = {
    onBegin: () => this.onAppBegin(),
    onData: (frame) => this.onAppData(frame),
    onFlush: (ext) => this.onAppFlush(ext),
    onEnd: () => this.onAppEnd(),
    onAbort: (reason) => this.onAppFailed(reason),
    onReset: (reason) => this.onAppFailed(reason),
  };

  private onAppBegin(): void {
    if (this.closed || this.began) return;
    this.began = true;
    this.net.out.begin(
      responseBegin(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }),
    );
    // Push the head out now: the first event may be a long time coming. Over HTTP/1.1 Node sends
    // a response head only with the first body bytes, so an opening comment goes with the flush.
    this.net.out.flush();
    const retry = this.host.settings.retryMs;
    // `retry:` without a blank line: applied at once, and no event is dispatched.
    this.net.out.data(retry === undefined ? HEARTBEAT : concat(HEARTBEAT, encodeRetry(retry)));
    this.scheduleAuthorization();
  }

  private onAppData(frame: DataFrame): void {
    const message = this.assembler.push(frame as DataFrame<SseEventEx>);
    if (message === undefined) {
      this.app?.in.window(frame.credit);
      return;
    }
    this.doNetWrite(encodeEvent(message.payload, this.fields(isSseEvent(message.ext) ? message.ext : {})));
    this.app?.in.window(message.credit);
  }

  private onAppFlush(ext: Extension | undefined): void {
    if (isSseEvent(ext)) this.doNetWrite(encodeFields(this.fields(ext)));
  }

  /** The event's fields, with the current id when it has none of its own. */
  private fields(event: EventFields): EventFields {
    if (event.id !== undefined) this.currentId = event.id;
    return event.id === undefined && this.currentId !== undefined ? { ...event, id: this.currentId } : event;
  }

  private onAppEnd(): void {
    this.app = undefined;
    if (this.began) this.doNetEnd();
    else this.doNetProblem(this.upstreamProblem('the event source ended before it began'));
  }

  private onAppFailed(reason: StreamError): void {
    const app = this.app;
    this.app = undefined;
    app?.close(reason);
    if (this.closed) return;
    if (this.began) {
      this.doNetEnd();
      return;
    }
    const ext = reason.ext;
    if (isSseProblem(ext))
      this.doNetProblem(
        problem(
          ext.status,
          ext.code,
          ext.detail,
          Object.fromEntries((ext.headers ?? []).map((h) => [h.name, h.value])),
        ),
      );
    else if (isHttpProblem(ext)) this.doNetProblem(ext);
    else this.doNetProblem(this.upstreamProblem(reason.code));
  }

  private upstreamProblem(reason: string): HttpProblemEx {
    return problemOf(errors.TRIB_SSE_UPSTREAM_FAILED, { reason });
  }

  // --- continuous authorization ---

  /** The live session of `guard`: read from the stream each time, never kept. */
  private session(guard: string): GuardSession | undefined {
    return this.net.authorization[guard];
  }

  private scheduleAuthorization(): void {
    clearTimeout(this.authTimer);
    this.authTimer = undefined;
    if (this.closed) return;
    let next = Infinity;
    for (const guard of this.target.guards) {
      const session = this.session(guard);
      if (session === undefined) continue;
      if (session.challengeAt !== null && this.challenged.get(guard) !== session.challengeAt)
        next = Math.min(next, session.challengeAt);
      if (session.expiresAt !== null) next = Math.min(next, session.expiresAt);
    }
    if (next === Infinity) return;
    const delay = Math.min(Math.max(0, next - Date.now()), MAX_DELAY);
    this.authTimer = setTimeout(() => this.onAuthorizationDue(), delay);
  }

  private onAuthorizationDue(): void {
    this.authTimer = undefined;
    if (this.closed) return;
    const now = Date.now();
    for (const guard of this.target.guards) {
      const session = this.session(guard);
      if (session === undefined || (session.expiresAt !== null && session.expiresAt <= now)) {
        this.onExpired(guard);
        return;
      }
      const challengeAt = session.challengeAt;
      if (challengeAt !== null && challengeAt <= now && this.challenged.get(guard) !== challengeAt) {
        this.challenged.set(guard, challengeAt);
        this.doNetWrite(encodeEvent(CHALLENGE, this.fields({ event: 'challenge' })));
      }
    }
    this.scheduleAuthorization();
  }

  private onExpired(guard: string): void {
    this.host.ctx.logger.debug(
      { stream: this.net.id, path: this.target.path, guard },
      'event stream ended: authorization expired',
    );
    const app = this.app;
    this.app = undefined;
    app?.close(reasonOf(errors.TRIB_SSE_EXPIRED, { guard }));
    this.doNetEnd();
  }
}
