/**
 * The `sse` server: accepts `http` streams from an `http` server binding, checks that they are
 * event-stream requests, picks a route by path and hands each to an {@link SseSession}.
 */
import type {
  BindingContext,
  BindingHandler,
  Extension,
  RouteResolution,
  Stream,
  StreamHandler,
} from '@tributary/kernel';
import { header, isHttpBegin, problem, type HttpBeginEx, type HttpProblemEx } from '@tributary/binding-http';
import { DEFAULTS, matcher, type SseOptions, type SseWhen } from '../config/schema.ts';
import { errors } from '../errors.ts';
import { SseSession } from './session.ts';

export type Ctx = BindingContext<SseOptions, SseWhen>;

/** Options with their defaults applied. */
export interface Settings {
  readonly heartbeatMs: number;
  readonly maxLagBytes: number;
  readonly window: number;
  readonly lastEventIdQuery: string | false;
  readonly retryMs: number | undefined;
}

/** What a session needs from its server. */
export interface SessionHost {
  readonly ctx: Ctx;
  readonly settings: Settings;
  closed(session: SseSession): void;
}

type ErrorFactory = (typeof errors)[keyof typeof errors];

/** A problem document for one of this binding's codes. */
export function problemOf(
  factory: ErrorFactory,
  params: Readonly<Record<string, unknown>> = {},
  headers: Readonly<Record<string, string>> = {},
): HttpProblemEx {
  return problem(factory.spec.status ?? 500, factory.code, factory(params).message, headers);
}

/**
 * True when an `Accept` header value lists `text/event-stream` with a non-zero weight
 * (RFC 9110 §12.5.1). Wildcards do not count: an `EventSource` always names the type, and a
 * client that merely accepts anything did not ask for a stream that never ends.
 */
export function acceptsEventStream(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  for (const range of accept.split(',')) {
    const [type, ...params] = range.split(';').map((part) => part.trim());
    if (type?.toLowerCase() !== 'text/event-stream') continue;
    const q = params.find((p) => /^q=/i.test(p));
    if (q === undefined || Number(q.slice(2)) > 0) return true;
  }
  return false;
}

export class SseServer implements BindingHandler, SessionHost {
  readonly ctx: Ctx;
  readonly settings: Settings;
  private readonly sessions = new Set<SseSession>();
  private heartbeat: NodeJS.Timeout | undefined;
  private stopping = false;

  constructor(ctx: Ctx) {
    this.ctx = ctx;
    const o = ctx.config.options ?? {};
    this.settings = {
      heartbeatMs: o.heartbeatMs ?? DEFAULTS.heartbeatMs,
      maxLagBytes: o.maxLagBytes ?? DEFAULTS.maxLagBytes,
      window: o.window ?? DEFAULTS.window,
      lastEventIdQuery: o.lastEventIdQuery ?? DEFAULTS.lastEventIdQuery,
      retryMs: o.retryMs,
    };
  }

  start(): Promise<void> {
    if (this.settings.heartbeatMs > 0) {
      // One timer for every stream: a heartbeat costs a loop, not a timer per client.
      this.heartbeat = setInterval(() => {
        for (const session of this.sessions) session.heartbeat();
      }, this.settings.heartbeatMs);
      this.heartbeat.unref();
    }
    return Promise.resolve();
  }

  /**
   * Event streams never finish by themselves: on stop each is ended at once (the client
   * reconnects, to another instance or to this one restarted, and resumes from its last id).
   */
  stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.heartbeat);
    for (const session of [...this.sessions]) session.stop();
    return Promise.resolve();
  }

  closed(session: SseSession): void {
    this.sessions.delete(session);
  }

  accept(net: Stream, begin: Extension | undefined): StreamHandler {
    if (this.stopping) return this.refuse(net, problemOf(errors.TRIB_SSE_STOPPING));
    if (!isHttpBegin(begin)) {
      const reason = begin === undefined ? 'no begin extension' : `a "${begin.type}" begin`;
      return this.refuse(net, problemOf(errors.TRIB_SSE_NOT_A_REQUEST, { reason }));
    }
    const method = header(begin, ':method') ?? 'GET';
    if (method !== 'GET')
      return this.refuse(net, problemOf(errors.TRIB_SSE_METHOD_NOT_ALLOWED, { method }, { allow: 'GET' }));
    const accept = header(begin, 'accept');
    if (!acceptsEventStream(accept))
      return this.refuse(net, problemOf(errors.TRIB_SSE_NOT_ACCEPTABLE, { accept: accept ?? 'none' }));
    const target = header(begin, ':path') ?? '/';
    const q = target.indexOf('?');
    const path = q < 0 ? target : target.slice(0, q);
    const query = q < 0 ? '' : target.slice(q + 1);
    const resolution = this.ctx.resolveRoute(matcher(path), net.authorization);
    if (!resolution.ok) return this.refuse(net, this.refusal(path, resolution));
    const { route } = resolution;
    const guarded = Object.keys(this.ctx.config.routes[route.index]?.guarded ?? {});
    const session = new SseSession(this, net, {
      exit: route.exit,
      path,
      query,
      params: route.params,
      lastEventId: this.lastEventId(begin, query),
      guards: guarded,
    });
    this.sessions.add(session);
    session.start();
    return session;
  }

  /** `Last-Event-ID` (WHATWG HTML §9.2.4), else the configured query parameter. */
  private lastEventId(begin: HttpBeginEx, query: string): string | undefined {
    const fromHeader = header(begin, 'last-event-id');
    if (fromHeader !== undefined && fromHeader !== '') return fromHeader;
    if (this.settings.lastEventIdQuery === false || query === '') return undefined;
    const fromQuery = new URLSearchParams(query).get(this.settings.lastEventIdQuery);
    return fromQuery === null || fromQuery === '' ? undefined : fromQuery;
  }

  private refusal(path: string, resolution: Extract<RouteResolution, { ok: false }>): HttpProblemEx {
    switch (resolution.reason) {
      case 'unauthorized':
        return problemOf(errors.TRIB_SSE_UNAUTHORIZED, { path }, { 'www-authenticate': 'Bearer' });
      case 'forbidden':
        return problemOf(errors.TRIB_SSE_FORBIDDEN, { path });
      case 'no-match':
        return problemOf(errors.TRIB_SSE_NO_ROUTE, { path });
    }
  }

  /** Answers with a problem document (the http server renders it) and takes nothing more. */
  private refuse(net: Stream, ext: HttpProblemEx): StreamHandler {
    const reason = { code: ext.code, ...(ext.detail === undefined ? {} : { message: ext.detail }), ext };
    net.out.abort(reason);
    net.in.reset(reason);
    return {};
  }
}
