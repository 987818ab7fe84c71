/**
 * One request received by an `http` server and the stream it becomes.
 *
 * The *net* side is the HTTP exchange (Node's request and response, HTTP/1.1 or HTTP/2), the
 * *app* side the stream opened towards the exit the routes picked.
 *
 * - The request body is pumped into the initial half within its credit: the request is paused
 *   while `data()` says stop, so a body is never held whole. It is counted against `bodyLimit`;
 *   going over aborts the initial half (the exit sees an abort, never an end) and answers 413.
 * - The reply half's begin sets the status and headers; its data is written to the response and
 *   its credit returned as the socket drains, so a slow client holds back only its own stream.
 * - A reset or abort before the response began is answered with a problem document (see
 *   `problem.ts`); after it began the response is cut (HTTP/1.1: the connection is destroyed,
 *   HTTP/2: `RST_STREAM` with `INTERNAL_ERROR`), so that a client never takes a partial body for
 *   a whole one.
 *
 * @module
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import http2, { type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type {
  Authorization,
  BindingContext,
  DataFrame,
  Extension,
  GuardSession,
  Stream,
  StreamError,
  StreamHandler,
} from '@tributary/kernel';
import {
  header,
  isHttpBegin,
  type HttpBeginEx,
  type HttpEndEx,
  type HttpHeader,
  type HttpProblemEx,
} from '../index.ts';
import type { HttpServerOptions, HttpWhen } from '../config/schema.ts';
import { matchWhen, type RequestFacts } from '../config/when.ts';
import { errors } from '../errors.ts';
import type { CorsPolicy } from './cors.ts';
import { parseCookies, type CredentialsExtractor } from './credentials.ts';
import type { ForwardedPolicy, ForwardedView } from './forwarded.ts';
import { fromNodeHeaders, requestHeaders, toNodeHeaders } from './headers.ts';
import { errorProblem, problemFor, problemReason, renderProblem } from './problem.ts';

export type NetRequest = IncomingMessage | Http2ServerRequest;
export type NetResponse = ServerResponse | Http2ServerResponse;

/** The operations both response kinds share, typed once. */
interface Response {
  writeHead(status: number, headers: OutgoingHttpHeaders): unknown;
  write(chunk: Uint8Array): boolean;
  end(chunk?: Uint8Array): unknown;
  addTrailers(headers: OutgoingHttpHeaders): void;
  writeContinue(): void;
  flushHeaders?(): void;
  readonly headersSent: boolean;
  on(event: 'drain' | 'close' | 'finish', listener: () => void): unknown;
}

/** What an exchange needs from its server binding. */
export interface ExchangeScope {
  readonly ctx: BindingContext<HttpServerOptions, HttpWhen>;
  readonly bodyLimit: number;
  readonly maxHeaderSize: number;
  readonly window: number;
  readonly cors: CorsPolicy | undefined;
  readonly forwarded: ForwardedPolicy | undefined;
  readonly credentials: ReadonlyMap<string, CredentialsExtractor>;
  /** Sessions of `guard` held by this server's open exchanges, for continuous authorization. */
  liveSessions(guard: string): Iterable<GuardSession>;
  /** True once the server is stopping: new requests are refused, connections not kept. */
  readonly stopping: boolean;
  /** Requests that asked for `100 Continue`, which is sent once the body is wanted. */
  readonly expectsContinue: WeakSet<NetRequest>;
  finished(exchange: ServerExchange): void;
}

const CLIENT_ABORTED: StreamError = (() => {
  const error = errors.TRIB_HTTP_CLIENT_ABORTED();
  return { code: error.code, message: error.message };
})();

/** The socket a request arrived on (for HTTP/2, the session's). */
function netSocket(req: NetRequest): Socket | undefined {
  if ('stream' in req) return req.stream.session?.socket;
  return req.socket;
}

/** `CN=client,O=Example` from a certificate subject. */
function subjectOf(subject: Readonly<Record<string, string | string[]>> | undefined): string | undefined {
  if (subject === undefined) return undefined;
  const parts = Object.entries(subject).flatMap(([key, value]) =>
    (Array.isArray(value) ? value : [value]).map((v) => `${key}=${v}`),
  );
  return parts.length === 0 ? undefined : parts.join(',');
}

/** `Content-Type: application/x-challenge-response` (parameters ignored). */
function isChallengeResponse(headers: readonly HttpHeader[]): boolean {
  const type = header({ headers }, 'content-type');
  return (
    type !== undefined && type.split(';', 1)[0]!.trim().toLowerCase() === 'application/x-challenge-response'
  );
}

export class ServerExchange {
  private readonly scope: ExchangeScope;
  private readonly req: NetRequest;
  private readonly res: Response;
  private readonly http2: boolean;
  private readonly method: string;
  /** `:path` as sent. */
  private readonly target: string;
  private readonly headers: readonly HttpHeader[];
  private readonly view: ForwardedView;
  private readonly tls: HttpBeginEx['tls'];

  private app: Stream | undefined;
  /** Request body bytes received so far. */
  private received = 0;
  /** True once the whole request body has been read. */
  private requestComplete = false;
  /** True once the response head was written (or a problem sent): from then on only a cut. */
  private responseBegun = false;
  /** True once the response was finished, cut, or the client went away. */
  private done = false;
  private headFlushed = false;
  /** The response is an event stream (Server-Sent Events), resumable by its clients. */
  private eventStream = false;
  /** Close the HTTP/1.1 connection after this response (the request body was not read). */
  private closeAfter = false;
  /** The request announced a body (HTTP/1.1: content-length or chunked). */
  private readonly hasBody: boolean;
  /** Reply credit owed back while the socket drains. */
  private owed = 0;
  private draining = false;

  constructor(scope: ExchangeScope, req: NetRequest, res: NetResponse) {
    this.scope = scope;
    this.req = req;
    this.res = res as unknown as Response;
    this.http2 = 'stream' in req;
    this.method = req.method ?? 'GET';
    this.target = req.url ?? '/';
    this.headers = requestHeaders(req.rawHeaders);
    this.hasBody =
      Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    const socket = netSocket(req);
    const encrypted = (socket as TLSSocket | undefined)?.encrypted === true;
    const authority =
      (this.http2 ? (req.headers[':authority'] as string | undefined) : undefined) ??
      req.headers.host ??
      `${socket?.localAddress ?? 'localhost'}:${socket?.localPort ?? 0}`;
    const direct: ForwardedView = {
      scheme: encrypted ? 'https' : 'http',
      authority,
      remote: { address: socket?.remoteAddress ?? '', port: socket?.remotePort ?? 0 },
    };
    this.view = scope.forwarded?.resolve(direct, this.headers) ?? direct;
    if (encrypted) {
      const tlsSocket = socket as TLSSocket;
      const peerSubject = tlsSocket.authorized
        ? subjectOf(tlsSocket.getPeerCertificate().subject as Record<string, string> | undefined)
        : undefined;
      this.tls = {
        protocol: tlsSocket.getProtocol() ?? 'unknown',
        ...(peerSubject === undefined ? {} : { peerSubject }),
      };
    }
    this.res.on('finish', () => this.onNetFinish());
    this.res.on('close', () => this.onNetClose());
    req.on('error', () => this.onNetClose());
  }

  /** Answers at once what needs no exit, else authorizes and opens the stream. */
  start(): void {
    if (this.scope.stopping) {
      this.closeAfter = true;
      this.doNetProblem(errorProblem(errors.TRIB_HTTP_STOPPING));
      return;
    }
    let headerBytes = this.method.length + this.target.length;
    for (const { name, value } of this.headers) headerBytes += name.length + value.length + 4;
    if (headerBytes > this.scope.maxHeaderSize) {
      this.closeAfter = true;
      this.doNetProblem(
        errorProblem(errors.TRIB_HTTP_HEADERS_TOO_LARGE, { limit: this.scope.maxHeaderSize }),
      );
      return;
    }
    if (this.scope.cors?.isPreflight(this.method, this.headers) === true) {
      this.doNetRespond(204, this.scope.cors.preflight(this.headers));
      return;
    }
    if (this.method === 'POST' && this.scope.credentials.size > 0 && isChallengeResponse(this.headers)) {
      this.closeAfter = this.hasBody;
      this.challengeResponse().then(
        () => undefined,
        () => this.doNetProblem(errorProblem(errors.TRIB_HTTP_INTERNAL)),
      );
      return;
    }
    const length = Number(header({ headers: this.headers }, 'content-length') ?? 0);
    if (length > this.scope.bodyLimit) {
      this.closeAfter = true;
      this.doNetProblem(errorProblem(errors.TRIB_HTTP_BODY_TOO_LARGE, { limit: this.scope.bodyLimit }));
      return;
    }
    this.authorize().then(
      ({ authorization, refused, unavailable }) => {
        if (unavailable) {
          this.closeAfter = this.hasBody && !this.requestComplete;
          this.doNetProblem(errorProblem(errors.TRIB_HTTP_GUARD_UNAVAILABLE), { 'retry-after': '5' });
          return;
        }
        this.route(authorization, refused);
      },
      () => this.doNetProblem(errorProblem(errors.TRIB_HTTP_INTERNAL)),
    );
  }

  /** The guard sessions this exchange's stream carries (empty until routed). */
  authorization: Authorization = {};

  /**
   * Continuous authorization: a `POST` with `Content-Type: application/x-challenge-response`
   * carries fresh credentials (in the places the server's `authorization` option names). Every
   * open stream of this server whose session belongs to the same principal of that guard is
   * re-authorized with them (the guard extends the session in place), so streams that were told
   * to answer a challenge keep running past their old expiry. 204 when the credentials are
   * valid, 401 otherwise; nothing is routed.
   */
  private async challengeResponse(): Promise<void> {
    const { authorization, refused, unavailable } = await this.authorize();
    const guards = Object.keys(authorization);
    if (guards.length === 0 && unavailable) {
      this.doNetProblem(errorProblem(errors.TRIB_HTTP_GUARD_UNAVAILABLE), { 'retry-after': '5' });
      return;
    }
    if (guards.length === 0) {
      this.doNetProblem(errorProblem(errors.TRIB_HTTP_UNAUTHORIZED), {
        'www-authenticate': this.challenges([], refused),
      });
      return;
    }
    const q = this.target.indexOf('?');
    const query = new URLSearchParams(q < 0 ? '' : this.target.slice(q + 1));
    let cookies: Map<string, string> | undefined;
    const jar = () => (cookies ??= parseCookies(this.headers));
    let renewed = 0;
    for (const name of guards) {
      const fresh = authorization[name]!;
      const guard = this.scope.ctx.guard(name);
      const credentials = this.scope.credentials.get(name)?.extract(this.headers, query, jar);
      if (guard?.reauthorize === undefined || credentials === undefined) continue;
      for (const session of [...this.scope.liveSessions(name)]) {
        if (session.identity !== fresh.identity) continue;
        const result = await guard.reauthorize(session, credentials);
        if (result.ok) renewed++;
      }
    }
    if (this.done) return;
    this.doNetRespond(204, { 'x-tributary-renewed': String(renewed) });
  }

  /** Guard sessions from the request's credentials; guards that refused them in `refused`. */
  private async authorize(): Promise<{
    authorization: Authorization;
    refused: Set<string>;
    unavailable: boolean;
  }> {
    const authorization: Record<string, GuardSession> = {};
    const refused = new Set<string>();
    // A guard that cannot verify credentials now (status 503) must not make them look invalid.
    let unavailable = false;
    if (this.scope.credentials.size === 0) return { authorization, refused, unavailable };
    const q = this.target.indexOf('?');
    const query = new URLSearchParams(q < 0 ? '' : this.target.slice(q + 1));
    let cookies: Map<string, string> | undefined;
    const jar = () => (cookies ??= parseCookies(this.headers));
    await Promise.all(
      [...this.scope.credentials].map(async ([name, extractor]) => {
        const credentials = extractor.extract(this.headers, query, jar);
        const guard = this.scope.ctx.guard(name);
        if (credentials === undefined || guard === undefined) return;
        const result = await guard.authorize(credentials);
        if (result.ok) authorization[name] = result.session;
        else if (result.failure.status === 503) unavailable = true;
        else refused.add(name);
      }),
    );
    return { authorization, refused, unavailable };
  }

  private facts(): RequestFacts {
    const end = this.target.search(/[?#]/);
    let path = end < 0 ? this.target : this.target.slice(0, end);
    // Absolute form (RFC 9112 §3.2.2): match on the path.
    if (!path.startsWith('/')) path = /^[a-z][a-z0-9+.-]*:\/\/[^/]*(\/.*)?$/i.exec(path)?.[1] ?? path;
    return { method: this.method, authority: this.view.authority.toLowerCase(), path, headers: this.headers };
  }

  private route(authorization: Authorization, refused: ReadonlySet<string>): void {
    if (this.done) return;
    const facts = this.facts();
    const resolution = this.scope.ctx.resolveRoute((when) => matchWhen(when, facts), authorization);
    if (!resolution.ok) {
      this.closeAfter = this.hasBody && !this.requestComplete;
      switch (resolution.reason) {
        case 'no-match':
          this.doNetProblem(
            errorProblem(errors.TRIB_HTTP_NOT_FOUND, { method: this.method, path: facts.path }),
          );
          return;
        case 'unauthorized':
          this.doNetProblem(errorProblem(errors.TRIB_HTTP_UNAUTHORIZED), {
            'www-authenticate': this.challenges(resolution.guards, refused),
          });
          return;
        case 'forbidden':
          this.doNetProblem(errorProblem(errors.TRIB_HTTP_FORBIDDEN));
          return;
      }
    }
    const begin: HttpBeginEx = {
      type: 'http',
      kind: 'begin',
      headers: [
        { name: ':method', value: this.method },
        { name: ':scheme', value: this.view.scheme },
        { name: ':authority', value: this.view.authority },
        { name: ':path', value: this.target },
        ...this.headers,
      ],
      remote: this.view.remote,
      ...(this.tls === undefined ? {} : { tls: this.tls }),
    };
    this.authorization = authorization;
    this.app = this.scope.ctx.open(resolution.route.exit, { ext: begin, authorization }, this.appHandler);
    this.app.in.window(this.scope.window);
    this.app.out.onCredit(() => this.onAppCredit());
    this.res.on('drain', () => this.onNetDrain());
    if (this.scope.expectsContinue.has(this.req)) this.res.writeContinue();
    this.req.on('data', (chunk: Buffer) => this.onNetData(chunk));
    this.req.on('end', () => this.onNetEnd());
  }

  /** `WWW-Authenticate` challenges for the guards that refused (RFC 9110 §11.6.1, RFC 6750 §3). */
  private challenges(guards: readonly string[], refused: ReadonlySet<string>): string[] {
    const names = guards.length > 0 ? guards : [...this.scope.credentials.keys()];
    const realm = `realm="${this.scope.ctx.name}"`;
    if (names.length === 0) return [`Bearer ${realm}`];
    return names.map((guard) => {
      const scheme = this.scope.credentials.get(guard)?.scheme ?? 'Bearer';
      return refused.has(guard) ? `${scheme} ${realm}, error="invalid_token"` : `${scheme} ${realm}`;
    });
  }

  // --- net side: the request ---

  private onNetData(chunk: Buffer): void {
    const app = this.app;
    if (app === undefined || !app.out.writable) return;
    this.received += chunk.byteLength;
    if (this.received > this.scope.bodyLimit) {
      this.closeAfter = true;
      const ext = errorProblem(errors.TRIB_HTTP_BODY_TOO_LARGE, { limit: this.scope.bodyLimit });
      app.close(problemReason(ext));
      this.req.pause();
      this.doNetProblem(ext);
      return;
    }
    // Pause only while bytes wait for credit: with nothing queued the request must keep being
    // read, or its end would never be seen when the last chunk used the last credit.
    if (!app.out.data(chunk) && app.out.queued > 0) this.req.pause();
  }

  private onNetEnd(): void {
    // An HTTP/2 stream reset by the client ends its request too (Node's compatibility layer):
    // that is an abort, not a complete body.
    if ('stream' in this.req && (this.req.aborted || (this.req.stream.rstCode ?? 0) !== 0)) {
      this.onNetClose();
      return;
    }
    this.requestComplete = true;
    const trailers = fromNodeHeaders(this.req.trailers);
    const ext: HttpEndEx | undefined =
      trailers.length === 0 ? undefined : { type: 'http', kind: 'end', trailers };
    this.app?.out.end(ext);
  }

  private onNetDrain(): void {
    this.draining = false;
    const credit = this.owed;
    this.owed = 0;
    this.app?.in.window(credit);
  }

  private onNetFinish(): void {
    this.done = true;
    // Whatever of the request the exit did not take is of no use any more.
    if (!this.requestComplete) this.app?.out.abort(CLIENT_ABORTED);
  }

  /** The response is over: finished, cut, or the client went away first. */
  private onNetClose(): void {
    const wasDone = this.done;
    this.done = true;
    if (!wasDone || !this.requestComplete) this.app?.close(CLIENT_ABORTED);
    this.scope.finished(this);
  }

  // --- app side: the stream ---

  private readonly appHandler: StreamHandler = {
    onBegin: (ext) => this.onAppBegin(ext),
    onData: (frame) => this.onAppData(frame),
    onFlush: () => this.onAppFlush(),
    onEnd: (ext) => this.onAppEnd(ext),
    onAbort: (reason) => this.onAppAbort(reason),
    onReset: (reason) => this.onAppReset(reason),
  };

  private onAppCredit(): void {
    if (this.app?.out.writable === true && !this.done) this.req.resume();
  }

  private onAppBegin(ext: Extension | undefined): void {
    if (this.done || this.responseBegun) return;
    const head = isHttpBegin(ext) ? ext : undefined;
    const status = Number(head === undefined ? 200 : (header(head, ':status') ?? 200));
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      this.failApp(errorProblem(errors.TRIB_HTTP_INTERNAL));
      return;
    }
    const headers = { ...toNodeHeaders(head?.headers ?? []), ...this.corsHeaders() };
    if (!this.http2 && (this.scope.stopping || this.closeAfter)) headers['connection'] = 'close';
    try {
      this.res.writeHead(status, headers);
    } catch {
      // Header names or values Node refuses: the exit's fault, answered as a failure.
      this.failApp(errorProblem(errors.TRIB_HTTP_INTERNAL));
      return;
    }
    this.responseBegun = true;
    this.eventStream = /^text\/event-stream\b/i.test(String(headers['content-type'] ?? ''));
  }

  private onAppData(frame: DataFrame): void {
    if (this.done) return;
    if (this.method === 'HEAD') {
      this.app?.in.window(frame.credit);
      return;
    }
    if (this.res.write(frame.payload) && !this.draining) this.app?.in.window(frame.credit);
    else {
      this.draining = true;
      this.owed += frame.credit;
    }
  }

  private onAppFlush(): void {
    // Push the head out now (e.g. before a long wait for the first event). `headersSent` cannot
    // tell: HTTP/1.1 sets it at writeHead, before anything reached the socket.
    if (this.done || !this.responseBegun || this.headFlushed) return;
    this.headFlushed = true;
    this.res.flushHeaders?.();
  }

  /**
   * At shutdown, an event stream (`text/event-stream`) ends cleanly at once instead of holding
   * the stop until its deadline: its clients reconnect and resume by design. True if it did.
   */
  endIfResumable(reason: StreamError): boolean {
    if (this.done || !this.responseBegun || !this.eventStream) return false;
    this.app?.close(reason);
    this.res.end();
    return true;
  }

  private onAppEnd(ext: Extension | undefined): void {
    if (this.done) return;
    if (!this.responseBegun) this.onAppBegin(undefined);
    const end = ext as HttpEndEx | undefined;
    if (end?.type === 'http' && end.kind === 'end' && end.trailers.length > 0) {
      try {
        this.res.addTrailers(toNodeHeaders(end.trailers));
      } catch {
        // Trailers Node refuses are dropped; the body itself is complete.
      }
    }
    this.res.end();
  }

  private onAppAbort(reason: StreamError): void {
    this.req.pause();
    this.app?.out.abort(reason);
    this.doNetProblem(problemFor(reason));
  }

  private onAppReset(reason: StreamError): void {
    // The exit wants no more of the request. Before the response began that is a failure.
    this.req.pause();
    this.closeAfter = this.hasBody && !this.requestComplete;
    if (this.responseBegun) return;
    this.app?.in.reset(reason);
    this.doNetProblem(problemFor(reason));
  }

  /** The exit sent something that cannot be answered: tell the client, close the stream. */
  private failApp(ext: HttpProblemEx): void {
    this.app?.close(problemReason(ext));
    this.doNetProblem(ext);
  }

  private corsHeaders(): OutgoingHttpHeaders {
    return this.scope.cors?.responseHeaders(header({ headers: this.headers }, 'origin')) ?? {};
  }

  // --- net side: answering ---

  /** Answers with a problem document, or cuts the response when it already began. */
  private doNetProblem(ext: HttpProblemEx, extra: OutgoingHttpHeaders = {}): void {
    if (this.done) return;
    if (this.responseBegun) {
      this.doNetCut();
      return;
    }
    const rendered = renderProblem(ext, { ...extra, ...this.corsHeaders() });
    this.doNetRespond(rendered.status, rendered.headers, rendered.body);
  }

  private doNetRespond(status: number, headers: OutgoingHttpHeaders, body?: Buffer): void {
    this.responseBegun = true;
    if (!this.http2 && (this.scope.stopping || this.closeAfter)) headers['connection'] = 'close';
    try {
      this.res.writeHead(status, headers);
      this.res.end(this.method === 'HEAD' ? undefined : body);
    } catch {
      this.doNetCut();
    }
  }

  /** Ends the exchange abruptly, so the client cannot mistake a partial response for a whole. */
  doNetCut(): void {
    if (this.done) return;
    this.done = true;
    if ('stream' in this.req) this.req.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    else this.req.socket.destroy();
  }

  /** At the stop deadline: close the stream and cut the exchange. */
  abort(reason: StreamError): void {
    this.app?.close(reason);
    if (!this.responseBegun) this.doNetProblem(errorProblem(errors.TRIB_HTTP_STOPPING));
    else this.doNetCut();
  }
}
