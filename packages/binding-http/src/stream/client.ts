/**
 * The `http` client binding: every `http` stream it accepts is sent as a request to its
 * upstream origin through an undici `Pool`, and the response comes back on the reply half.
 *
 * The *app* side is the accepted stream, the *net* side the upstream request.
 *
 * - The request body flows from the initial half through a small pipe that undici reads, with
 *   credit returned as undici takes the bytes. The request is dispatched on the first of: a
 *   `content-length` in the head, the first data frame (a streamed, chunked body), or the end of
 *   the initial half (no body).
 * - The response body is written to the reply half; while it has no credit, undici is paused, so
 *   the upstream socket is not read and TCP holds the upstream back.
 * - Failures reset and abort the stream with an `HttpProblemEx`: 502
 *   `TRIB_HTTP_UPSTREAM_UNAVAILABLE` when the upstream cannot be reached, 504
 *   `TRIB_HTTP_UPSTREAM_TIMEOUT` when it does not answer in time, 502 `TRIB_HTTP_UPSTREAM_FAILED`
 *   otherwise.
 *
 * @module
 */
import { PassThrough } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import {
  pumpToWritable,
  type BindingContext,
  type BindingHandler,
  type DataFrame,
  type Extension,
  type Stream,
  type StreamError,
  type StreamHandler,
} from '@tributary/kernel';
import {
  header,
  headerValues,
  isHttpBegin,
  type HttpBeginEx,
  type HttpEndEx,
  type HttpProblemEx,
} from '../index.ts';
import { CLIENT_DEFAULTS, type HttpClientOptions } from '../config/schema.ts';
import { loadTlsMaterial } from '../config/tls.ts';
import { errors } from '../errors.ts';
import { upstreamLost, upstreamRecovered } from '../events.ts';
import { fromNodeHeaders, isConnectionSpecific } from './headers.ts';
import { errorProblem, problemReason } from './problem.ts';

/** Errors that mean the upstream could not be reached at all. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Methods whose requests rarely have a body: they wait for the first data or the end. */
const BODYLESS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);

const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

type UpstreamState = 'unknown' | 'up' | 'down';

export class HttpClientBinding implements BindingHandler {
  readonly ctx: BindingContext<HttpClientOptions>;
  readonly window: number;
  readonly headersTimeout: number;
  readonly bodyTimeout: number;
  private readonly origin: string;
  private readonly pool: Pool;
  private readonly exchanges = new Set<ClientExchange>();
  private state: UpstreamState = 'unknown';

  constructor(ctx: BindingContext<HttpClientOptions>) {
    this.ctx = ctx;
    const options = ctx.config.options;
    this.origin = new URL(options.url).origin;
    this.window = options.window ?? CLIENT_DEFAULTS.window;
    this.headersTimeout = options.headersTimeout ?? CLIENT_DEFAULTS.headersTimeout;
    this.bodyTimeout = options.bodyTimeout ?? CLIENT_DEFAULTS.bodyTimeout;
    const tls =
      options.tls === undefined
        ? undefined
        : loadTlsMaterial(options.tls, { name: ctx.name, configDir: ctx.configDir, vault: ctx.vault() });
    this.pool = new Pool(this.origin, {
      connections: options.connections ?? CLIENT_DEFAULTS.connections,
      keepAliveTimeout: options.keepAliveTimeout ?? CLIENT_DEFAULTS.keepAliveTimeout,
      headersTimeout: this.headersTimeout,
      bodyTimeout: this.bodyTimeout,
      allowH2: options.http2 ?? CLIENT_DEFAULTS.http2,
      connect: {
        minVersion: 'TLSv1.2',
        ...tls,
        ...(options.tls?.servername === undefined ? {} : { servername: options.tls.servername }),
      },
    });
  }

  accept(app: Stream, begin: Extension | undefined): StreamHandler | null {
    const head = isHttpBegin(begin) ? begin : undefined;
    const missing =
      head === undefined
        ? 'no http begin extension'
        : header(head, ':method') === undefined
          ? 'no :method'
          : header(head, ':path') === undefined
            ? 'no :path'
            : undefined;
    if (head === undefined || missing !== undefined) {
      const ext = errorProblem(errors.TRIB_HTTP_INVALID_BEGIN, { reason: missing ?? 'unknown' });
      queueMicrotask(() => app.close(problemReason(ext)));
      return {};
    }
    const exchange = new ClientExchange(this, app, head);
    this.exchanges.add(exchange);
    return exchange.appHandler;
  }

  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): void {
    this.pool.dispatch(options, handler);
  }

  finished(exchange: ClientExchange): void {
    this.exchanges.delete(exchange);
  }

  /** The upstream answered: report recovery once after a loss. */
  reached(): void {
    if (this.state === 'down') this.ctx.events.emit(upstreamRecovered(this.origin));
    this.state = 'up';
  }

  /** The upstream could not be reached: report it once until it answers again. */
  unreachable(code: string): void {
    if (this.state !== 'down') this.ctx.events.emit(upstreamLost(this.origin, code));
    this.state = 'down';
  }

  /** Lets requests in flight finish until `signal` aborts, then cuts them and the connections. */
  async stop(signal: AbortSignal): Promise<void> {
    await new Promise<void>((resolve) => {
      const done = () => {
        clearInterval(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setInterval(() => {
        if (this.exchanges.size === 0) done();
      }, 10);
      signal.addEventListener('abort', done, { once: true });
      if (this.exchanges.size === 0 || signal.aborted) done();
    });
    const error = errors.TRIB_HTTP_STOPPING();
    for (const exchange of [...this.exchanges]) exchange.abort({ code: error.code, message: error.message });
    await (this.exchanges.size === 0 ? this.pool.close() : this.pool.destroy());
  }
}

/** One stream sent upstream as one request. */
class ClientExchange {
  private readonly binding: HttpClientBinding;
  private readonly app: Stream;
  private readonly head: HttpBeginEx;
  /** What undici reads the request body from. */
  private readonly body = new PassThrough();
  private readonly pump: Pick<StreamHandler, 'onData' | 'onEnd' | 'onAbort'>;
  private controller: Dispatcher.DispatchController | undefined;
  private dispatched = false;
  private responseBegun = false;
  private done = false;

  constructor(binding: HttpClientBinding, app: Stream, head: HttpBeginEx) {
    this.binding = binding;
    this.app = app;
    this.head = head;
    this.body.on('error', () => undefined);
    this.pump = pumpToWritable(app.in, this.body, { window: binding.window });
    this.app.out.onCredit(() => this.onAppCredit());
    // Known up front: a declared length, or a method that carries a body (streamed, chunked).
    const length = header(head, 'content-length');
    const method = header(head, ':method') ?? 'GET';
    if (length !== undefined) queueMicrotask(() => this.doNetDispatch(Number(length) > 0));
    else if (!BODYLESS.has(method)) queueMicrotask(() => this.doNetDispatch(true));
  }

  readonly appHandler: StreamHandler = {
    onData: (frame) => this.onAppData(frame),
    onEnd: (ext) => this.onAppEnd(ext),
    onAbort: (reason) => this.onAppAbort(reason),
    onReset: (reason) => this.onAppReset(reason),
  };

  // --- app side ---

  private onAppData(frame: DataFrame): void {
    this.doNetDispatch(true);
    this.pump.onData?.(frame);
  }

  private onAppEnd(ext: Extension | undefined): void {
    // Request trailers are not sent: undici has no way to send them.
    this.doNetDispatch(false);
    this.pump.onEnd?.(ext);
  }

  private onAppAbort(reason: StreamError): void {
    // The client gave up on the request: the upstream request is cut too.
    this.finish();
    this.doNetAbort(reason.code);
    this.app.close(reason);
  }

  private onAppReset(reason: StreamError): void {
    this.finish();
    this.doNetAbort(reason.code);
    this.app.in.reset(reason);
  }

  private onAppCredit(): void {
    if (this.controller?.paused === true && !this.done) this.controller.resume();
  }

  abort(reason: StreamError): void {
    this.finish();
    this.doNetAbort(reason.code);
    this.app.close(reason);
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.binding.finished(this);
  }

  // --- net side ---

  private doNetDispatch(withBody: boolean): void {
    if (this.dispatched || this.done) return;
    this.dispatched = true;
    const headers: string[] = [];
    // Fields named in `Connection` are connection-specific too (RFC 9110 §7.6.1).
    const listed = new Set(
      headerValues(this.head, 'connection').flatMap((v) => v.split(',').map((t) => t.trim().toLowerCase())),
    );
    for (const { name, value } of this.head.headers) {
      if (
        name.startsWith(':') ||
        isConnectionSpecific(name) ||
        listed.has(name) ||
        name === 'te' ||
        name === 'host'
      )
        continue;
      headers.push(name, value);
    }
    try {
      this.binding.dispatch(
        {
          path: header(this.head, ':path') ?? '/',
          method: header(this.head, ':method') ?? 'GET',
          headers,
          body: withBody ? this.body : null,
        },
        {
          onRequestStart: (controller) => this.onNetStart(controller),
          onResponseStart: (_c, status, responseHeaders) => this.onNetResponse(status, responseHeaders),
          onResponseData: (_c, chunk) => this.onNetData(chunk),
          onResponseEnd: (_c, trailers) => this.onNetEnd(trailers),
          onResponseError: (_c, error) => this.onNetError(error),
        },
      );
    } catch {
      this.doAppFail(
        errorProblem(errors.TRIB_HTTP_INVALID_BEGIN, { reason: 'the request head is not valid HTTP' }),
      );
    }
  }

  /**
   * Cuts the upstream request. Before undici started it, wait for its start: destroying the
   * body of a request undici has not begun sending (HTTP/2) leaves undici spinning.
   */
  private doNetAbort(code: string): void {
    const controller = this.controller;
    if (controller === undefined) {
      if (!this.dispatched) this.body.destroy();
      return;
    }
    // Not from inside undici's own callback: once it has returned.
    setImmediate(() => {
      controller.abort(new Error(code));
      this.body.destroy();
    });
  }

  private onNetStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.done) this.doNetAbort('TRIB_HTTP_CLIENT_ABORTED');
  }

  private onNetResponse(status: number, headers: Readonly<Record<string, unknown>>): void {
    this.binding.reached();
    if (status < 200 || this.done) return;
    this.responseBegun = true;
    const begin: HttpBeginEx = {
      type: 'http',
      kind: 'begin',
      headers: [{ name: ':status', value: String(status) }, ...fromNodeHeaders(headers)],
    };
    this.app.out.begin(begin);
  }

  private onNetData(chunk: Buffer): void {
    if (this.done) return;
    // Pause only while bytes wait for credit, so that the response's end is still seen when the
    // last chunk used the last credit.
    if (!this.app.out.data(chunk) && this.app.out.queued > 0) this.controller?.pause();
  }

  private onNetEnd(trailers: Readonly<Record<string, unknown>>): void {
    if (this.done) return;
    const list = fromNodeHeaders(trailers);
    this.finish();
    const end: HttpEndEx | undefined =
      list.length === 0 ? undefined : { type: 'http', kind: 'end', trailers: list };
    this.app.out.end(end);
  }

  private onNetError(error: Error & { code?: string }): void {
    if (this.done) return;
    const code = error.code ?? (error.cause as { code?: string } | undefined)?.code ?? 'UNKNOWN';
    if (UNREACHABLE.has(code) && !this.responseBegun) {
      this.binding.unreachable(code);
      this.doAppFail(errorProblem(errors.TRIB_HTTP_UPSTREAM_UNAVAILABLE));
    } else if (TIMEOUTS.has(code)) {
      const ms = code === 'UND_ERR_HEADERS_TIMEOUT' ? this.binding.headersTimeout : this.binding.bodyTimeout;
      this.doAppFail(errorProblem(errors.TRIB_HTTP_UPSTREAM_TIMEOUT, { ms }));
    } else {
      this.binding.ctx.logger.debug({ code, binding: this.binding.ctx.name }, 'http upstream request failed');
      this.doAppFail(errorProblem(errors.TRIB_HTTP_UPSTREAM_FAILED));
    }
  }

  /** Resets the request half and aborts the reply half with `ext`. */
  private doAppFail(ext: HttpProblemEx): void {
    this.finish();
    this.body.destroy();
    this.app.close(problemReason(ext));
  }
}
