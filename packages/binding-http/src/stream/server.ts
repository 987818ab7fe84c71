/**
 * The `http` server binding: fastify routes every request, on every listening address and
 * protocol, to one handler that takes the raw request over ({@link ServerExchange}).
 *
 * fastify is used without its own listener (`serverFactory`): the binding owns one Node server
 * per `listen` entry (see `listener.ts`) and one HTTP/2 server fed the HTTP/2 connections of all
 * of them. Its content-type parser leaves every body unread, so bodies are streamed, never
 * buffered; its routing, URL checks and error handling stay in the path.
 *
 * @module
 */
import http from 'node:http';
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import { fastify, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { BindingContext, BindingHandler, GuardSession } from '@tributary/kernel';
import { listenList } from '../config/validate.ts';
import { loadTlsMaterial } from '../config/tls.ts';
import { SERVER_DEFAULTS, type HttpServerOptions, type HttpWhen } from '../config/schema.ts';
import { errors } from '../errors.ts';
import { serverListening, serverStopped } from '../events.ts';
import { HTTP_SERVER_BRAND, type HttpBoundAddress } from '../index.ts';
import { CorsPolicy } from './cors.ts';
import { CredentialsExtractor } from './credentials.ts';
import { ServerExchange, type ExchangeScope, type NetRequest, type NetResponse } from './exchange.ts';
import { ForwardedPolicy } from './forwarded.ts';
import { Listener, type ListenerOptions } from './listener.ts';
import { errorProblem, renderProblem } from './problem.ts';

type RequestHandler = (req: NetRequest, res: NetResponse) => void;

export class HttpServerBinding implements BindingHandler, ExchangeScope {
  readonly [HTTP_SERVER_BRAND] = true;
  readonly ctx: BindingContext<HttpServerOptions, HttpWhen>;
  readonly bodyLimit: number;
  readonly maxHeaderSize: number;
  readonly window: number;
  readonly cors: CorsPolicy | undefined;
  readonly forwarded: ForwardedPolicy | undefined;
  readonly credentials: ReadonlyMap<string, CredentialsExtractor>;
  readonly expectsContinue = new WeakSet<NetRequest>();
  stopping = false;

  private readonly options: HttpServerOptions;
  private readonly tls: { key?: string; cert?: string; ca?: string } | undefined;
  private readonly exchanges = new Set<ServerExchange>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private listeners: Listener[] = [];
  private bound: HttpBoundAddress[] = [];
  private app: FastifyInstance | undefined;
  private h2: http2.Http2Server | undefined;

  constructor(ctx: BindingContext<HttpServerOptions, HttpWhen>) {
    this.ctx = ctx;
    this.options = ctx.config.options;
    this.bodyLimit = this.options.bodyLimit ?? SERVER_DEFAULTS.bodyLimit;
    this.maxHeaderSize = this.options.maxHeaderSize ?? SERVER_DEFAULTS.maxHeaderSize;
    this.window = this.options.window ?? SERVER_DEFAULTS.window;
    this.cors = this.options.cors === undefined ? undefined : new CorsPolicy(this.options.cors);
    this.forwarded =
      this.options.trustedProxies === undefined
        ? undefined
        : new ForwardedPolicy(this.options.trustedProxies);
    this.credentials = new Map(
      Object.entries(this.options.authorization ?? {}).map(([guard, { credentials }]) => [
        guard,
        new CredentialsExtractor(credentials),
      ]),
    );
    // Load-time problems (missing files, unknown aliases) surface when the binding is created.
    this.tls =
      this.options.tls === undefined
        ? undefined
        : loadTlsMaterial(this.options.tls, { name: ctx.name, configDir: ctx.configDir, vault: ctx.vault() });
  }

  /** The addresses bound by `start()` (with the actual port when `port: 0` was asked). */
  addresses(): readonly HttpBoundAddress[] {
    return this.bound;
  }

  *liveSessions(guard: string): Iterable<GuardSession> {
    const seen = new Set<GuardSession>();
    for (const exchange of this.exchanges) {
      const session = exchange.authorization[guard];
      if (session === undefined || seen.has(session)) continue;
      seen.add(session);
      yield session;
    }
  }

  finished(exchange: ServerExchange): void {
    this.exchanges.delete(exchange);
  }

  async start(): Promise<void> {
    const handle = await this.createApp();
    const h2 = (this.options.http2 ?? SERVER_DEFAULTS.http2) ? this.createHttp2(handle) : undefined;
    this.h2 = h2;
    const keepAliveTimeout = this.options.keepAliveTimeout ?? SERVER_DEFAULTS.keepAliveTimeout;
    const common: Omit<ListenerOptions, 'listen' | 'tls'> = {
      http1: {
        maxHeaderSize: this.maxHeaderSize,
        requestTimeout: this.options.requestTimeout ?? SERVER_DEFAULTS.requestTimeout,
        headersTimeout: this.options.headersTimeout ?? SERVER_DEFAULTS.headersTimeout,
        keepAliveTimeout,
      },
      keepAliveTimeout,
      http2: h2,
      onRequest: handle,
      onCheckContinue: (req, res) => {
        this.expectsContinue.add(req);
        handle(req, res);
      },
      onClientError: (error, socket) => this.onClientError(error, socket),
    };
    const clientAuth = this.options.tls?.clientAuth ?? 'none';
    const tls =
      this.tls === undefined
        ? undefined
        : {
            ...this.tls,
            minVersion: 'TLSv1.2' as const,
            requestCert: clientAuth !== 'none',
            rejectUnauthorized: clientAuth === 'require',
          };
    try {
      for (const listen of listenList(this.options)) {
        const listener = new Listener({ ...common, listen, tls: listen.tls === true ? tls : undefined });
        this.listeners.push(listener);
        const where = `${listen.host ?? '*'}:${listen.port}`;
        this.bound.push(
          await listener.listen().catch((cause: unknown) => {
            const reason = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
            throw errors.TRIB_HTTP_LISTEN_FAILED({ address: where, reason }, { cause });
          }),
        );
      }
    } catch (error) {
      await this.closeAll();
      throw error;
    }
    this.ctx.events.emit(serverListening(this.bound.map((address) => address.url)));
  }

  /** fastify with one catch-all route; returns its request handler. */
  private async createApp(): Promise<RequestHandler> {
    let routing: RequestHandler | undefined;
    const app = fastify({
      logger: false,
      exposeHeadRoutes: false,
      return503OnClosing: false,
      // fastify never listens: the listeners hand it requests through this handler.
      serverFactory: (handler) => {
        routing = handler as RequestHandler;
        return http.createServer();
      },
      frameworkErrors: (error, request, reply) => this.onFrameworkError(error, request, reply),
    });
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    app.setErrorHandler((error, request, reply) => this.onFrameworkError(error as Error, request, reply));
    const handler = (request: FastifyRequest, reply: FastifyReply) => {
      reply.hijack();
      const exchange = new ServerExchange(this, request.raw, reply.raw);
      this.exchanges.add(exchange);
      exchange.start();
    };
    app.all('*', handler);
    app.setNotFoundHandler(handler);
    await app.ready();
    this.app = app;
    if (routing === undefined) throw new Error('fastify did not call serverFactory');
    return routing;
  }

  private createHttp2(handle: RequestHandler): http2.Http2Server {
    const keepAliveTimeout = this.options.keepAliveTimeout ?? SERVER_DEFAULTS.keepAliveTimeout;
    const h2 = http2.createServer({ settings: { enablePush: false } }, handle);
    h2.on('checkContinue', (req, res) => {
      this.expectsContinue.add(req);
      handle(req, res);
    });
    h2.on('session', (session) => {
      this.sessions.add(session);
      session.on('close', () => this.sessions.delete(session));
      session.on('error', () => undefined);
      // An idle session is closed gracefully (GOAWAY; open streams finish).
      session.setTimeout(keepAliveTimeout, () => session.close());
      if (this.stopping) session.close();
    });
    return h2;
  }

  /** Errors fastify raises before the handler (bad URL, bad content type): a problem, no stack. */
  private onFrameworkError(
    error: Error & { statusCode?: number },
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    reply.hijack();
    const status = error.statusCode ?? 500;
    const ext =
      status >= 400 && status < 500
        ? { ...errorProblem(errors.TRIB_HTTP_BAD_REQUEST, { reason: error.message }), status }
        : errorProblem(errors.TRIB_HTTP_INTERNAL);
    if (status >= 500) this.ctx.logger.error({ err: error }, 'http request failed');
    const res = reply.raw;
    if (res.headersSent) {
      request.raw.socket.destroy();
      return;
    }
    const rendered = renderProblem(ext);
    res.writeHead(rendered.status, rendered.headers);
    res.end(request.raw.method === 'HEAD' ? undefined : rendered.body);
  }

  /**
   * HTTP/1.1 parse failures before a request exists: oversized heads get 431, timeouts 408,
   * anything else 400, each as a problem document, then the connection closes.
   */
  private onClientError(error: Error & { code?: string }, socket: Socket): void {
    // A response already under way on this socket (Node's own check) cannot be replaced.
    const current = (socket as Socket & { _httpMessage?: http.ServerResponse })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || current?.headersSent === true) {
      socket.destroy();
      return;
    }
    const ext =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? errorProblem(errors.TRIB_HTTP_HEADERS_TOO_LARGE, { limit: this.maxHeaderSize })
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? errorProblem(errors.TRIB_HTTP_REQUEST_TIMEOUT)
          : errorProblem(errors.TRIB_HTTP_BAD_REQUEST, { reason: 'the request could not be parsed' });
    const rendered = renderProblem(ext, { connection: 'close' });
    const head = [`HTTP/1.1 ${rendered.status} ${http.STATUS_CODES[rendered.status] ?? ''}`];
    for (const [name, value] of Object.entries(rendered.headers)) {
      for (const item of Array.isArray(value) ? value : [value]) head.push(`${name}: ${String(item)}`);
    }
    socket.end(Buffer.concat([Buffer.from(head.join('\r\n') + '\r\n\r\n'), rendered.body]));
  }

  /**
   * Stops accepting connections, refuses new requests on open ones (503, connection closed),
   * lets requests in flight finish until `signal` aborts, then cuts what is left.
   */
  async stop(signal: AbortSignal): Promise<void> {
    this.stopping = true;
    const closed = Promise.all(this.listeners.map((listener) => listener.close()));
    const stopping = errors.TRIB_HTTP_STOPPING();
    for (const exchange of [...this.exchanges])
      exchange.endIfResumable({ code: stopping.code, message: stopping.message });
    for (const session of this.sessions) session.close();
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
    const aborted = this.exchanges.size;
    const error = errors.TRIB_HTTP_STOPPING();
    for (const exchange of [...this.exchanges]) exchange.abort({ code: error.code, message: error.message });
    await this.closeAll();
    await closed;
    this.ctx.events.emit(serverStopped(aborted));
  }

  private async closeAll(): Promise<void> {
    for (const listener of this.listeners) {
      void listener.close();
      listener.destroyConnections();
    }
    for (const session of this.sessions) session.destroy();
    await Promise.all(this.listeners.map((listener) => listener.close()));
    this.h2?.close();
    await this.app?.close();
  }
}
